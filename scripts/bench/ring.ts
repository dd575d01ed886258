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

/** The §2.3 ring on a flat buffer: same header layout, same checks and counters, nothing else. */
class FlatRing {
  readonly buf: Uint8Array;
  private readonly dv: DataView;
  private readonly size: number;
  constructor(signalSize: number, slots: number) {
    this.size = Math.ceil((256 + slots * signalSize) / 4096) * 4096;
    this.buf = new Uint8Array(this.size);
    this.dv = new DataView(this.buf.buffer);
    this.dv.setUint32(128 + SQ.signal_size, signalSize, true);
    this.dv.setUint32(128 + SQ.max_slots, slots, true);
    this.dv.setUint32(128 + SQ.sig_base_offset, 128, true);
  }
  private u64(o: number): number {
    return this.dv.getUint32(o, true) + this.dv.getUint32(o + 4, true) * 0x100000000;
  }
  private set64(o: number, v: number): void {
    this.dv.setUint32(o, v >>> 0, true);
    this.dv.setUint32(o + 4, Math.floor(v / 0x100000000) >>> 0, true);
  }
  insert(msg: Uint8Array): number {
    const dv = this.dv;
    const q = 128;
    const max = dv.getUint32(q + SQ.max_slots, true);
    if (max === 0) return -22;
    const head = (dv.getUint32(q + SQ.head, true) + 1) % max;
    if (head === dv.getUint32(q + SQ.tail, true)) {
      this.set64(q + SQ.num_overflows, this.u64(q + SQ.num_overflows) + 1);
      return -5;
    }
    const ss = dv.getUint32(q + SQ.signal_size, true);
    const off = q + this.u64(q + SQ.sig_base_offset) + head * ss;
    if (off + ss > this.size) return -5;
    this.buf.set(msg.length === ss ? msg : msg.subarray(0, ss), off);
    dv.setUint32(q + SQ.head, head, true);
    this.set64(q + SQ.num_sent, this.u64(q + SQ.num_sent) + 1);
    return 0;
  }
  remove(out: Uint8Array): number {
    const dv = this.dv;
    const q = 128;
    const tail0 = dv.getUint32(q + SQ.tail, true);
    if (dv.getUint32(q + SQ.head, true) === tail0) return -11;
    const max = dv.getUint32(q + SQ.max_slots, true);
    if (max === 0) return -22;
    const tail = (tail0 + 1) % max;
    const ss = dv.getUint32(q + SQ.signal_size, true);
    const off = q + this.u64(q + SQ.sig_base_offset) + tail * ss;
    if (off + ss > this.size) return -5;
    out.set(this.buf.subarray(off, off + Math.min(ss, out.length)));
    dv.setUint32(q + SQ.tail, tail, true);
    this.set64(q + SQ.num_received, this.u64(q + SQ.num_received) + 1);
    return 0;
  }
  numSent(): number {
    return this.u64(128 + SQ.num_sent);
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
  const fl = timeIt(
    (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        msg[0] = i & 0xff;
        if (flat.insert(msg) !== 0 || flat.remove(out) !== 0) throw new Error(`flat ring error at pair ${i}`);
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
