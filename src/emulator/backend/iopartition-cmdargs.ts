/**
 * Argument helpers shared by the service-partition back-ends (IO partition disk and
 * network, console partition): numbers from positional/option values, payload bytes
 * from a quoted string or a `hex:` word, and checks that produce the user-facing
 * errors the scenario runner reports at the command's line.
 */
import type { BackendCommand, BackendDevice } from './servicepartition';
import { GUID_DESCRIPTIONS } from '../protocol/guid';

/** A number from a scenario value: 12, "12", "0x1c", "4k", "16M", "1G". */
export function toNumber(v: string | number | undefined, what: string): number {
  if (typeof v === 'number') return v;
  if (v === undefined) throw new Error(`missing ${what}`);
  const m = /^(0x[0-9a-f]+|-?[0-9]+)([kmg]i?b?)?$/i.exec(v.trim());
  if (!m) throw new Error(`${what} must be a number, got '${v}'`);
  let n = m[1].toLowerCase().startsWith('0x') ? parseInt(m[1], 16) : parseInt(m[1], 10);
  const unit = (m[2] ?? '').toLowerCase()[0];
  if (unit === 'k') n *= 1024;
  else if (unit === 'm') n *= 1024 * 1024;
  else if (unit === 'g') n *= 1024 * 1024 * 1024;
  return n;
}

/** An option as a number, with a default. */
export function numOpt(cmd: BackendCommand, key: string, dflt: number): number {
  const v = cmd.options[key];
  return v === undefined ? dflt : toNumber(v, `${key}=`);
}

export function strOpt(cmd: BackendCommand, key: string): string | undefined {
  const v = cmd.options[key];
  return v === undefined ? undefined : String(v);
}

/** Flags given as `readonly`, `readonly=1`, `readonly=yes`. */
export function flagOpt(cmd: BackendCommand, key: string): boolean {
  const v = cmd.options[key];
  if (v !== undefined) return v === 1 || /^(1|yes|true|on)$/i.test(String(v));
  return cmd.positional.some((p) => String(p).toLowerCase() === key);
}

/**
 * Bytes of a payload: a `hex:0011aa` word gives those bytes; any other string gives
 * its characters — one byte each when every character is ≤ 0xFF (so "\x00" escapes
 * stay raw bytes), UTF-8 otherwise.
 */
export function payloadBytes(v: string | number | undefined, what = 'data'): Uint8Array {
  if (v === undefined) throw new Error(`missing ${what} (a "quoted string" or hex:…)`);
  const s = String(v);
  if (/^hex:/i.test(s)) {
    const h = s.slice(4).replace(/[\s_:-]/g, '');
    if (!/^([0-9a-f]{2})*$/i.test(h)) throw new Error(`${what}: '${s}' is not an even number of hex digits`);
    const out = new Uint8Array(h.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
    return out;
  }
  let wide = false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) wide = true;
  if (wide) return new TextEncoder().encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Throw unless the device is of one of the given channel types. */
export function requireType(cmd: BackendCommand, guids: readonly string[], needs: string): void {
  if (guids.includes(cmd.device.typeGuid)) return;
  const what = GUID_DESCRIPTIONS[cmd.device.typeGuid] ?? cmd.device.typeGuid;
  throw new Error(`${cmd.family} ${cmd.verb}: device ${cmd.device.id} is a ${what} device; ${cmd.family} commands need ${needs}`);
}

export function devId(d: BackendDevice): string {
  return `${d.bus}:${d.dev}`;
}

/** Text of bytes for counters: Latin-1 up to the first NUL. */
export function bytesText(b: Uint8Array | undefined): string {
  if (!b) return '';
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function hexText(b: Uint8Array | undefined): string {
  if (!b) return '';
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** The verb's list of accepted words, for "unknown verb" errors. */
export function unknownVerb(cmd: BackendCommand, verbs: readonly string[]): Error {
  return new Error(`unknown ${cmd.family} command '${cmd.verb}' (expected one of: ${verbs.join(', ')})`);
}
