/**
 * Signal-queue throughput of the emulator's visorchannel ring (`npm run bench`, figure 1):
 * insert+remove pairs per second through VisorChannel.signalInsert/signalRemove on guest
 * memory laid out by writeChannelHeader/writeQueueHeader — the same layout bench/c/ring.c
 * uses (channel header, one queue header at 128, slots 128 bytes after it).
 *
 * usage: node out/bench/ring.js SIGNAL_SIZE [SLOTS] [MIN_SECONDS] [ROUNDS]   (one JSON line)
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
  if (ch.signalInsert(0, m) !== -5 || mem.readU64(q + SQ.num_overflows) !== 1 || mem.readU64(q + SQ.num_sent) !== slots - 1) throw new Error('self-check: full rule');
  for (let i = 0; i < slots - 1; i++) ch.signalRemove(0, m);
  if (ch.signalRemove(0, m) !== -11 || mem.readU64(q + SQ.num_received) !== slots - 1) throw new Error('self-check: empty rule');
}

function main(): void {
  const signalSize = Number(process.argv[2] ?? 64);
  const slots = Number(process.argv[3] ?? 64);
  const minSeconds = Number(process.argv[4] ?? 0.3);
  const rounds = Number(process.argv[5] ?? 5);
  selfCheck(signalSize, slots);
  const { ch, mem } = channel(signalSize, slots);
  const msg = new Uint8Array(signalSize);
  const out = new Uint8Array(signalSize);
  let sink = 0;
  let batch = 1024;
  for (;;) {
    const t0 = performance.now();
    sink += run(ch, msg, out, batch);
    if ((performance.now() - t0) / 1000 >= minSeconds / 4 || batch > 2 ** 30) break;
    batch *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t: number;
    do {
      sink += run(ch, msg, out, batch);
      n += batch;
      t = (performance.now() - t0) / 1000;
    } while (t < minSeconds);
    rates.push(n / t);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const q = BASE + 128;
  process.stdout.write(
    JSON.stringify({
      variant: 'ts',
      signalSize,
      slots,
      pairsPerSec: sorted[Math.floor(rounds / 2)],
      rounds: rates,
      numSent: mem.readU64(q + SQ.num_sent),
      numReceived: mem.readU64(q + SQ.num_received),
      head: mem.readU32(q + SQ.head),
      tail: mem.readU32(q + SQ.tail),
      sink,
    }) + '\n',
  );
}

main();
