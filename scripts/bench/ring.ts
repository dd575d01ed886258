/**
 * Signal-queue throughput of the emulator's visorchannel ring (`npm run bench`, figure 1):
 * insert+remove pairs per second through VisorChannel.signalInsert/signalRemove on guest
 * memory laid out by writeChannelHeader/writeQueueHeader — the same layout bench/c/ring.c
 * uses (channel header, one queue header at 128, slots 128 bytes after it).
 *
 * It also times a language floor in the same process: the same ring algorithm written
 * directly on one flat Uint8Array (no regions, no pages, no channel object), to separate
 * the cost of JavaScript from the cost of the emulator's memory model.
 *
 * usage: node out/bench/ring.js SIGNAL_SIZE [SLOTS] [MIN_SECONDS] [ROUNDS] [ts|flat|both]   (a JSON line each)
 */
import { GuestMemory } from '../../src/emulator/memory/guestmemory';
import { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import { writeChannelHeader, writeQueueHeader } from '../../src/emulator/backend/channelinit';
import { SQ } from '../../src/emulator/protocol/layout';

const BENCH_GUID = 'b3c4e7a1-0d2f-4c55-9e61-62656e636831';
const BASE = 0x1000_0000;

function channel(signalSize: number, slots: number): { ch: VisorChannel; mem: GuestMemory } {
  const mem = new GuestMemory();
  const size = Math.ceil((256 + slots * signalSize) / 4096) * 4096;
  mem.map(BASE, size, 'bench channel');
  writeChannelHeader(mem, BASE, { typeGuid: BENCH_GUID, size, version: 1, chSpaceOffset: 128 });
  writeQueueHeader(mem, BASE + 128, slots, signalSize, 128);
  const ch = VisorChannel.create(mem, BASE, BENCH_GUID, 'bench');
  if (typeof ch === 'string') throw new Error(ch);
  return { ch, mem };
}

function run(ch: VisorChannel, msg: Uint8Array, out: Uint8Array, pairs: number): number {
  let sum = 0;
  for (let i = 0; i < pairs; i++) {
    msg[0] = i & 0xff;
    if (ch.signalInsert(0, msg) !== 0 || ch.signalRemove(0, out) !== 0) throw new Error(`ring error at pair ${i}`);
    sum += out[0];
  }
  return sum;
}

function selfCheck(signalSize: number, slots: number): void {
  const { ch, mem } = channel(signalSize, slots);
  const m = new Uint8Array(signalSize);
  const q = BASE + 128;
  if (ch.signalInsert(0, m) !== 0 || mem.readU32(q + SQ.head) !== 1) throw new Error('self-check: first signal not in slot 1');
  for (let i = 1; i < slots - 1; i++) ch.signalInsert(0, m);
  if (ch.signalInsert(0, m) !== -5 || mem.readU64(q + SQ.num_overflows) !== 1 || mem.readU64(q + SQ.num_sent) !== slots - 1)
    throw new Error('self-check: full rule');
  for (let i = 0; i < slots - 1; i++) ch.signalRemove(0, m);
  if (ch.signalRemove(0, m) !== -11 || mem.readU64(q + SQ.num_received) !== slots - 1) throw new Error('self-check: empty rule');
}

/**
 * The §2.3 ring on a flat buffer: same header layout, same checks and counters, nothing else,
 * written as fast as JavaScript allows: the header fields through one Uint32Array, a small
 * signal (at most 64 bytes, whole words) copied word by word, a larger one with `set` (what
 * memcpy is to C). The emulator's ring cannot be faster than this; it is the language's share.
 */
class FlatRing {
  readonly buf: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly size: number;
  private static readonly Q = 128 / 4;
  constructor(signalSize: number, slots: number) {
    this.size = Math.ceil((256 + slots * signalSize) / 4096) * 4096;
    this.buf = new Uint8Array(this.size);
    this.u32 = new Uint32Array(this.buf.buffer);
    const u = this.u32;
    const q = FlatRing.Q;
    u[q + SQ.signal_size / 4] = signalSize;
    u[q + SQ.max_slots / 4] = slots;
    u[q + SQ.sig_base_offset / 4] = 128;
  }
  /** A u64 counter `field`++, in place. */
  private inc64(field: number): void {
    const u = this.u32;
    const i = FlatRing.Q + field / 4;
    if (u[i] !== 0xffffffff) u[i]++;
    else {
      u[i] = 0;
      u[i + 1]++;
    }
  }
  insert(msg: Uint8Array, msg32: Uint32Array): number {
    const u = this.u32;
    const q = FlatRing.Q;
    const max = u[q + SQ.max_slots / 4];
    if (max === 0) return -22;
    let head = u[q + SQ.head / 4] + 1;
    if (head >= max) head %= max;
    if (head === u[q + SQ.tail / 4]) {
      this.inc64(SQ.num_overflows);
      return -5;
    }
    const ss = u[q + SQ.signal_size / 4];
    const off = 128 + u[q + SQ.sig_base_offset / 4] + head * ss;
    if (off + ss > this.size) return -5;
    if (ss <= 64 && (ss & 3) === 0 && (off & 3) === 0) {
      const w = off >>> 2;
      for (let i = 0; i < ss >>> 2; i++) u[w + i] = msg32[i];
    } else this.buf.set(msg.length === ss ? msg : msg.subarray(0, ss), off);
    u[q + SQ.head / 4] = head;
    this.inc64(SQ.num_sent);
    return 0;
  }
  remove(out: Uint8Array, out32: Uint32Array): number {
    const u = this.u32;
    const q = FlatRing.Q;
    const tail0 = u[q + SQ.tail / 4];
    if (u[q + SQ.head / 4] === tail0) return -11;
    const max = u[q + SQ.max_slots / 4];
    if (max === 0) return -22;
    let tail = tail0 + 1;
    if (tail >= max) tail %= max;
    const ss = u[q + SQ.signal_size / 4];
    const off = 128 + u[q + SQ.sig_base_offset / 4] + tail * ss;
    if (off + ss > this.size) return -5;
    if (ss <= 64 && (ss & 3) === 0 && (off & 3) === 0 && out.length >= ss) {
      const w = off >>> 2;
      for (let i = 0; i < ss >>> 2; i++) out32[i] = u[w + i];
    } else out.set(this.buf.subarray(off, off + Math.min(ss, out.length)));
    u[q + SQ.tail / 4] = tail;
    this.inc64(SQ.num_received);
    return 0;
  }
  numSent(): number {
    const i = FlatRing.Q + SQ.num_sent / 4;
    return this.u32[i] + this.u32[i + 1] * 0x100000000;
  }
}

/** Calibrate a batch to a quarter of minSeconds, then time `rounds` rounds; median pairs/s. */
function timeIt(body: (pairs: number) => number, minSeconds: number, rounds: number): { pairsPerSec: number; rounds: number[]; sink: number } {
  let sink = 0;
  let batch = 1024;
  for (;;) {
    const t0 = performance.now();
    sink += body(batch);
    if ((performance.now() - t0) / 1000 >= minSeconds / 4 || batch > 2 ** 30) break;
    batch *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t: number;
    do {
      sink += body(batch);
      n += batch;
      t = (performance.now() - t0) / 1000;
    } while (t < minSeconds);
    rates.push(n / t);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { pairsPerSec: sorted[Math.floor(rounds / 2)], rounds: rates, sink };
}

function main(): void {
  const signalSize = Number(process.argv[2] ?? 64);
  const slots = Number(process.argv[3] ?? 64);
  const minSeconds = Number(process.argv[4] ?? 0.3);
  const rounds = Number(process.argv[5] ?? 5);
  const which = process.argv[6] ?? 'both';
  selfCheck(signalSize, slots);
  const { ch, mem } = channel(signalSize, slots);
  const msg = new Uint8Array(signalSize);
  const out = new Uint8Array(signalSize);
  if (which !== 'flat') measureTs(ch, mem, msg, out, signalSize, slots, minSeconds, rounds);
  if (which !== 'ts') measureFlat(msg, out, signalSize, slots, minSeconds, rounds);
}

function measureTs(
  ch: VisorChannel,
  mem: GuestMemory,
  msg: Uint8Array,
  out: Uint8Array,
  signalSize: number,
  slots: number,
  minSeconds: number,
  rounds: number,
): void {
  const ts = timeIt((n) => run(ch, msg, out, n), minSeconds, rounds);
  const q = BASE + 128;
  process.stdout.write(
    JSON.stringify({
      variant: 'ts',
      signalSize,
      slots,
      pairsPerSec: ts.pairsPerSec,
      rounds: ts.rounds,
      numSent: mem.readU64(q + SQ.num_sent),
      numReceived: mem.readU64(q + SQ.num_received),
      head: mem.readU32(q + SQ.head),
      tail: mem.readU32(q + SQ.tail),
      sink: ts.sink,
    }) + '\n',
  );
}

function measureFlat(msg: Uint8Array, out: Uint8Array, signalSize: number, slots: number, minSeconds: number, rounds: number): void {
  const flat = new FlatRing(signalSize, slots);
  const msg32 = new Uint32Array(msg.buffer, msg.byteOffset, msg.length >>> 2);
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  const fl = timeIt(
    (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        msg[0] = i & 0xff;
        if (flat.insert(msg, msg32) !== 0 || flat.remove(out, out32) !== 0) throw new Error(`flat ring error at pair ${i}`);
        sum += out[0];
      }
      return sum;
    },
    minSeconds,
    rounds,
  );
  process.stdout.write(
    JSON.stringify({ variant: 'flat', signalSize, slots, pairsPerSec: fl.pairsPerSec, rounds: fl.rounds, numSent: flat.numSent(), sink: fl.sink }) + '\n',
  );
}

main();
