/**
 * Messages between the channel inspector webview and the extension. Everything that comes from the
 * webview is checked (type and every field) before the extension acts on it; field values typed by
 * the user are encoded to the exact bytes of the field or rejected with a reason.
 */
import { guidToBytes, isGuidText } from '../../emulator/protocol/guid';
import { ChannelView, Field } from '../protocol';

export const HEX_WINDOW = 512;

export type FromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'openBinary' }
  | { type: 'window'; offset: number }
  | { type: 'writeField'; name: string; offset: number; size: number; value: string };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isOffset(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Returns the message when it is one of the known kinds with well-typed fields, else undefined. */
export function parseWebviewMessage(raw: unknown): FromWebview | undefined {
  if (!isRecord(raw) || typeof raw.type !== 'string') return undefined;
  switch (raw.type) {
    case 'ready':
    case 'refresh':
    case 'openBinary':
      return { type: raw.type };
    case 'window':
      return isOffset(raw.offset) ? { type: 'window', offset: raw.offset } : undefined;
    case 'writeField':
      if (
        typeof raw.name !== 'string' ||
        raw.name.length > 200 ||
        !isOffset(raw.offset) ||
        !isOffset(raw.size) ||
        raw.size === 0 ||
        raw.size > 4096 ||
        typeof raw.value !== 'string' ||
        raw.value.length > 10000
      )
        return undefined;
      return { type: 'writeField', name: raw.name, offset: raw.offset, size: raw.size, value: raw.value };
    default:
      return undefined;
  }
}

/** Every decoded field of a channel view (header, extra, queue headers, pending signals). */
export function allFields(ch: ChannelView): Field[] {
  const out = [...ch.header, ...ch.extra];
  for (const q of ch.queues) {
    out.push(...q.fields);
    for (const p of q.pending) out.push(...p.fields);
  }
  return out;
}

/** The writable field a write request names (same name, offset and size), or a reason why not. */
export function findWritableField(ch: ChannelView, name: string, offset: number, size: number): Field | string {
  const f = allFields(ch).find((x) => x.offset === offset && x.size === size && x.name === name);
  if (!f) return `no field ${name} at offset ${offset} (${size} bytes) in this channel`;
  if (!f.writable) return `field ${name} is read-only`;
  if (offset + size > ch.nbytes) return `field ${name} lies outside the channel`;
  return f;
}

/**
 * Encode what the user typed for a field of `size` bytes, little-endian like the kernel structs:
 * a number (decimal or 0x hex, must fit), a GUID (16-byte fields), `hex:` bytes or spaced hex pairs
 * of exactly `size` bytes, or a "quoted" ASCII string (zero-padded).
 */
export function encodeFieldValue(text: string, size: number): Uint8Array | string {
  const t = text.trim();
  if (t === '') return 'empty value';
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t) && size <= 8) {
    const v = BigInt(t);
    if (v >= 1n << BigInt(size * 8)) return `${t} does not fit in ${size} byte${size === 1 ? '' : 's'}`;
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    return out;
  }
  if (/^-\d+$/.test(t) && size <= 8) {
    const v = BigInt(t);
    const bits = BigInt(size * 8);
    if (v < -(1n << (bits - 1n))) return `${t} does not fit in ${size} byte${size === 1 ? '' : 's'}`;
    const u = (1n << bits) + v;
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
    return out;
  }
  if (size === 16 && isGuidText(t)) return guidToBytes(t.toLowerCase());
  const hexBody = /^hex:/i.test(t) ? t.slice(4) : /^([0-9a-f]{2})(\s+[0-9a-f]{2})+$/i.test(t) ? t : undefined;
  if (hexBody !== undefined) {
    const clean = hexBody.replace(/\s+/g, '');
    if (!/^([0-9a-f]{2})*$/i.test(clean)) return 'hex bytes must be pairs of hex digits';
    if (clean.length / 2 !== size) return `expected ${size} bytes, got ${clean.length / 2}`;
    return new Uint8Array(clean.match(/../g)!.map((b) => parseInt(b, 16)));
  }
  const str = /^"(.*)"$/.exec(t);
  if (str) {
    const bytes = Buffer.from(str[1], 'latin1');
    if (bytes.length > size) return `"${str[1]}" is longer than ${size} bytes`;
    const out = new Uint8Array(size);
    out.set(bytes);
    return out;
  }
  return size <= 8
    ? `expected a number (decimal or 0x hex), "text" or hex:${'00'.repeat(size)}`
    : `expected ${size === 16 ? 'a GUID, ' : ''}hex:… (${size} bytes) or "text"`;
}
