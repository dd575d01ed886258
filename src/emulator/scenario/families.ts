/**
 * The grammar of the back-end families: `FAMILY BUS:DEV VERB ...` for disk, net,
 * keyboard, mouse, input and fault. The verb and its arguments go to the device's
 * back-end unchanged (positionals converted, options checked, DATA decoded).
 */

import type { Command } from './ast';
import { FAULT_KINDS, KEY_NAMES, MOUSE_BUTTONS } from './catalogue';
import { keycodeByName } from '../drivers/keycodes';
import { MAX_DISK_READ_SECTORS, MAX_WHEEL_STEPS } from '../limits';
import type { Token } from './lexer';
import { type CommandSpec, Ctx, type OptKind } from './linecontext';
import { fail, failAt, type LineError, orList, q } from './lineerror';
import { DATA_FORMS, isNumberText, numberOf, parseData, parseDevice, parseNumberAt, parseSigned, U16 } from './numbers';
import { didYouMean, suggest } from './suggest';

export type Family = 'disk' | 'net' | 'keyboard' | 'mouse' | 'fault' | 'input';

interface VerbSpec extends CommandSpec {
  /** Validate positionals; return them converted. */
  args: (c: Ctx) => { positional: (string | number)[]; data?: Uint8Array };
}

function noPositionals(c: Ctx): { positional: (string | number)[] } {
  c.positionals(0, 0, []);
  return { positional: [] };
}

function dataArg(c: Ctx): { positional: (string | number)[]; data: Uint8Array } {
  c.positionals(1, 1, [`data (${DATA_FORMS})`]);
  const t = c.pos[0];
  const data = parseData(t, DATA_FORMS);
  return { positional: [t.kind === 'string' ? t.value : t.text], data };
}

function keyArg(c: Ctx): { positional: (string | number)[] } {
  c.positionals(1, 1, ['key (a name like enter, a, f1 or a key code)']);
  const t = c.pos[0];
  if (t.kind === 'word' && isNumberText(t.text)) return { positional: [parseNumberAt(t.text, t.start, t.end, U16, 'key code')] };
  const name = t.value;
  if (name === '') failAt(t, 'empty key name');
  if (keycodeByName(name) === undefined) {
    c.warn(t, `unknown key name ${q(name)}${didYouMean(name, [...KEY_NAMES])}`);
  }
  return { positional: [name] };
}

function buttonArg(c: Ctx): { positional: (string | number)[] } {
  c.positionals(0, 1, []);
  if (c.pos.length === 0) return { positional: [] };
  return { positional: [c.choice(c.pos[0], MOUSE_BUTTONS, 'mouse button')] };
}

const LUN: Record<string, OptKind> = { lun: 'u32' };
const RAW: Record<string, OptKind> = { action: 'u16', arg1: 'u16', arg2: 'u16', arg3: 'u16' };

export const FAMILIES: Readonly<Record<Family, Readonly<Record<string, VerbSpec>>>> = {
  disk: {
    attach: {
      options: { ...LUN, id: 'u32', image: 'string', size: 'size', readonly: 'u32', vendor: 'string', model: 'string' },
      required: ['lun', 'image'],
      args: noPositionals,
    },
    detach: { options: { ...LUN, id: 'u32' }, required: ['lun'], args: noPositionals },
    rescan: { options: {}, args: noPositionals },
    read: {
      options: { ...LUN, lba: 'num', count: 'u32' },
      required: ['lun', 'lba', 'count'],
      args: (c) => {
        const count = c.opts.find((t) => t.key === 'count');
        if (count && Number(numberOf(count.value)) > MAX_DISK_READ_SECTORS)
          failAt(count, `count=${q(count.value)} is too many sectors for one read (at most ${MAX_DISK_READ_SECTORS}, 16 MiB); read in parts`);
        return noPositionals(c);
      },
    },
    write: { options: { ...LUN, lba: 'num' }, required: ['lun', 'lba'], args: dataArg },
    flush: { options: LUN, required: ['lun'], args: noPositionals },
  },
  net: {
    send: { options: {}, args: dataArg },
    xmit: { options: {}, args: dataArg },
    link: {
      options: {},
      args: (c) => {
        c.positionals(1, 1, ['up or down']);
        return { positional: [c.choice(c.pos[0], ['up', 'down'], 'link state')] };
      },
    },
    open: { options: {}, args: noPositionals },
    close: { options: {}, args: noPositionals },
  },
  keyboard: {
    type: {
      options: {},
      args: (c) => {
        c.positionals(1, 1, ['text']);
        const t = c.pos[0];
        return { positional: [t.value] };
      },
    },
    press: { options: {}, args: keyArg },
    release: { options: {}, args: keyArg },
    tap: { options: {}, args: keyArg },
    lock: {
      options: {},
      args: (c) => {
        c.positionals(2, 2, ['caps, num or scroll', 'on or off']);
        return { positional: [c.choice(c.pos[0], ['caps', 'num', 'scroll'], 'locking key'), c.choice(c.pos[1], ['on', 'off'], 'lock state')] };
      },
    },
    raw: { options: RAW, required: ['action'], args: noPositionals },
  },
  mouse: {
    move: {
      options: {},
      args: (c) => {
        c.positionals(2, 2, ['X', 'Y']);
        return { positional: [parseSigned(c.pos[0], 'X'), parseSigned(c.pos[1], 'Y')] };
      },
    },
    click: { options: {}, args: buttonArg },
    dclick: { options: {}, args: buttonArg },
    down: { options: {}, args: buttonArg },
    up: { options: {}, args: buttonArg },
    wheel: {
      options: {},
      args: (c) => {
        c.positionals(1, 1, ['wheel notches N']);
        const n = parseSigned(c.pos[0], 'wheel amount');
        if (Math.abs(n) > MAX_WHEEL_STEPS)
          failAt(c.pos[0], `wheel amount ${q(c.pos[0].text)} is too large for one line (at most ${MAX_WHEEL_STEPS} notches either way)`);
        return { positional: [n] };
      },
    },
    resolution: {
      options: {},
      args: (c) => {
        c.positionals(2, 2, ['width', 'height']);
        return { positional: [parseSigned(c.pos[0], 'width'), parseSigned(c.pos[1], 'height')] };
      },
    },
    raw: { options: RAW, required: ['action'], args: noPositionals },
  },
  input: {
    open: { options: { name: 'string' }, args: noPositionals },
    close: { options: { name: 'string' }, args: noPositionals },
  },
  fault: Object.fromEntries(FAULT_KINDS.map((k) => [k, { args: noPositionals } as VerbSpec])),
};

export function parseFamily(family: Family, line: string, toks: readonly Token[], buses: Set<number>, warnings: LineError[]): Command {
  const head = toks[0];
  const verbs = FAMILIES[family];
  const verbNames = Object.keys(verbs);
  const famSyntax = `${family} BUS:DEV ${verbNames.join('|')} ...`;
  if (toks.length < 2) fail(head.start, head.end, `missing device for '${family}' (syntax: ${famSyntax})`);
  const devTok = toks[1];
  if (devTok.kind === 'word' && verbNames.includes(devTok.text) && toks.length > 2) {
    failAt(devTok, `the device comes before the ${family === 'fault' ? 'fault kind' : 'verb'}: write '${family} BUS:DEV ${devTok.text} ...'`);
  }
  const device = parseDevice(devTok);
  const what = family === 'fault' ? 'fault kind' : 'verb';
  if (toks.length < 3) fail(head.start, devTok.end, `missing ${what} for '${family}' (use ${orList(verbNames)})`);
  const verbTok = toks[2];
  if (verbTok.kind !== 'word' || !Object.prototype.hasOwnProperty.call(verbs, verbTok.text)) {
    const s = suggest(verbTok.text, verbNames);
    const hint = s === undefined ? '' : `did you mean '${s}'? `;
    failAt(verbTok, `unknown ${what} ${q(verbTok.text)} for '${family}' (${hint}expected one of: ${verbNames.join(', ')})`);
  }
  const verb = verbTok.text;
  const spec = verbs[verb];
  const name = family === 'fault' ? 'fault' : `${family} ${verb}`;
  const c = new Ctx(line, toks, name, head.start, verbTok.end, toks.slice(3), buses, warnings);
  const { positional, data } = spec.args(c);
  const options = c.options(spec);
  const cmd: Command = { kind: 'backend', family, device, verb, positional, options };
  // DATA arguments (disk write, net send/xmit) also come decoded as bytes: `data` (see ast.ts).
  return data === undefined ? cmd : Object.assign(cmd, { data });
}
