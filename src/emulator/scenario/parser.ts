/**
 * Parser for `.visor` scenarios: text -> `Scenario` (see ast.ts).
 *
 * One command per line; `#` starts a comment. Every problem becomes a Diagnostic with an
 * exact position; a line with an error produces no step. `parseScenario` never throws.
 */

import { printable } from '../protocol/printable';
import { MAX_DISK_READ_SECTORS, MAX_HZ, MAX_WAIT_SECONDS, MAX_WHEEL_STEPS } from '../limits';
import type { Command, DeviceRef, Diagnostic, ExpectOp, ExpectSubject, Scenario, ScenarioStep } from './ast';
import { GUID_ALIASES, resolveGuid } from '../protocol/guid';
import { lexLine, type Token } from './lexer';
import { BUILTIN_DRIVER_NAMES } from '../drivers/names';
import { KEY_NAMES, keycodeByName } from '../drivers/keycodes';

/** Lines longer than this many bytes (UTF-8) are rejected without being tokenised. */
export const MAX_LINE_BYTES = 65536;
/** After this many diagnostics, further ones are dropped (one note says so). */
export const MAX_DIAGNOSTICS = 1000;

export const BUILTIN_DRIVERS: readonly string[] = BUILTIN_DRIVER_NAMES;

export const FAULT_KINDS: readonly string[] = [
  'medium-error', 'lost-response', 'backend-error', 'timeout', 'drop-frame', 'queue-full',
];

export const MOUSE_BUTTONS: readonly string[] = ['left', 'right', 'middle'];

/** Segment states accepted by name in `device state` (protocol reference §3.6). */
export const SEGMENT_STATES: Readonly<Record<string, number>> = {
  running: 0x00f7,
  paused: 0x0077,
  standby: 0x0073,
};

/** One entry of the command reference (completion, hovers, README). */
export interface CommandInfo {
  /** e.g. 'device create' or, for back-end families, 'disk attach' */
  name: string;
  /** e.g. 'device create BUS:DEV type=GUID|alias [bytes=N] ...' */
  syntax: string;
  description: string;
  /** A VS Code snippet body. */
  snippet: string;
}

const DEV = '${1:2}:${2:0}';

export const COMMANDS: readonly CommandInfo[] = [
  {
    name: 'chipset init',
    syntax: 'chipset init [features=N]',
    description: 'Send CHIPSET_INIT to the guest (features defaults to 0); the guest answers with its own features.',
    snippet: 'chipset init',
  },
  { name: 'chipset ready', syntax: 'chipset ready', description: 'Send CHIPSET_READY.', snippet: 'chipset ready' },
  { name: 'chipset selftest', syntax: 'chipset selftest', description: 'Send CHIPSET_SELFTEST.', snippet: 'chipset selftest' },
  { name: 'chipset stop', syntax: 'chipset stop', description: 'Send CHIPSET_STOP.', snippet: 'chipset stop' },
  {
    name: 'driver load',
    syntax: 'driver load NAME|PATH',
    description: 'Load a function driver: a built-in (visorhba, visornic, visorinput) or your own module by path (./my-driver.js).',
    snippet: 'driver load ${1|visorhba,visornic,visorinput|}',
  },
  {
    name: 'driver unload',
    syntax: 'driver unload NAME',
    description: 'Unregister a function driver; its devices are removed from it.',
    snippet: 'driver unload ${1|visorhba,visornic,visorinput|}',
  },
  {
    name: 'autoload',
    syntax: 'autoload on|off',
    description: 'Load the matching built-in driver automatically when a device of its type appears.',
    snippet: 'autoload ${1|on,off|}',
  },
  {
    name: 'bus create',
    syntax: 'bus create BUS [name=S] [bytes=N] [addr=N] [handle=N] [guid=GUID] [devcount=N]',
    description: 'Send BUS_CREATE: the back-end builds a vbus channel and the guest creates visorbus<BUS>.',
    snippet: 'bus create ${1:2} name=${2:io}',
  },
  {
    name: 'bus configure',
    syntax: 'bus configure BUS [handle=N] [name=S] [guid=GUID]',
    description: 'Send BUS_CONFIGURE (guest handle, partition name and GUID).',
    snippet: 'bus configure ${1:2} handle=${2:0x1}',
  },
  { name: 'bus destroy', syntax: 'bus destroy BUS', description: 'Send BUS_DESTROY.', snippet: 'bus destroy ${1:2}' },
  {
    name: 'device create',
    syntax: 'device create BUS:DEV type=GUID|alias [bytes=N] [addr=N] [zone=GUID] [partition=N] [version=N] [chtype=GUID] [inst=GUID]',
    description: 'Send DEVICE_CREATE: the back-end builds the channel and the guest adds vbus<BUS>:dev<DEV>, probing a matching driver.',
    snippet: 'device create ' + DEV + ' type=${3|vhba,vnic,keyboard,mouse|}',
  },
  { name: 'device destroy', syntax: 'device destroy BUS:DEV', description: 'Send DEVICE_DESTROY.', snippet: 'device destroy ' + DEV },
  {
    name: 'device pause',
    syntax: 'device pause BUS:DEV',
    description: 'DEVICE_CHANGESTATE to standby: the driver\'s pause() runs.',
    snippet: 'device pause ' + DEV,
  },
  {
    name: 'device resume',
    syntax: 'device resume BUS:DEV',
    description: 'DEVICE_CHANGESTATE to running: the driver\'s resume() runs.',
    snippet: 'device resume ' + DEV,
  },
  { name: 'device configure', syntax: 'device configure BUS:DEV', description: 'Send DEVICE_CONFIGURE.', snippet: 'device configure ' + DEV },
  {
    name: 'device state',
    syntax: 'device state BUS:DEV running|standby|paused|N',
    description: 'Send a raw DEVICE_CHANGESTATE with this segment state (running=0xf7, paused=0x77, standby=0x73).',
    snippet: 'device state ' + DEV + ' ${3|running,standby,paused|}',
  },
  {
    name: 'partition recover',
    syntax: 'partition recover BUS',
    description: 'Service partition recovery: pause every device on the bus, then resume them.',
    snippet: 'partition recover ${1:2}',
  },
  {
    name: 'wait',
    syntax: 'wait N(ms|s|us|j)',
    description: 'Advance the virtual clock (channel_interrupt polls run); j = jiffies.',
    snippet: 'wait ${1:10}${2|ms,s,us,j|}',
  },
  {
    name: 'expect',
    syntax: 'expect /sys/PATH|BUS:DEV.FIELD|controlvm.FIELD|counter NAME ==|!=|<|<=|>|>=|contains VALUE',
    description: 'Check a sysfs attribute, a channel field or a counter; a failed expect fails `visorbus-emu test`.',
    snippet: 'expect ${1:/sys/bus/visorbus/devices/vbus2:dev0/driver} ${2|==,!=,<,<=,>,>=,contains|} ${3:visorhba}',
  },
  {
    name: 'echo',
    syntax: 'echo VALUE > /sys/PATH',
    description: 'Write a value to a sysfs attribute.',
    snippet: 'echo ${1:1} > ${2:/sys/devices/platform/visorchipset/install/textid}',
  },
  {
    name: 'parahotplug',
    syntax: 'parahotplug BUS:DEV enable|disable',
    description: 'DEVICE_CHANGESTATE with phys_device set: a parahotplug request to the guest.',
    snippet: 'parahotplug ' + DEV + ' ${3|enable,disable|}',
  },
  {
    name: 'controlvm send',
    syntax: 'controlvm send id=N [bus=N] [dev=N] [flags=N] [status=N] [handle=N] [state=N] [size=N] [payload=HEX] [payload_bytes=N]',
    description: 'Put a raw controlvm message in the guest\'s command queue.',
    snippet: 'controlvm send id=${1:0x105} bus=${2:2}',
  },
  {
    name: 'signal insert',
    syntax: 'signal insert BUS:DEV|controlvm queue=N "text"|hex:BYTES',
    description: 'The back-end inserts a signal into a queue of the channel.',
    snippet: 'signal insert ' + DEV + ' queue=${3:0} ${4:hex:00}',
  },
  {
    name: 'signal remove',
    syntax: 'signal remove BUS:DEV|controlvm queue=N',
    description: 'The back-end removes a signal from a queue of the channel.',
    snippet: 'signal remove ' + DEV + ' queue=${3:0}',
  },
  {
    name: 'memory write',
    syntax: 'memory write ADDR|BUS:DEV+OFFSET|controlvm+OFFSET hex:BYTES|"text"|u8 N|u16 N|u32 N|u64 N',
    description: 'Write bytes into guest memory (a channel offset or an absolute address), e.g. to corrupt a header.',
    snippet: 'memory write ' + DEV + '+${3:0x40} ${4|u32,u8,u16,u64|} ${5:0}',
  },
  {
    name: 'disk attach',
    syntax: 'disk BUS:DEV attach lun=N image=PATH [size=N] [id=N] [readonly=1] [vendor=S] [model=S]',
    description: 'Attach a disk image (created sparse when absent) as a LUN of a vhba device.',
    snippet: 'disk ' + DEV + ' attach lun=${3:0} image=${4:disk.img}',
  },
  {
    name: 'disk detach',
    syntax: 'disk BUS:DEV detach lun=N [id=N]',
    description: 'Detach a LUN; its image is flushed and closed.',
    snippet: 'disk ' + DEV + ' detach lun=${3:0}',
  },
  {
    name: 'disk rescan',
    syntax: 'disk BUS:DEV rescan',
    description: 'Make the guest rescan the SCSI host (finds LUNs attached later).',
    snippet: 'disk ' + DEV + ' rescan',
  },
  {
    name: 'disk read',
    syntax: 'disk BUS:DEV read lun=N lba=N count=N',
    description: 'Read blocks from a LUN through the guest driver.',
    snippet: 'disk ' + DEV + ' read lun=${3:0} lba=${4:0} count=${5:1}',
  },
  {
    name: 'disk write',
    syntax: 'disk BUS:DEV write lun=N lba=N "data"|hex:BYTES',
    description: 'Write data to a LUN through the guest driver.',
    snippet: 'disk ' + DEV + ' write lun=${3:0} lba=${4:0} ${5:hex:00}',
  },
  {
    name: 'disk flush',
    syntax: 'disk BUS:DEV flush lun=N',
    description: 'Flush a LUN.',
    snippet: 'disk ' + DEV + ' flush lun=${3:0}',
  },
  {
    name: 'net send',
    syntax: 'net BUS:DEV send "frame"|hex:BYTES',
    description: 'The back-end delivers a frame to the guest.',
    snippet: 'net ${1:2}:${2:1} send "${3:hello}"',
  },
  {
    name: 'net xmit',
    syntax: 'net BUS:DEV xmit "frame"|hex:BYTES',
    description: 'The guest transmits a frame through the driver.',
    snippet: 'net ${1:2}:${2:1} xmit "${3:hello}"',
  },
  {
    name: 'net link',
    syntax: 'net BUS:DEV link up|down',
    description: 'Change the link state the back-end reports.',
    snippet: 'net ${1:2}:${2:1} link ${3|up,down|}',
  },
  { name: 'net open', syntax: 'net BUS:DEV open', description: 'Open the network interface (ndo_open).', snippet: 'net ${1:2}:${2:1} open' },
  { name: 'net close', syntax: 'net BUS:DEV close', description: 'Close the network interface (ndo_stop).', snippet: 'net ${1:2}:${2:1} close' },
  {
    name: 'keyboard type',
    syntax: 'keyboard BUS:DEV type "text"',
    description: 'Type text: press and release a key for every character.',
    snippet: 'keyboard ${1:2}:${2:2} type "${3:hello}"',
  },
  {
    name: 'keyboard press',
    syntax: 'keyboard BUS:DEV press KEY',
    description: 'Press a key (a name like enter, a, f1, capslock, or a key code).',
    snippet: 'keyboard ${1:2}:${2:2} press ${3:enter}',
  },
  {
    name: 'keyboard release',
    syntax: 'keyboard BUS:DEV release KEY',
    description: 'Release a key.',
    snippet: 'keyboard ${1:2}:${2:2} release ${3:enter}',
  },
  {
    name: 'keyboard tap',
    syntax: 'keyboard BUS:DEV tap KEY',
    description: 'Press and release a key.',
    snippet: 'keyboard ${1:2}:${2:2} tap ${3:enter}',
  },
  {
    name: 'keyboard lock',
    syntax: 'keyboard BUS:DEV lock caps|num|scroll on|off',
    description: 'Set a locking key state (SET_LOCKING_KEY_STATE); the guest toggles its LED when it differs.',
    snippet: 'keyboard ${1:1}:${2:1} lock ${3|caps,num,scroll|} ${4|on,off|}',
  },
  {
    name: 'keyboard raw',
    syntax: 'keyboard BUS:DEV raw action=N [arg1=N] [arg2=N] [arg3=N]',
    description: 'Send one raw input report (any action code).',
    snippet: 'keyboard ${1:1}:${2:1} raw action=${3:64} arg1=${4:30}',
  },
  {
    name: 'mouse move',
    syntax: 'mouse BUS:DEV move X Y',
    description: 'Move the pointer to X, Y.',
    snippet: 'mouse ${1:2}:${2:3} move ${3:100} ${4:100}',
  },
  {
    name: 'mouse click',
    syntax: 'mouse BUS:DEV click [left|right|middle]',
    description: 'Click a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} click ${3|left,right,middle|}',
  },
  {
    name: 'mouse dclick',
    syntax: 'mouse BUS:DEV dclick [left|right|middle]',
    description: 'Double-click a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} dclick ${3|left,right,middle|}',
  },
  {
    name: 'mouse down',
    syntax: 'mouse BUS:DEV down [left|right|middle]',
    description: 'Press a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} down ${3|left,right,middle|}',
  },
  {
    name: 'mouse up',
    syntax: 'mouse BUS:DEV up [left|right|middle]',
    description: 'Release a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} up ${3|left,right,middle|}',
  },
  {
    name: 'mouse wheel',
    syntax: 'mouse BUS:DEV wheel N',
    description: 'Turn the wheel N notches (negative: towards the user).',
    snippet: 'mouse ${1:2}:${2:3} wheel ${3:1}',
  },
  {
    name: 'mouse resolution',
    syntax: 'mouse BUS:DEV resolution W H',
    description: 'Write x_res / y_res into the mouse channel (the guest reads them when it probes).',
    snippet: 'mouse ${1:1}:${2:2} resolution ${3:1024} ${4:768}',
  },
  {
    name: 'mouse raw',
    syntax: 'mouse BUS:DEV raw action=N [arg1=N] [arg2=N] [arg3=N]',
    description: 'Send one raw input report (any action code).',
    snippet: 'mouse ${1:1}:${2:2} raw action=${3:1} arg1=${4:0} arg2=${5:0}',
  },
  {
    name: 'input open',
    syntax: 'input BUS:DEV open [name=S]',
    description: 'A user-space reader opens the input device.',
    snippet: 'input ${1:2}:${2:2} open',
  },
  {
    name: 'input close',
    syntax: 'input BUS:DEV close [name=S]',
    description: 'The user-space reader closes the input device.',
    snippet: 'input ${1:2}:${2:2} close',
  },
  {
    name: 'fault',
    syntax: 'fault BUS:DEV medium-error|lost-response|backend-error|timeout|drop-frame|queue-full [KEY=VALUE ...]',
    description: 'Make the back-end of a device misbehave once (or as the options say).',
    snippet: 'fault ' + DEV + ' ${3|medium-error,lost-response,backend-error,timeout,drop-frame,queue-full|}',
  },
  { name: 'log', syntax: 'log "message"', description: 'Print a message to the trace.', snippet: 'log "${1:message}"' },
];

const SYNTAX: ReadonlyMap<string, string> = new Map(COMMANDS.map((c) => [c.name, c.syntax]));

/** `file:line:column: error: message` */
export function formatDiagnostic(d: Diagnostic): string {
  return `${printable(d.file)}:${d.line}:${d.column}: ${d.severity}: ${printable(d.message)}`;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** A problem on the current line; columns are 0-based offsets, end exclusive. */
class LineError {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly message: string,
  ) {}
}

function fail(start: number, end: number, message: string): never {
  throw new LineError(start, end, message);
}

function failAt(tok: Token, message: string): never {
  throw new LineError(tok.start, tok.end, message);
}

/** The value part of an option token (or the whole token). */
function valueRange(tok: Token): [number, number] {
  return tok.kind === 'option' ? [tok.valueStart ?? tok.start, tok.end] : [tok.start, tok.end];
}

/** Damerau-Levenshtein distance (optimal string alignment); 99 when the lengths differ a lot. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev2 = new Int32Array(b.length + 1);
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        v = Math.min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
    }
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[b.length];
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const lower = word.toLowerCase();
  for (const c of candidates) if (c.toLowerCase() === lower) return c;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.min(2, Math.floor(lower.length / 3)));
  return bestD <= limit ? best : undefined;
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  return s === undefined ? '' : ` (did you mean '${s}'?)`;
}

/** Quote user text in a message, shortening very long text. */
function q(text: string): string {
  const t = printable(text);
  return t.length > 60 ? `'${t.slice(0, 57)}...'` : `'${t}'`;
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(', ') + ' or ' + items[items.length - 1];
}

const DEC_RE = /^[0-9]+$/;
const HEX_RE = /^0[xX][0-9a-fA-F]+$/;

/** Parses decimal or 0x hex; undefined when the text is not a number. May be imprecise above 2^53. */
function numberOf(text: string): number | undefined {
  if (DEC_RE.test(text)) return Number(text);
  if (HEX_RE.test(text)) return parseInt(text.slice(2), 16);
  return undefined;
}

function isNumberText(text: string): boolean {
  return DEC_RE.test(text) || HEX_RE.test(text);
}

const U16 = 0xffff;
const U32 = 0xffffffff;
const SAFE = Number.MAX_SAFE_INTEGER;

function maxText(max: number): string {
  return max === SAFE ? '2^53-1' : `0x${max.toString(16)}`;
}

/** A number token (or the value of an option token) within 0..max. */
function parseNumberAt(text: string, start: number, end: number, max: number, what = 'number'): number {
  const v = numberOf(text);
  if (v === undefined) {
    if (text === '') fail(start, Math.max(end, start + 1), `missing ${what}`);
    fail(start, end, `bad number ${q(text)}`);
  }
  if (v > max) fail(start, end, `${what} ${q(text)} is too large (at most ${maxText(max)})`);
  return v;
}

const SIZE_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+)([kKM]?)$/;

function parseSizeAt(text: string, start: number, end: number): number {
  const m = SIZE_RE.exec(text);
  if (!m) {
    if (text === '') fail(start, Math.max(end, start + 1), 'missing size');
    const badSuffix = /^(0[xX][0-9a-fA-F]+|[0-9]+)[a-zA-Z]$/.test(text) && !/^0[xX]?$/.test(text.slice(0, -1));
    fail(start, end, `bad number ${q(text)}${badSuffix ? ' (a size is a number, optionally followed by k or M, e.g. 64k)' : ''}`);
  }
  const base = numberOf(m[1])!;
  const mult = m[2] === 'k' || m[2] === 'K' ? 1024 : m[2] === 'M' ? 1048576 : 1;
  const v = base * mult;
  if (!Number.isSafeInteger(v)) fail(start, end, `size ${q(text)} is too large`);
  return v;
}

const SIGNED_RE = /^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/;

function parseSigned(tok: Token, what: string): number {
  if (tok.kind !== 'word' || !SIGNED_RE.test(tok.text)) failAt(tok, `bad ${what} ${q(tok.text)} (expected a whole number, e.g. 10 or -3)`);
  const neg = tok.text.startsWith('-');
  const v = numberOf(neg ? tok.text.slice(1) : tok.text)!;
  if (v > 0x7fffffff) failAt(tok, `${what} ${q(tok.text)} is too large`);
  return neg ? -v : v;
}

const ALIAS_LIST = Object.keys(GUID_ALIASES).join(', ');

function parseGuidAt(text: string, start: number, end: number): string {
  const g = resolveGuid(text);
  if (g !== undefined) return g;
  if (text === '') fail(start, Math.max(end, start + 1), `missing GUID (use ${ALIAS_LIST} or a GUID in 8-4-4-4-12 form)`);
  if (/^[0-9a-fA-F-]{8,}$/.test(text) && /[0-9]/.test(text)) {
    fail(start, end, `malformed GUID ${q(text)} (expected 8-4-4-4-12 hex digits, e.g. 414815ed-c58c-11da-95a9-00e08161165f)`);
  }
  fail(start, end, `unknown GUID alias ${q(text)} (use ${ALIAS_LIST} or a GUID in 8-4-4-4-12 form)`);
}

const DEVREF_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+):(0[xX][0-9a-fA-F]+|[0-9]+)$/;

function parseDeviceText(text: string, start: number, end: number): DeviceRef {
  const m = DEVREF_RE.exec(text);
  if (!m) fail(start, end, `malformed device name ${q(text)} (expected BUS:DEV, e.g. 2:0)`);
  const bus = numberOf(m[1])!;
  const dev = numberOf(m[2])!;
  if (bus > U32) fail(start, start + m[1].length, `bus number ${q(m[1])} is too large (at most ${maxText(U32)})`);
  if (dev > U32) fail(start + m[1].length + 1, end, `device number ${q(m[2])} is too large (at most ${maxText(U32)})`);
  return { bus, dev };
}

function parseDevice(tok: Token): DeviceRef {
  if (tok.kind !== 'word') failAt(tok, `malformed device name ${q(tok.text)} (expected BUS:DEV, e.g. 2:0)`);
  if (tok.text === 'controlvm') failAt(tok, `'controlvm' is not allowed here (expected BUS:DEV, e.g. 2:0)`);
  return parseDeviceText(tok.text, tok.start, tok.end);
}

function parseTarget(tok: Token): DeviceRef | 'controlvm' {
  if (tok.kind === 'word' && tok.text === 'controlvm') return 'controlvm';
  if (tok.kind !== 'word') failAt(tok, `malformed device name ${q(tok.text)} (expected BUS:DEV, e.g. 2:0, or controlvm)`);
  return parseDeviceText(tok.text, tok.start, tok.end);
}

function devText(d: DeviceRef): string {
  return `${d.bus}:${d.dev}`;
}

/** Bytes from hex digits that start at `start`; `whole` (starting at `wholeStart`) is the token as written. */
function parseHexDigits(digits: string, start: number, end: number, whole: string, wholeStart: number): Uint8Array {
  if (digits.length === 0) fail(wholeStart, end, `missing hex digits after 'hex:' (e.g. hex:00ff)`);
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
    if (!ok) {
      const cp = digits.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      fail(start + i, start + i + len, `bad hex digit '${digits.slice(i, i + len)}' in ${q(whole)}`);
    }
  }
  if (digits.length % 2 !== 0) fail(wholeStart, end, `odd number of hex digits in ${q(whole)} (write two digits per byte)`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.substr(i * 2, 2), 16);
  return out;
}

function isHexData(tok: Token): boolean {
  return tok.kind === 'word' && tok.text.startsWith('hex:');
}

/** `"text"` or `hex:...` -> bytes. */
function parseData(tok: Token, forms: string): Uint8Array {
  if (tok.kind === 'string') return tok.bytes ?? new Uint8Array(0);
  if (isHexData(tok)) return parseHexDigits(tok.text.slice(4), tok.start + 4, tok.end, tok.text, tok.start);
  failAt(tok, `bad data ${q(tok.text)} (use ${forms})`);
}

const DATA_FORMS = 'a "quoted string" or hex:0011aa...';

// ---------------------------------------------------------------------------------------------
// Per-line context

type OptKind = 'u16' | 'u32' | 'num' | 'size' | 'guid' | 'string' | 'hex' | 'any';

interface CommandSpec {
  /** Allowed options and their kinds; undefined = any key allowed (values: number when numeric). */
  options?: Readonly<Record<string, OptKind>>;
  required?: readonly string[];
}

class Ctx {
  /** Tokens after the command words: positional (non-option) ones and options. */
  readonly pos: Token[] = [];
  readonly opts: Token[] = [];
  constructor(
    readonly line: string,
    readonly tokens: readonly Token[],
    /** e.g. 'device create' */
    readonly name: string,
    /** Range of the command words, for "missing ..." messages. */
    readonly nameStart: number,
    readonly nameEnd: number,
    rest: readonly Token[],
    readonly buses: Set<number>,
    readonly warnings: LineError[],
  ) {
    for (const t of rest) (t.kind === 'option' ? this.opts : this.pos).push(t);
  }

  get syntax(): string {
    return SYNTAX.get(this.name) ?? this.name;
  }

  missing(what: string): never {
    fail(this.nameStart, this.nameEnd, `missing ${what} for '${this.name}' (syntax: ${this.syntax})`);
  }

  /** Check the number of positional arguments. */
  positionals(min: number, max: number, labels: readonly string[]): void {
    if (this.pos.length < min) this.missing(labels[this.pos.length] ?? 'argument');
    if (this.pos.length > max) {
      const t = this.pos[max];
      failAt(t, `unexpected argument ${q(t.text)} for '${this.name}' (syntax: ${this.syntax})`);
    }
  }

  noOptions(): void {
    this.options({ options: {} });
  }

  /** Parse the options against a spec. */
  options(spec: CommandSpec): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const seen = new Set<string>();
    for (const t of this.opts) {
      const key = t.key ?? '';
      const keyEnd = t.keyEnd ?? t.end;
      if (key === '') fail(t.start, t.start + 1, `missing option name before '=' in ${q(t.text)}`);
      let kind: OptKind;
      if (spec.options === undefined) kind = 'any';
      else if (Object.prototype.hasOwnProperty.call(spec.options, key)) kind = spec.options[key];
      else {
        const keys = Object.keys(spec.options);
        const expected = keys.length === 0 ? `it takes no options; syntax: ${this.syntax}` : `expected one of: ${keys.join(', ')}`;
        fail(t.start, keyEnd, `unknown option ${q(key)} for '${this.name}' (${expected})`);
      }
      if (seen.has(key)) fail(t.start, keyEnd, `option '${key}' is given twice`);
      seen.add(key);
      const [vs, ve] = valueRange(t);
      const v = t.value;
      const what = `value of ${key}=`;
      switch (kind) {
        case 'u16':
          out[key] = parseNumberAt(v, vs, ve, U16, what);
          break;
        case 'u32':
          out[key] = parseNumberAt(v, vs, ve, U32, what);
          break;
        case 'num':
          out[key] = parseNumberAt(v, vs, ve, SAFE, what);
          break;
        case 'size':
          out[key] = parseSizeAt(v, vs, ve);
          break;
        case 'guid':
          out[key] = parseGuidAt(v, vs, ve);
          break;
        case 'hex': {
          const digits = v.startsWith('hex:') ? v.slice(4) : v;
          const off = v.startsWith('hex:') ? 4 : 0;
          if (digits === '') fail(vs, Math.max(ve, vs + 1), `missing hex bytes for ${key}= (e.g. ${key}=00ff)`);
          // validate (errors point into the value)
          parseHexDigits(digits, vs + off, ve, v, vs);
          out[key] = digits.toLowerCase();
          break;
        }
        case 'string':
          if (v === '' && !t.quoted) fail(vs - 1, ve, `missing value for ${key}= (write ${key}="" for an empty one)`);
          out[key] = v;
          break;
        case 'any':
          if (v === '' && !t.quoted) fail(vs - 1, ve, `missing value for ${key}=`);
          out[key] = !t.quoted && isNumberText(v) ? parseNumberAt(v, vs, ve, SAFE, what) : v;
          break;
      }
    }
    for (const r of spec.required ?? []) {
      if (!seen.has(r)) {
        fail(this.nameStart, this.nameEnd, `missing argument ${r}=... for '${this.name}' (syntax: ${this.syntax})`);
      }
    }
    return out;
  }

  /** A bus number positional. */
  bus(tok: Token): number {
    if (tok.kind !== 'word') failAt(tok, `bad number ${q(tok.text)}`);
    if (DEVREF_RE.test(tok.text)) failAt(tok, `expected a bus number, not a device name ${q(tok.text)} (e.g. ${tok.text.split(':')[0]})`);
    return parseNumberAt(tok.text, tok.start, tok.end, U32, 'bus number');
  }

  /** A word from a fixed set. */
  choice(tok: Token, choices: readonly string[], what: string): string {
    if (tok.kind === 'word' && choices.includes(tok.text)) return tok.text;
    const s = suggest(tok.text, choices);
    const hint = s === undefined ? '' : `did you mean '${s}'? `;
    failAt(tok, `unknown ${what} ${q(tok.text)} (${hint}use ${orList(choices)})`);
  }

  warn(tok: Token, message: string): void {
    this.warnings.push(new LineError(tok.start, tok.end, message));
  }
}

function num(o: Record<string, number | string>, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' ? v : undefined;
}

function str(o: Record<string, number | string>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** Remove keys whose value is undefined (keeps deepEqual-friendly objects). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Either the decoded value of a single quoted token, or the raw source between the tokens. */
function restText(line: string, toks: readonly Token[]): string {
  if (toks.length === 1 && toks[0].kind === 'string') return toks[0].value;
  return line.slice(toks[0].start, toks[toks.length - 1].end);
}

// ---------------------------------------------------------------------------------------------
// Commands with subcommands

type Handler = (c: Ctx) => Command;

const BUS_OPTS: Record<string, OptKind> = { name: 'string', bytes: 'size', addr: 'num', handle: 'num', guid: 'guid', devcount: 'u32' };
const BUS_CONF_OPTS: Record<string, OptKind> = { handle: 'num', name: 'string', guid: 'guid' };
const DEVICE_OPTS: Record<string, OptKind> = {
  type: 'guid', bytes: 'size', addr: 'num', zone: 'guid', partition: 'num', version: 'u32', chtype: 'guid', inst: 'guid',
};
const CONTROLVM_OPTS: Record<string, OptKind> = {
  id: 'u32', bus: 'u32', dev: 'u32', flags: 'u32', status: 'u32', handle: 'num', state: 'u16', size: 'u32', payload: 'hex', payload_bytes: 'u32',
};

function simpleDevice(kind: 'deviceDestroy' | 'devicePause' | 'deviceResume' | 'deviceConfigure'): Handler {
  return (c) => {
    c.positionals(1, 1, ['device BUS:DEV']);
    c.noOptions();
    return { kind, device: parseDevice(c.pos[0]) };
  };
}

function noArgs(cmd: Command): Handler {
  return (c) => {
    c.positionals(0, 0, []);
    c.noOptions();
    return cmd;
  };
}

const GROUPS: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  chipset: {
    init: (c) => {
      c.positionals(0, 0, []);
      const o = c.options({ options: { features: 'u32' } });
      return { kind: 'chipsetInit', features: num(o, 'features') ?? 0 };
    },
    ready: noArgs({ kind: 'chipsetReady' }),
    selftest: noArgs({ kind: 'chipsetSelftest' }),
    stop: noArgs({ kind: 'chipsetStop' }),
  },
  driver: {
    load: (c) => {
      c.positionals(1, 1, ['driver name or path']);
      c.noOptions();
      const t = c.pos[0];
      const name = t.value;
      if (name === '') failAt(t, 'empty driver name');
      const isPath = /[/\\]/.test(name) || /\.(js|ts|mjs|cjs)$/.test(name);
      if (!isPath && !BUILTIN_DRIVERS.includes(name)) {
        failAt(t, `unknown driver ${q(name)} (built-in drivers: ${BUILTIN_DRIVERS.join(', ')}; give a path like ./my-driver.js for your own)`);
      }
      return { kind: 'driverLoad', name, isPath };
    },
    unload: (c) => {
      c.positionals(1, 1, ['driver name']);
      c.noOptions();
      const t = c.pos[0];
      if (t.value === '') failAt(t, 'empty driver name');
      return { kind: 'driverUnload', name: t.value };
    },
  },
  bus: {
    create: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      c.buses.add(bus); // declared even if an option below is wrong: avoids follow-on errors
      const o = c.options({ options: BUS_OPTS });
      return compact({
        kind: 'busCreate' as const, bus, name: str(o, 'name'), bytes: num(o, 'bytes'), addr: num(o, 'addr'),
        handle: num(o, 'handle'), partitionGuid: str(o, 'guid'), devCount: num(o, 'devcount'),
      });
    },
    configure: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      const o = c.options({ options: BUS_CONF_OPTS });
      return compact({ kind: 'busConfigure' as const, bus, handle: num(o, 'handle'), name: str(o, 'name'), partitionGuid: str(o, 'guid') });
    },
    destroy: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      c.noOptions();
      c.buses.delete(bus);
      return { kind: 'busDestroy', bus };
    },
  },
  device: {
    create: (c) => {
      if (c.pos.length > 1) {
        const t = c.pos[1];
        if (t.kind === 'word' && resolveGuid(t.text) !== undefined) {
          failAt(t, `unexpected argument ${q(t.text)} for 'device create' (did you mean type=${t.text}?)`);
        }
      }
      c.positionals(1, 1, ['device BUS:DEV']);
      const device = parseDevice(c.pos[0]);
      if (!c.buses.has(device.bus)) {
        failAt(c.pos[0], `device ${devText(device)} is on bus ${device.bus}, which no earlier 'bus create ${device.bus}' declares`);
      }
      const o = c.options({ options: DEVICE_OPTS, required: ['type'] });
      return compact({
        kind: 'deviceCreate' as const, device, typeGuid: str(o, 'type') ?? '', bytes: num(o, 'bytes'), addr: num(o, 'addr'),
        zoneGuid: str(o, 'zone'), partition: num(o, 'partition'), version: num(o, 'version'),
        headerTypeGuid: str(o, 'chtype'), instanceGuid: str(o, 'inst'),
      });
    },
    destroy: simpleDevice('deviceDestroy'),
    pause: simpleDevice('devicePause'),
    resume: simpleDevice('deviceResume'),
    configure: simpleDevice('deviceConfigure'),
    state: (c) => {
      c.positionals(2, 2, ['device BUS:DEV', 'state (running, standby, paused or a number)']);
      c.noOptions();
      const device = parseDevice(c.pos[0]);
      const t = c.pos[1];
      let state: number;
      if (t.kind === 'word' && Object.prototype.hasOwnProperty.call(SEGMENT_STATES, t.text)) state = SEGMENT_STATES[t.text];
      else if (t.kind === 'word' && isNumberText(t.text)) state = parseNumberAt(t.text, t.start, t.end, U16, 'segment state');
      else {
        const names = Object.keys(SEGMENT_STATES);
        const s = suggest(t.text, names);
        const hint = s === undefined ? '' : `did you mean '${s}'? `;
        failAt(t, `unknown device state ${q(t.text)} (${hint}use running, standby, paused or a number like 0x77)`);
      }
      return { kind: 'deviceState', device, state };
    },
  },
  partition: {
    recover: (c) => {
      c.positionals(1, 1, ['bus number']);
      c.noOptions();
      return { kind: 'partitionRecover', bus: c.bus(c.pos[0]) };
    },
  },
  controlvm: {
    send: (c) => {
      c.positionals(0, 0, []);
      const o = c.options({ options: CONTROLVM_OPTS, required: ['id'] });
      const id = num(o, 'id') ?? 0;
      const fields: Record<string, number | string> = {};
      for (const [k, v] of Object.entries(o)) if (k !== 'id') fields[k] = v;
      return { kind: 'controlvmSend', id, fields };
    },
  },
  signal: {
    insert: (c) => {
      c.positionals(2, 2, ['target (BUS:DEV or controlvm)', `data (${DATA_FORMS})`]);
      const device = parseTarget(c.pos[0]);
      const o = c.options({ options: { queue: 'u32' }, required: ['queue'] });
      const data = parseData(c.pos[1], DATA_FORMS);
      return { kind: 'signalInsert', device, queue: num(o, 'queue') ?? 0, data };
    },
    remove: (c) => {
      c.positionals(1, 1, ['target (BUS:DEV or controlvm)']);
      const device = parseTarget(c.pos[0]);
      const o = c.options({ options: { queue: 'u32' }, required: ['queue'] });
      return { kind: 'signalRemove', device, queue: num(o, 'queue') ?? 0 };
    },
  },
  memory: {
    write: (c) => {
      const memForms = 'hex:0011aa..., a "quoted string", or u8/u16/u32/u64 N';
      c.positionals(2, 3, ['address (ADDR, BUS:DEV+OFFSET or controlvm+OFFSET)', `data (${memForms})`]);
      c.noOptions();
      const at = c.pos[0];
      let target: { device: DeviceRef | 'controlvm'; offset: number } | { address: number };
      const plus = at.kind === 'word' ? at.text.indexOf('+') : -1;
      if (at.kind !== 'word') failAt(at, `bad address ${q(at.text)} (use a number, BUS:DEV+OFFSET or controlvm+OFFSET)`);
      if (plus >= 0) {
        const left = at.text.slice(0, plus);
        const right = at.text.slice(plus + 1);
        const device: DeviceRef | 'controlvm' = left === 'controlvm' ? 'controlvm' : parseDeviceText(left, at.start, at.start + plus);
        const offset = parseNumberAt(right, at.start + plus + 1, at.end, SAFE, 'offset');
        target = { device, offset };
      } else if (isNumberText(at.text)) {
        target = { address: parseNumberAt(at.text, at.start, at.end, SAFE, 'address') };
      } else if (at.text === 'controlvm' || DEVREF_RE.test(at.text)) {
        failAt(at, `missing offset in ${q(at.text)} (write ${at.text}+OFFSET, e.g. ${at.text}+0x40)`);
      } else {
        failAt(at, `bad address ${q(at.text)} (use a number, BUS:DEV+OFFSET or controlvm+OFFSET)`);
      }
      const d = c.pos[1];
      const widths: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };
      let data: Uint8Array;
      if (d.kind === 'word' && Object.prototype.hasOwnProperty.call(widths, d.text)) {
        const width = widths[d.text];
        if (c.pos.length < 3) fail(d.start, d.end, `missing value after '${d.text}' (e.g. ${d.text} 7)`);
        const vt = c.pos[2];
        if (vt.kind !== 'word' || !isNumberText(vt.text)) failAt(vt, `bad number ${q(vt.text)}`);
        const big = BigInt(vt.text);
        const limit = (1n << BigInt(width * 8)) - 1n;
        if (big > limit) failAt(vt, `value ${q(vt.text)} does not fit in ${d.text} (at most 0x${limit.toString(16)})`);
        data = new Uint8Array(width);
        let x = big;
        for (let i = 0; i < width; i++) {
          data[i] = Number(x & 0xffn);
          x >>= 8n;
        }
      } else {
        if (c.pos.length > 2) {
          const t = c.pos[2];
          failAt(t, `unexpected argument ${q(t.text)} for 'memory write' (syntax: ${c.syntax})`);
        }
        data = parseData(d, memForms);
      }
      return { kind: 'memoryWrite', target, data };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Single-word commands

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
      fail(first.start, first.end, glued
        ? `missing spaces around the comparison in ${q(first.text)}`
        : `missing comparison after ${q(first.text)} (use ${OP_LIST})`);
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

const SINGLE: Readonly<Record<string, Handler>> = {
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

// ---------------------------------------------------------------------------------------------
// Back-end families: FAMILY BUS:DEV VERB ...

type Family = 'disk' | 'net' | 'keyboard' | 'mouse' | 'fault' | 'input';

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

const FAMILIES: Readonly<Record<Family, Readonly<Record<string, VerbSpec>>>> = {
  disk: {
    attach: { options: { ...LUN, id: 'u32', image: 'string', size: 'size', readonly: 'u32', vendor: 'string', model: 'string' }, required: ['lun', 'image'], args: noPositionals },
    detach: { options: { ...LUN, id: 'u32' }, required: ['lun'], args: noPositionals },
    rescan: { options: {}, args: noPositionals },
    read: {
      options: { ...LUN, lba: 'num', count: 'u32' },
      required: ['lun', 'lba', 'count'],
      args: (c) => {
        const count = c.opts.find((t) => t.key === 'count');
        if (count && Number(numberOf(count.value)) > MAX_DISK_READ_SECTORS) failAt(count, `count=${q(count.value)} is too many sectors for one read (at most ${MAX_DISK_READ_SECTORS}, 16 MiB); read in parts`);
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
        if (Math.abs(n) > MAX_WHEEL_STEPS) failAt(c.pos[0], `wheel amount ${q(c.pos[0].text)} is too large for one line (at most ${MAX_WHEEL_STEPS} notches either way)`);
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

function parseFamily(family: Family, line: string, toks: readonly Token[], buses: Set<number>, warnings: LineError[]): Command {
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

// ---------------------------------------------------------------------------------------------
// Line and file

const TOP_WORDS: readonly string[] = [
  ...Object.keys(GROUPS), ...Object.keys(SINGLE), ...Object.keys(FAMILIES),
].sort();

function parseCommand(line: string, toks: readonly Token[], buses: Set<number>, warnings: LineError[]): Command {
  const head = toks[0];
  if (head.kind !== 'word') failAt(head, `expected a command, found ${q(head.text)}`);
  const word = head.text;
  if (Object.prototype.hasOwnProperty.call(GROUPS, word)) {
    const subs = GROUPS[word];
    const subNames = Object.keys(subs);
    const sub = toks[1];
    if (sub === undefined) failAt(head, `missing subcommand for '${word}' (use ${orList(subNames)})`);
    if (sub.kind !== 'word' || !Object.prototype.hasOwnProperty.call(subs, sub.text)) {
      const s = suggest(sub.text, subNames);
      const hint = s === undefined ? '' : `did you mean '${s}'? `;
      failAt(sub, `unknown subcommand ${q(sub.text)} for '${word}' (${hint}expected one of: ${subNames.join(', ')})`);
    }
    const c = new Ctx(line, toks, `${word} ${sub.text}`, head.start, sub.end, toks.slice(2), buses, warnings);
    return subs[sub.text](c);
  }
  if (Object.prototype.hasOwnProperty.call(SINGLE, word)) {
    const c = new Ctx(line, toks, word, head.start, head.end, toks.slice(1), buses, warnings);
    return SINGLE[word](c);
  }
  if (Object.prototype.hasOwnProperty.call(FAMILIES, word)) return parseFamily(word as Family, line, toks, buses, warnings);
  const s = suggest(word, TOP_WORDS);
  const hint = s === undefined ? `commands: ${TOP_WORDS.join(', ')}` : `did you mean '${s}'?`;
  failAt(head, `unknown command ${q(word)} (${hint})`);
}

function utf8Length(s: string): number {
  const B = (globalThis as { Buffer?: { byteLength(s: string, enc: 'utf8'): number } }).Buffer;
  if (B) return B.byteLength(s, 'utf8');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** NUL bytes, or more than 30% non-printable characters, in the first 4 KiB. */
export function looksBinary(text: string): boolean {
  const n = Math.min(text.length, 4096);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return true;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || c === 0xfffd) bad++;
  }
  return n > 0 && bad > n * 0.3;
}

/** Parse scenario text. Never throws; every problem is a diagnostic. */
export function parseScenario(text: string, file: string): Scenario {
  const steps: ScenarioStep[] = [];
  const diagnostics: Diagnostic[] = [];
  const fileName = typeof file === 'string' ? file : String(file);
  const scenario: Scenario = { file: fileName, steps, diagnostics };
  let src = typeof text === 'string' ? text : String(text ?? '');
  if (src.charCodeAt(0) === 0xfeff) src = src.slice(1);
  let truncated = false;
  const report = (line: number, column: number, endColumn: number, message: string, severity: 'error' | 'warning'): void => {
    if (diagnostics.length >= MAX_DIAGNOSTICS) {
      if (!truncated) {
        truncated = true;
        diagnostics.push({
          file: fileName, line, column: 1, endColumn: 2, severity: 'warning',
          message: `too many problems; only the first ${MAX_DIAGNOSTICS} are shown`,
        });
      }
      return;
    }
    diagnostics.push({ file: fileName, line, column, endColumn, severity, message });
  };

  if (looksBinary(src)) {
    report(1, 1, 2, 'not a scenario: the file looks binary', 'error');
    return scenario;
  }

  const buses = new Set<number>();
  let pos = 0;
  let lineNo = 0;
  let nextLF = src.indexOf('\n');
  let nextCR = src.indexOf('\r');
  while (pos <= src.length) {
    lineNo++;
    if (nextLF !== -1 && nextLF < pos) nextLF = src.indexOf('\n', pos);
    if (nextCR !== -1 && nextCR < pos) nextCR = src.indexOf('\r', pos);
    let end: number;
    let next: number;
    if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
      end = nextCR;
      next = nextCR + 1 < src.length && src.charCodeAt(nextCR + 1) === 0x0a ? nextCR + 2 : nextCR + 1;
    } else if (nextLF !== -1) {
      end = nextLF;
      next = nextLF + 1;
    } else {
      end = src.length;
      next = src.length + 1;
    }
    const line = src.slice(pos, end);
    pos = next;

    if (line.length > MAX_LINE_BYTES / 3) {
      const bytes = utf8Length(line);
      if (bytes > MAX_LINE_BYTES) {
        report(lineNo, 1, line.length + 1, `line is too long (${bytes} bytes; at most ${MAX_LINE_BYTES})`, 'error');
        continue;
      }
    }
    try {
      const lexed = lexLine(line);
      if (lexed.error) {
        const e = lexed.error;
        report(lineNo, e.start + 1, Math.max(e.end, e.start + 1) + 1, e.message, 'error');
        continue;
      }
      const toks = lexed.tokens;
      if (toks.length === 0) continue;
      const first = toks[0];
      const last = toks[toks.length - 1];
      const loc = { line: lineNo, column: first.start + 1, endColumn: last.end + 1 };
      const stepText = line.slice(first.start, last.end);
      const warnings: LineError[] = [];
      const command = parseCommand(line, toks, buses, warnings);
      for (const w of warnings) report(lineNo, w.start + 1, Math.max(w.end, w.start + 1) + 1, w.message, 'warning');
      steps.push({ loc, text: stepText, command });
    } catch (e) {
      if (e instanceof LineError) {
        report(lineNo, e.start + 1, Math.max(e.end, e.start + 1) + 1, e.message, 'error');
      } else {
        const msg = e instanceof Error ? e.message : String(e);
        report(lineNo, 1, line.length + 1, `internal error while parsing this line: ${msg}`, 'error');
      }
    }
  }
  return scenario;
}
