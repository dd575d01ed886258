/**
 * The grammar of the single-word commands: autoload, wait, expect, echo, parahotplug
 * and log.
 */

import type { Command, DeviceRef, ExpectOp, ExpectSubject } from './ast';
import { MAX_HZ, MAX_WAIT_SECONDS } from '../limits';
import type { Token } from './lexer';
import { type Ctx, type Handler, restText } from './linecontext';
import { fail, failAt, q } from './lineerror';
import { DEVREF_RE, parseDevice, parseDeviceText, parseNumberAt, SAFE, SIGNED_RE } from './numbers';
import { suggest } from './suggest';

const OPS: readonly ExpectOp[] = ['==', '!=', '<', '<=', '>', '>=', 'contains'];
const OP_LIST = '==, !=, <, <=, >, >= or contains';

/** `==`, `<=` ... lex as options (they contain '='), so look at the raw text of any unquoted token. */
function isOp(t: Token): boolean {
  return t.kind !== 'string' && (OPS as readonly string[]).includes(t.text);
}

function parseSubjectText(tok: Token): ExpectSubject {
  const text = tok.kind === 'string' ? tok.value : tok.text;
  if (text.startsWith('/sys/')) return { kind: 'sysfs', path: text };
  if (text.startsWith('/')) failAt(tok, `sysfs path must start with /sys/, got ${q(text)}`);
  const dot = text.indexOf('.');
  const head = dot < 0 ? text : text.slice(0, dot);
  if (head === 'controlvm' || DEVREF_RE.test(head)) {
    const field = dot < 0 ? '' : text.slice(dot + 1);
    if (field === '') failAt(tok, `missing field after ${q(head)} (e.g. ${head}.header.size)`);
    const device: DeviceRef | 'controlvm' = head === 'controlvm' ? 'controlvm' : parseDeviceText(head, tok.start, tok.start + head.length);
    return { kind: 'field', device, field };
  }
  failAt(tok, `unknown expect subject ${q(text)} (use a /sys/ path, BUS:DEV.FIELD, controlvm.FIELD or counter NAME)`);
}

function parseExpect(c: Ctx): Command {
  const toks = c.tokens;
  const line = c.line;
  if (toks.length < 2) c.missing('subject');
  let subject: ExpectSubject;
  let opIndex: number;
  const first = toks[1];
  if (first.kind === 'word' && first.text === 'counter') {
    opIndex = -1;
    for (let i = 2; i < toks.length; i++) {
      if (isOp(toks[i])) {
        opIndex = i;
        break;
      }
    }
    if (opIndex === 2 || (opIndex < 0 && toks.length === 2)) failAt(first, `missing counter name after 'counter' (e.g. counter "disk 2:0 lun=0 reads")`);
    if (opIndex < 0) {
      const last = toks[toks.length - 1];
      fail(toks[2].start, last.end, `missing comparison after the counter name (use ${OP_LIST})`);
    }
    subject = { kind: 'counter', name: restText(line, toks.slice(2, opIndex)) };
  } else {
    if (first.kind === 'option') {
      // `expect /sys/x==5`: the lexer saw key=value.
      failAt(first, `missing spaces around the comparison in ${q(first.text)} (write e.g. 'expect ${first.key ?? ''} == ...')`);
    }
    subject = parseSubjectText(first);
    opIndex = 2;
    const opTok = toks[2];
    if (opTok === undefined) {
      const glued = /(==|!=|<=|>=|<|>)/.test(first.text);
      fail(
        first.start,
        first.end,
        glued ? `missing spaces around the comparison in ${q(first.text)}` : `missing comparison after ${q(first.text)} (use ${OP_LIST})`,
      );
    }
    if (!isOp(opTok)) {
      const s = suggest(opTok.text, OPS);
      const hint = s === undefined ? '' : `did you mean '${s}'? `;
      failAt(opTok, `unknown comparison ${q(opTok.text)} (${hint}use ${OP_LIST})`);
    }
  }
  const opTok = toks[opIndex];
  const op = opTok.text as ExpectOp;
  const valueToks = toks.slice(opIndex + 1);
  if (valueToks.length === 0) failAt(opTok, `missing value after '${op}'`);
  const value = restText(line, valueToks);
  if (value === '' && op !== '==' && op !== '!=') {
    failAt(valueToks[0], `an empty value only works with == or != (not with '${op}')`);
  }
  if (op === '<' || op === '<=' || op === '>' || op === '>=') {
    if (!SIGNED_RE.test(value)) {
      fail(valueToks[0].start, valueToks[valueToks.length - 1].end, `'${op}' compares numbers, but ${q(value)} is not a number`);
    }
  }
  return { kind: 'expect', subject, op, value };
}

function parseEcho(c: Ctx): Command {
  const toks = c.tokens;
  const line = c.line;
  let gt = -1;
  for (let i = toks.length - 1; i >= 1; i--) {
    if (toks[i].kind === 'word' && toks[i].text.startsWith('>')) {
      gt = i;
      break;
    }
  }
  if (gt < 0) c.missing(`'> PATH'`);
  const g = toks[gt];
  let path: string;
  let pathTok: Token;
  if (g.text.startsWith('>>')) failAt(g, `'>>' (append) is not supported; use '>'`);
  if (g.text === '>') {
    if (gt + 1 >= toks.length) failAt(g, `missing sysfs path after '>'`);
    if (gt + 2 < toks.length) {
      const t = toks[gt + 2];
      failAt(t, `unexpected argument ${q(t.text)} after the path (syntax: ${c.syntax})`);
    }
    pathTok = toks[gt + 1];
    path = pathTok.kind === 'string' ? pathTok.value : pathTok.text;
  } else {
    if (gt + 1 < toks.length) {
      const t = toks[gt + 1];
      failAt(t, `unexpected argument ${q(t.text)} after the path (syntax: ${c.syntax})`);
    }
    pathTok = g;
    path = g.text.slice(1);
  }
  if (!path.startsWith('/sys/')) failAt(pathTok, `sysfs path must start with /sys/, got ${q(path)}`);
  const valueToks = toks.slice(1, gt);
  if (valueToks.length === 0) c.missing('value');
  return { kind: 'sysfsWrite', path, value: restText(line, valueToks) };
}

export const SINGLE: Readonly<Record<string, Handler>> = {
  autoload: (c) => {
    c.positionals(1, 1, ['on or off']);
    c.noOptions();
    return { kind: 'autoload', on: c.choice(c.pos[0], ['on', 'off'], 'autoload setting') === 'on' };
  },
  wait: (c) => {
    c.positionals(1, 1, ['duration (e.g. 10ms)']);
    c.noOptions();
    const t = c.pos[0];
    const units = 'use ms, s, us or j for jiffies';
    const m = t.kind === 'word' ? /^(0[xX][0-9a-fA-F]+|-?[0-9][0-9.]*|-[0-9.]*)([a-zA-Z]*)$/.exec(t.text) : null;
    if (!m) failAt(t, `bad duration ${q(t.text)} (e.g. 10ms, 2s, 250us or 5j)`);
    const [, n, unit] = m;
    if (unit === '') failAt(t, `missing unit in ${q(t.text)} (${units})`);
    if (!['ms', 's', 'us', 'j'].includes(unit)) {
      fail(t.start + n.length, t.end, `unknown unit ${q(unit)} in ${q(t.text)} (${units})`);
    }
    if (n.startsWith('-')) failAt(t, `a wait cannot be negative: ${q(t.text)}`);
    if (n.includes('.')) failAt(t, `${q(t.text)} is not a whole number of ${unit} (use a smaller unit, e.g. ms or us)`);
    const amount = parseNumberAt(n, t.start, t.start + n.length, SAFE, 'duration');
    const tooLong = `wait ${q(t.text)} is too long: one wait is at most ${MAX_WAIT_SECONDS} s of virtual time (split it, or use a loop of shorter waits)`;
    if (unit === 'j') {
      if (amount > MAX_WAIT_SECONDS * MAX_HZ) failAt(t, tooLong);
      return { kind: 'wait', amount, unit: 'jiffies' };
    }
    const us = amount * (unit === 's' ? 1_000_000 : unit === 'ms' ? 1000 : 1);
    if (!Number.isSafeInteger(us) || us > MAX_WAIT_SECONDS * 1_000_000) failAt(t, tooLong);
    return { kind: 'wait', amount: us, unit: 'us' };
  },
  expect: parseExpect,
  echo: parseEcho,
  parahotplug: (c) => {
    c.positionals(2, 2, ['device BUS:DEV', 'enable or disable']);
    c.noOptions();
    const device = parseDevice(c.pos[0]);
    return { kind: 'parahotplug', device, enable: c.choice(c.pos[1], ['enable', 'disable'], 'parahotplug action') === 'enable' };
  },
  log: (c) => {
    const rest = c.tokens.slice(1);
    if (rest.length === 0) c.missing('message');
    return { kind: 'log', message: restText(c.line, rest) };
  },
};
