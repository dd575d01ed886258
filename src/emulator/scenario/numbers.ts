/**
 * The values a scenario line is made of: numbers (decimal or 0x hex, with a range),
 * sizes (64k, 1M), signed numbers, GUIDs and their aliases, device names (BUS:DEV),
 * targets (BUS:DEV or controlvm) and data (`"text"` or `hex:...`). Each parser throws a
 * LineError that points at the exact characters in the line.
 */

import type { DeviceRef } from './ast';
import { GUID_ALIASES, resolveGuid } from '../protocol/guid';
import type { Token } from './lexer';
import { fail, failAt, q } from './lineerror';

const DEC_RE = /^[0-9]+$/;
const HEX_RE = /^0[xX][0-9a-fA-F]+$/;

/** Parses decimal or 0x hex; undefined when the text is not a number. May be imprecise above 2^53. */
export function numberOf(text: string): number | undefined {
  if (DEC_RE.test(text)) return Number(text);
  if (HEX_RE.test(text)) return parseInt(text.slice(2), 16);
  return undefined;
}

export function isNumberText(text: string): boolean {
  return DEC_RE.test(text) || HEX_RE.test(text);
}

export const U16 = 0xffff;
export const U32 = 0xffffffff;
export const SAFE = Number.MAX_SAFE_INTEGER;

function maxText(max: number): string {
  return max === SAFE ? '2^53-1' : `0x${max.toString(16)}`;
}

/** A number token (or the value of an option token) within 0..max. */
export function parseNumberAt(text: string, start: number, end: number, max: number, what = 'number'): number {
  const v = numberOf(text);
  if (v === undefined) {
    if (text === '') fail(start, Math.max(end, start + 1), `missing ${what}`);
    fail(start, end, `bad number ${q(text)}`);
  }
  if (v > max) fail(start, end, `${what} ${q(text)} is too large (at most ${maxText(max)})`);
  return v;
}

const SIZE_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+)([kKM]?)$/;

export function parseSizeAt(text: string, start: number, end: number): number {
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

export const SIGNED_RE = /^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/;

export function parseSigned(tok: Token, what: string): number {
  if (tok.kind !== 'word' || !SIGNED_RE.test(tok.text)) failAt(tok, `bad ${what} ${q(tok.text)} (expected a whole number, e.g. 10 or -3)`);
  const neg = tok.text.startsWith('-');
  const v = numberOf(neg ? tok.text.slice(1) : tok.text)!;
  if (v > 0x7fffffff) failAt(tok, `${what} ${q(tok.text)} is too large`);
  return neg ? -v : v;
}

const ALIAS_LIST = Object.keys(GUID_ALIASES).join(', ');

export function parseGuidAt(text: string, start: number, end: number): string {
  const g = resolveGuid(text);
  if (g !== undefined) return g;
  if (text === '') fail(start, Math.max(end, start + 1), `missing GUID (use ${ALIAS_LIST} or a GUID in 8-4-4-4-12 form)`);
  if (/^[0-9a-fA-F-]{8,}$/.test(text) && /[0-9]/.test(text)) {
    fail(start, end, `malformed GUID ${q(text)} (expected 8-4-4-4-12 hex digits, e.g. 414815ed-c58c-11da-95a9-00e08161165f)`);
  }
  fail(start, end, `unknown GUID alias ${q(text)} (use ${ALIAS_LIST} or a GUID in 8-4-4-4-12 form)`);
}

export const DEVREF_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+):(0[xX][0-9a-fA-F]+|[0-9]+)$/;

export function parseDeviceText(text: string, start: number, end: number): DeviceRef {
  const m = DEVREF_RE.exec(text);
  if (!m) fail(start, end, `malformed device name ${q(text)} (expected BUS:DEV, e.g. 2:0)`);
  const bus = numberOf(m[1])!;
  const dev = numberOf(m[2])!;
  if (bus > U32) fail(start, start + m[1].length, `bus number ${q(m[1])} is too large (at most ${maxText(U32)})`);
  if (dev > U32) fail(start + m[1].length + 1, end, `device number ${q(m[2])} is too large (at most ${maxText(U32)})`);
  return { bus, dev };
}

export function parseDevice(tok: Token): DeviceRef {
  if (tok.kind !== 'word') failAt(tok, `malformed device name ${q(tok.text)} (expected BUS:DEV, e.g. 2:0)`);
  if (tok.text === 'controlvm') failAt(tok, `'controlvm' is not allowed here (expected BUS:DEV, e.g. 2:0)`);
  return parseDeviceText(tok.text, tok.start, tok.end);
}

export function parseTarget(tok: Token): DeviceRef | 'controlvm' {
  if (tok.kind === 'word' && tok.text === 'controlvm') return 'controlvm';
  if (tok.kind !== 'word') failAt(tok, `malformed device name ${q(tok.text)} (expected BUS:DEV, e.g. 2:0, or controlvm)`);
  return parseDeviceText(tok.text, tok.start, tok.end);
}

export function devText(d: DeviceRef): string {
  return `${d.bus}:${d.dev}`;
}

/** Bytes from hex digits that start at `start`; `whole` (starting at `wholeStart`) is the token as written. */
export function parseHexDigits(digits: string, start: number, end: number, whole: string, wholeStart: number): Uint8Array {
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
export function parseData(tok: Token, forms: string): Uint8Array {
  if (tok.kind === 'string') return tok.bytes ?? new Uint8Array(0);
  if (isHexData(tok)) return parseHexDigits(tok.text.slice(4), tok.start + 4, tok.end, tok.text, tok.start);
  failAt(tok, `bad data ${q(tok.text)} (use ${forms})`);
}

export const DATA_FORMS = 'a "quoted string" or hex:0011aa...';
