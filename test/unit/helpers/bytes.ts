/** Raw slot bytes for the driver and back-end tests: little-endian readers and writers, and a queue drain. */
import type { VisorChannel } from '../../../src/emulator/visorchannel/visorchannel';

/** Little-endian readers for raw slot bytes (tests check offsets against the reference by number). */
export function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

export function le64(b: Uint8Array, o: number): bigint {
  return BigInt(le32(b, o)) | (BigInt(le32(b, o + 4)) << 32n);
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function put64(b: Uint8Array, o: number, v: bigint | number): void {
  const x = BigInt.asUintN(64, BigInt(v));
  put32(b, o, Number(x & 0xffffffffn));
  put32(b, o + 4, Number(x >> 32n));
}

/** Drain a queue through the peer's view; returns the raw slots. */
export function drain(ch: VisorChannel, queue: number, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < 4096; n++) {
    const b = new Uint8Array(size);
    if (ch.signalRemove(queue, b) !== 0) break;
    out.push(b);
  }
  return out;
}
