/**
 * Channel memory corruption: random bytes over channel headers and signal-queue headers
 * (bad signature, max_slots 0, head/tail out of range, signal_size larger than the
 * channel, sig_base_offset huge) of device channels and of the controlvm channel, then
 * the run goes on with drivers polling and the back-end and Command partition working.
 * Every access the model makes is watched: none may leave the channel it operates on
 * (or, outside channel operations, every channel and DMA buffer), no loop may run away,
 * no exception may escape, the damage is refused with -EIO/-EINVAL where the ring is
 * unusable, and the healthy device next to the damaged one keeps working.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Emulator } from '../../src/emulator/emulator';
import { EmuEvent } from '../../src/emulator/engine/events';
import { CONTROLVM_ID, ControlvmMessage, MSG } from '../../src/emulator/protocol/controlvm';
import { CH, CONTROLVM_CHANNEL, SQ } from '../../src/emulator/protocol/layout';
import { SentMessage } from '../../src/emulator/backend/commandpartition';
import { initControlvmChannel, initDeviceChannel, writeQueueHeader } from '../../src/emulator/backend/channelinit';
import { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import { AccessGuard, DriverLog, ROBUST_GUID, SEED, guardAccesses, makeEmulator, newDriverLog, robustDriver, treeProblems } from './support/harness';

const DEV_BYTES = 0x10000;

interface World {
  emu: Emulator;
  log: DriverLog;
  guard: AccessGuard;
  errors: EmuEvent[];
  channelEvents: EmuEvent[];
  /** Physical address of each device's channel, as the back-end laid it out. */
  addr: Map<string, number>;
}

function send(emu: Emulator, m: ControlvmMessage): SentMessage | string {
  const rec = emu.cp.send(m);
  if (typeof rec === 'string') return rec;
  emu.runUntil(() => emu.cp.isAcked(rec.handle), 300);
  emu.cp.collect();
  return rec;
}

/**
 * Bus 1 with two polling robust devices. `damageBeforeCreate` may scribble on device 1:0's
 * channel after the back-end laid it out and before DEVICE_CREATE (the guest caches the header then).
 */
function world(damageBeforeCreate?: (emu: Emulator, addr: number) => void, produce = false): World {
  const log = newDriverLog();
  const { emu, errors } = makeEmulator({ robustdrv: () => robustDriver(log, { poll: true, produce }) });
  const channelEvents: EmuEvent[] = [];
  emu.engine.log.onEvent((ev) => {
    if (ev.kind === 'channel' && ev.subject === 'vbus1:dev0' && channelEvents.length < 5000) channelEvents.push(ev);
  });
  const cp = emu.cp;
  send(emu, cp.chipsetInit(3));
  send(emu, cp.busCreate({ bus: 1, instGuid: '00000000-0000-0000-0000-000000000001' }).msg);
  const addr = new Map<string, number>();
  const guard = guardAccesses(emu);
  for (const dev of [0, 1]) {
    const { msg, addr: a } = guard.unguarded(() =>
      cp.deviceCreate({ bus: 1, dev, typeGuid: ROBUST_GUID, instGuid: '00000000-0000-0000-0000-000000000002', bytes: DEV_BYTES }),
    );
    addr.set(`1:${dev}`, a);
    if (dev === 0 && damageBeforeCreate) guard.unguarded(() => damageBeforeCreate(emu, a));
    send(emu, msg);
  }
  return { emu, log, guard, errors, channelEvents, addr };
}

/** The back-end's own view of a device channel (it does not cache: it re-reads the header). */
function backendChannel(w: World, id: string): VisorChannel | undefined {
  const ch = VisorChannel.create(w.emu.memory, w.addr.get(id)!, ROBUST_GUID, `${id} (back-end)`);
  return typeof ch === 'string' ? undefined : ch;
}

/** Keep the run going: back-end traffic on both devices, polls, controlvm messages. */
function keepRunning(w: World, rounds = 4): { echoedOnHealthy: number; answered: number } {
  let echoedOnHealthy = 0;
  let answered = 0;
  const out = new Uint8Array(4096);
  for (let i = 0; i < rounds; i++) {
    w.guard.resetOps();
    for (const id of ['1:0', '1:1']) {
      const ch = backendChannel(w, id);
      ch?.signalInsert(0, new Uint8Array(128).fill(0x40 + i));
    }
    w.emu.advance(30);
    const healthy = backendChannel(w, '1:1')!;
    while (healthy.signalRemove(1, out) === 0) echoedOnHealthy++;
    const damaged = backendChannel(w, '1:0');
    for (let k = 0; damaged && k < 100 && damaged.signalRemove(1, out) === 0; k++);
    const rec = send(w.emu, w.emu.cp.message(CONTROLVM_ID.CHIPSET_READY));
    if (typeof rec !== 'string' && rec.responses.length) answered++;
  }
  return { echoedOnHealthy, answered };
}

function u64(mem: Emulator['memory'], addr: number, v: number | bigint): void {
  mem.writeU64(addr, v);
}

/** A queue-header field and an adversarial value for it. */
const queueDamage = fc.oneof(
  fc.record({ field: fc.constant('max_slots'), value: fc.constantFrom(0, 1, 2, 0x7fffffff, 0xffffffff) }),
  fc.record({
    field: fc.constantFrom('head', 'tail'),
    value: fc.oneof(fc.constantFrom(63, 64, 65, 1000, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
  }),
  fc.record({ field: fc.constant('signal_size'), value: fc.constantFrom(0, 1, 4096, DEV_BYTES, DEV_BYTES + 1, 0x7fffffff, 0xffffffff) }),
  fc.record({
    field: fc.constant('sig_base_offset'),
    value: fc.oneof(fc.constantFrom(0, -128, DEV_BYTES, 2 ** 31, 2 ** 32, 2 ** 52), fc.integer({ min: 0, max: 2 ** 40 })),
  }),
  fc.record({ field: fc.constant('bytes'), value: fc.uint8Array({ minLength: 1, maxLength: 128 }), at: fc.integer({ min: 0, max: 127 }) }),
);
type QueueDamage = { field: string; value: number | Uint8Array; at?: number };

function applyQueueDamage(mem: Emulator['memory'], qh: number, d: QueueDamage): void {
  switch (d.field) {
    case 'max_slots':
      return mem.writeU32(qh + SQ.max_slots, d.value as number);
    case 'head':
      return mem.writeU32(qh + SQ.head, d.value as number);
    case 'tail':
      return mem.writeU32(qh + SQ.tail, d.value as number);
    case 'signal_size':
      return mem.writeU32(qh + SQ.signal_size, d.value as number);
    case 'sig_base_offset':
      return u64(mem, qh + SQ.sig_base_offset, BigInt.asUintN(64, BigInt(d.value as number)));
    case 'bytes': {
      const b = d.value as Uint8Array;
      const at = Math.min(d.at ?? 0, 128 - b.length);
      mem.write(qh + Math.max(0, at), b);
    }
  }
}

/** Did the guest oops on this channel (the kernel would crash; the channel is dead from then on)? */
function oopsed(w: World, channel: string): boolean {
  return w.emu.oopses.some((o) => o.channel === channel);
}

function commonChecks(w: World, label: string): void {
  assert.deepEqual(w.guard.violations, [], `${label}: accesses outside the channel`);
  assert.deepEqual(treeProblems(w.emu), [], label);
  const ok = (e: EmuEvent) => [0, -5, -11, -22].includes(e.data!.result as number) || (e.data!.result === -14 && oopsed(w, e.subject));
  const bad = w.channelEvents.filter((e) => typeof e.data?.result === 'number' && !ok(e));
  assert.deepEqual(
    bad.map((e) => e.text),
    [],
    `${label}: channel operations return 0, -EAGAIN, -EIO, -EINVAL, or -EFAULT after a reported kernel oops`,
  );
}

describe('robust: channel memory corruption', function () {
  this.timeout(120000);

  it('damaged queue headers of a device channel: the kernel arithmetic within the channel (or a reported oops), contained, the neighbour keeps working', () => {
    let failed = 0;
    let oopses = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(queueDamage, { minLength: 1, maxLength: 4 }), (queue, damage) => {
        const w = world();
        const base = w.addr.get('1:0')!;
        w.guard.unguarded(() => {
          for (const d of damage) applyQueueDamage(w.emu.memory, base + 128 + queue * 128, d as QueueDamage);
        });
        const pollsBefore = w.log.polls.get('vbus1:dev1') ?? 0;
        w.channelEvents.length = 0;
        const r = keepRunning(w);
        const label = `queue ${queue} damaged with ${JSON.stringify(damage)}`;
        commonChecks(w, label);
        assert.ok((w.log.polls.get('vbus1:dev1') ?? 0) > pollsBefore, `${label}: the healthy device is still polled`);
        assert.equal(r.echoedOnHealthy, 4, `${label}: the healthy device still echoes every signal`);
        assert.equal(r.answered, 4, `${label}: controlvm messages are still answered`);
        // max_slots 0 with a signal pending is the kernel's divide error: always an oops, never a result.
        if (oopsed(w, 'vbus1:dev0')) oopses++;
        if (w.channelEvents.some((e) => e.data?.queue === queue && (e.data.result as number) < 0)) failed++;
      }),
      { seed: SEED, numRuns: 300 },
    );
    assert.ok(failed > 50 && oopses > 10, `${failed} runs with failed operations, ${oopses} with a kernel oops`);
  });

  it('a device channel header damaged before DEVICE_CREATE: refused, unbound, or bound with refused queues — never outside the channel', () => {
    const headerDamage = fc.oneof(
      fc.record({ field: fc.constant(CH.signature), value: fc.constantFrom(0n, 0x4c4e4346n, 0x14c4e4345n, 2n ** 64n - 1n) }),
      fc.record({
        field: fc.constant(CH.size),
        value: fc.constantFrom(0n, 1n, 127n, 128n, 129n, 255n, BigInt(DEV_BYTES - 1), BigInt(DEV_BYTES + 1), 2n ** 40n, 2n ** 64n - 1n),
      }),
      fc.record({
        field: fc.constant(CH.ch_space_offset),
        value: fc.constantFrom(
          0n,
          64n,
          127n,
          129n,
          BigInt(DEV_BYTES - 128),
          BigInt(DEV_BYTES - 1),
          BigInt(DEV_BYTES),
          BigInt(DEV_BYTES + 0x1000 + 0x80),
          2n ** 31n,
          2n ** 32n + 128n,
          2n ** 63n,
        ),
      }),
      fc.record({ field: fc.constant(CH.version_id), value: fc.constantFrom(0n, 2n, 0xffffffffn) }),
      fc.record({ field: fc.constant(-1), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), at: fc.integer({ min: 0, max: 120 }) }),
    );
    let bound = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(headerDamage, { minLength: 1, maxLength: 3 }), fc.boolean(), (damage, produce) => {
        const w = world((emu, a) => {
          for (const d of damage) {
            const off = d.field >= 0 ? d.field : (d as { at: number }).at;
            if (d.field === CH.version_id) emu.memory.writeU32(a + off, Number(d.value));
            else u64(emu.memory, a + off, d.value);
          }
        }, produce);
        const label = `header damaged with ${damage.map((d) => `${d.field}=${d.value}`).join(', ')}`;
        const dev = w.emu.device(1, 0);
        if (dev?.driver) bound++;
        if (!dev) refused++;
        keepRunning(w, 3);
        commonChecks(w, label);
        assert.ok(w.emu.device(1, 1)?.driver, `${label}: the healthy device is bound`);
      }),
      { seed: SEED, numRuns: 200 },
    );
    assert.ok(bound > 10 && refused > 10, `bound ${bound}, refused ${refused}`);
  });

  it('random bytes anywhere in the first 1 KiB of a live device channel (headers, queue headers, slots)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.uint8Array({ minLength: 1, maxLength: 16 })), { minLength: 1, maxLength: 12 }),
        (writes) => {
          const w = world();
          const base = w.addr.get('1:0')!;
          w.guard.unguarded(() => {
            for (const [off, bytes] of writes) w.emu.memory.write(base + Math.min(off, 1024 - bytes.length), bytes);
          });
          const r = keepRunning(w);
          commonChecks(w, `bytes ${JSON.stringify(writes.map(([o, b]) => [o, [...b]]))}`);
          assert.equal(r.echoedOnHealthy, 4);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('damaged controlvm queue headers: refused or oopsed; after the back-end repairs them the loop answers again unless the guest oopsed', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2, 3), fc.array(queueDamage, { minLength: 1, maxLength: 3 }), (queue, damage) => {
        const w = world();
        const cv = w.emu.cp.controlvm.physaddr;
        const qh = cv + CONTROLVM_CHANNEL.request_queue + queue * 128;
        const saved = w.guard.unguarded(() => w.emu.memory.read(qh, 128));
        w.guard.unguarded(() => {
          for (const d of damage) applyQueueDamage(w.emu.memory, qh, d as QueueDamage);
        });
        const label = `controlvm queue ${queue} damaged with ${JSON.stringify(damage)}`;
        keepRunning(w, 3);
        // Repair: the back-end rewrites the queue header as it was (head = tail: empty).
        w.guard.unguarded(() => {
          w.emu.memory.write(qh, saved);
          w.emu.memory.writeU32(qh + SQ.tail, w.emu.memory.readU32(qh + SQ.head));
        });
        w.emu.advance(200);
        w.emu.cp.collect();
        const r = send(w.emu, w.emu.cp.message(CONTROLVM_ID.CHIPSET_READY));
        assert.equal(typeof r, 'object', `${label}: the EVENT queue takes messages again`);
        // An oops kills the kernel's controlvm work: nothing is answered after it, repaired or not.
        assert.equal((r as SentMessage).responses.length, oopsed(w, 'controlvm') ? 0 : 1, `${label}: answered after the repair unless oopsed`);
        commonChecks(w, label);
        assert.equal(w.emu.chipset.polling, true, `${label}: visorchipset still polls`);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('the controlvm channel replaced by garbage and restored: no crash, then business as usual', () => {
    const w = world();
    const cv = w.emu.cp.controlvm.physaddr;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (junk) => {
        w.guard.unguarded(() => w.emu.memory.write(cv + 3072, junk.subarray(0, 512)));
        w.guard.resetOps();
        w.emu.advance(20);
        w.guard.unguarded(() => {
          initControlvmChannel(w.emu.memory, cv);
          w.emu.cp.sent.clear();
        });
        const r = send(w.emu, w.emu.cp.message(CONTROLVM_ID.CHIPSET_READY).setU32(MSG.flags, 2));
        assert.equal((r as SentMessage).responses.length, 1);
        assert.deepEqual(w.guard.violations, []);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a vhba/IO-layout channel with its queue geometry pointing past the end is refused, not overrun', () => {
    const w = world((emu, a) => {
      initDeviceChannel(emu.memory, a, { typeGuid: ROBUST_GUID, size: DEV_BYTES, version: 1 });
      // Queue 1's slot array claims to start 64 bytes before the end with 128-byte slots.
      writeQueueHeader(emu.memory, a + 256, 64, 128, DEV_BYTES - 64 - 256);
    });
    keepRunning(w, 2);
    commonChecks(w, 'slot array past the end');
    const onQ1 = w.channelEvents.filter((e) => e.data?.queue === 1 && e.data?.op === 'signalinsert');
    assert.ok(onQ1.length > 0 && onQ1.every((e) => e.data!.result === -5), onQ1.map((e) => e.text).join('; '));
  });
});
