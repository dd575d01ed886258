/**
 * The kernel's bounds check of a channel access, and the little-endian field access the
 * cached channel header uses (it is a plain byte copy of guest memory).
 */

/** How the kernel's bounds check judges an access: 'ok', 'eio' (refused), 'oops' (passes by wrap-around, lands before the mapping). */
export function classifyAccess(offset: number, n: number, nbytes: number): 'ok' | 'eio' | 'oops' {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(n) || n < 0) return 'eio';
  if (offset >= 0) return offset + n > nbytes ? 'eio' : 'ok';
  // A negative offset is a huge ulong: offset + n wraps to a small value only when it reaches 0.
  const wrapped = offset + n;
  return wrapped >= 0 && wrapped <= nbytes ? 'oops' : 'eio';
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

export function readU64(b: Uint8Array, o: number): number {
  return readU32(b, o) + readU32(b, o + 4) * 0x100000000;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function writeU64(b: Uint8Array, o: number, v: number): void {
  writeU32(b, o, v >>> 0);
  writeU32(b, o + 4, Math.floor(v / 0x100000000) >>> 0);
}
