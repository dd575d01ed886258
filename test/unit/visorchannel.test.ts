import * as assert from 'node:assert/strict';
import { GuestMemory } from '../../src/emulator/memory/guestmemory';
import { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import { writeChannelHeader, writeQueueHeader } from '../../src/emulator/backend/channelinit';
import { SQ } from '../../src/emulator/protocol/layout';
import type { KernelOops } from '../../src/emulator/kernel/oops';

const BASE = 0x100000;

/** A channel with one queue of `slots` 16-byte signals at 128. */
function channel(slots: number): { mem: GuestMemory; ch: VisorChannel } {
  const mem = new GuestMemory();
  mem.map(BASE, 4096, 'test');
  writeChannelHeader(mem, BASE, { typeGuid: '11111111-2222-3333-4444-555555555555', size: 4096, version: 1, chSpaceOffset: 128 });
  writeQueueHeader(mem, BASE + 128, slots, 16, 256);
  const ch = VisorChannel.create(mem, BASE, '11111111-2222-3333-4444-555555555555', 't', 'guest');
  assert.ok(ch instanceof VisorChannel);
  return { mem, ch };
}

const sig = (n: number) => new Uint8Array(16).fill(n);
const q = (mem: GuestMemory, off: number) => mem.readU32(BASE + 128 + off);

describe('visorchannel signal queues (§2.3)', () => {
  it('the first signal lands in slot 1, head and num_sent follow', () => {
    const { mem, ch } = channel(4);
    assert.equal(ch.signalInsert(0, sig(7)), 0);
    assert.equal(q(mem, SQ.head), 1);
    assert.equal(q(mem, SQ.num_sent), 1);
    assert.deepEqual(mem.read(BASE + 128 + 256 + 16, 16), sig(7));
    assert.deepEqual(mem.read(BASE + 128 + 256, 16), new Uint8Array(16), 'slot 0 stays empty');
  });

  it('a signal shorter than signal_size fills the whole slot: the bytes past it are the zeros of the padded copy', () => {
    const { mem, ch } = channel(4);
    mem.write(BASE + 128 + 256 + 16, new Uint8Array(16).fill(0xee)); // stale bytes in slot 1
    assert.equal(ch.signalInsert(0, new Uint8Array([1, 2, 3])), 0);
    const slot = mem.read(BASE + 128 + 256 + 16, 16);
    assert.deepEqual([...slot], [1, 2, 3, ...new Array(13).fill(0)]);
  });

  it('is full at max_slots - 1 and an insert then only bumps num_overflows', () => {
    const { mem, ch } = channel(4);
    for (let i = 1; i <= 3; i++) assert.equal(ch.signalInsert(0, sig(i)), 0);
    const before = mem.read(BASE + 128, 128);
    assert.equal(ch.signalInsert(0, sig(9)), -5);
    const after = mem.read(BASE + 128, 128);
    assert.equal(q(mem, SQ.num_overflows), 1);
    after.fill(0, SQ.num_overflows, SQ.num_overflows + 8);
    before.fill(0, SQ.num_overflows, SQ.num_overflows + 8);
    assert.deepEqual(after, before, 'nothing but num_overflows changes');
  });

  it('empty remove returns -EAGAIN and touches nothing (num_empty too)', () => {
    const { mem, ch } = channel(4);
    const before = mem.read(BASE + 128, 128);
    assert.equal(ch.signalRemove(0, new Uint8Array(16)), -11);
    assert.deepEqual(mem.read(BASE + 128, 128), before);
    assert.equal(ch.signalEmpty(0), true);
  });

  it('the observer hears of each operation but an empty remove; the guard is asked only while the owner is paused', () => {
    const { ch } = channel(4);
    const seen: string[] = [];
    ch.observer = (_c, op, d) => seen.push(`${op} ${d.result}`);
    const owner = { paused: false };
    ch.owner = owner;
    let asked = 0;
    ch.guard = () => {
      asked++;
      return 'touched while paused';
    };
    const violations: string[] = [];
    ch.onGuardViolation = (m) => violations.push(m);
    const out = new Uint8Array(16);
    assert.equal(ch.signalRemove(0, out), -11);
    assert.equal(ch.signalInsert(0, sig(1)), 0);
    assert.deepEqual([asked, violations], [0, []], 'a running owner: the guard is not asked');
    owner.paused = true;
    assert.equal(ch.signalRemove(0, out), 0);
    assert.equal(ch.signalRemove(0, out), -11);
    assert.deepEqual([asked, violations], [2, ['touched while paused', 'touched while paused']]);
    assert.deepEqual(seen, ['signalinsert 0', 'signalremove 0']);
  });

  it('a slot read after its memory was unmapped and mapped again shows the new page, not the old one', () => {
    const { mem, ch } = channel(4);
    const out = new Uint8Array(16);
    assert.equal(ch.signalInsert(0, sig(7)), 0);
    assert.equal(ch.signalRemove(0, out), 0);
    assert.equal(out[0], 7);
    assert.equal(ch.signalInsert(0, sig(8)), 0);
    // The same layout on fresh pages, with another signal waiting in slot 2.
    mem.unmap(BASE);
    mem.map(BASE, 4096, 'test again');
    writeChannelHeader(mem, BASE, { typeGuid: '11111111-2222-3333-4444-555555555555', size: 4096, version: 1, chSpaceOffset: 128 });
    writeQueueHeader(mem, BASE + 128, 4, 16, 256);
    mem.write(BASE + 128 + 256 + 2 * 16, sig(9));
    mem.writeU32(BASE + 128 + SQ.head, 2);
    mem.writeU32(BASE + 128 + SQ.tail, 1);
    assert.equal(ch.signalRemove(0, out), 0);
    assert.equal(out[0], 9);
  });

  it('wraps around: head and tail run modulo max_slots, order is kept', () => {
    const { mem, ch } = channel(3);
    const out = new Uint8Array(16);
    for (let i = 0; i < 10; i++) {
      assert.equal(ch.signalInsert(0, sig(i)), 0);
      assert.equal(ch.signalInsert(0, sig(100 + i)), 0);
      assert.equal(ch.signalRemove(0, out), 0);
      assert.equal(out[0], i);
      assert.equal(ch.signalRemove(0, out), 0);
      assert.equal(out[0], 100 + i);
    }
    assert.equal(q(mem, SQ.head), 20 % 3);
    assert.equal(q(mem, SQ.tail), 20 % 3);
    assert.equal(q(mem, SQ.num_sent), 20);
    assert.equal(q(mem, SQ.num_received), 20);
  });

  it('num_sent and num_received count as u64: past 2^53 by one, a carry into the high word, 2^64 - 1 wraps to 0', () => {
    const { mem, ch } = channel(8);
    const at = (f: number) => BASE + 128 + f;
    const u64 = (f: number) => (BigInt(mem.readU32(at(f) + 4)) << 32n) | BigInt(mem.readU32(at(f)));
    const set = (f: number, v: bigint) => {
      mem.writeU32(at(f), Number(v & 0xffffffffn));
      mem.writeU32(at(f) + 4, Number(v >> 32n));
    };
    // 2^53 + 1 is not a JavaScript number: a counter kept as one would go back to 2^53.
    set(SQ.num_sent, 2n ** 53n + 1n);
    assert.equal(ch.signalInsert(0, sig(1)), 0);
    assert.equal(u64(SQ.num_sent), 2n ** 53n + 2n);
    set(SQ.num_sent, 0x7_ffff_ffffn);
    assert.equal(ch.signalInsert(0, sig(2)), 0);
    assert.equal(u64(SQ.num_sent), 0x8_0000_0000n);
    set(SQ.num_received, 2n ** 64n - 1n);
    assert.equal(ch.signalRemove(0, new Uint8Array(16)), 0);
    assert.equal(u64(SQ.num_received), 0n, 'a u64 wraps');
  });

  it('writes data, then head, then num_sent (insert); tail then num_received (remove)', () => {
    const { mem, ch } = channel(4);
    const writes: [number, number][] = [];
    mem.setWriteWatcher((a, n) => writes.push([a - BASE - 128, n]));
    ch.signalInsert(0, sig(1));
    assert.deepEqual(writes, [
      [256 + 16, 16],
      [SQ.head, 4],
      [SQ.num_sent, 8],
    ]);
    writes.length = 0;
    ch.signalRemove(0, new Uint8Array(16));
    assert.deepEqual(writes, [
      [SQ.tail, 4],
      [SQ.num_received, 8],
    ]);
  });

  it('a queue header across a page boundary and signals in later pages: the same ring, the same writes seen', () => {
    const mem = new GuestMemory();
    mem.map(BASE, 3 * 4096, 'test');
    const guid = '11111111-2222-3333-4444-555555555555';
    // ch_space_offset puts the queue header 40 bytes before the end of page 0: its fields straddle pages.
    writeChannelHeader(mem, BASE, { typeGuid: guid, size: 3 * 4096, version: 1, chSpaceOffset: 4096 - 40 });
    writeQueueHeader(mem, BASE + 4096 - 40, 4, 1000, 4096);
    const ch = VisorChannel.create(mem, BASE, guid, 't', 'guest');
    assert.ok(ch instanceof VisorChannel);
    const writes: [number, number][] = [];
    mem.setWriteWatcher((a, n) => writes.push([a - BASE, n]));
    const qh = 4096 - 40;
    for (let i = 1; i <= 3; i++) assert.equal(ch.signalInsert(0, new Uint8Array(1000).fill(i)), 0);
    assert.equal(ch.signalInsert(0, new Uint8Array(1000)), -5, 'full after max_slots - 1');
    assert.deepEqual(writes.slice(0, 3), [
      [qh + 4096 + 1000, 1000],
      [qh + SQ.head, 4],
      [qh + SQ.num_sent, 8],
    ]);
    const out = new Uint8Array(1000);
    for (let i = 1; i <= 3; i++) {
      assert.equal(ch.signalRemove(0, out), 0);
      assert.deepEqual([out[0], out[999]], [i, i], `signal ${i} comes back whole`);
    }
    assert.equal(ch.signalRemove(0, out), -11);
    assert.equal(mem.readU64(BASE + qh + SQ.num_received), 3);
    assert.equal(mem.readU64(BASE + qh + SQ.num_overflows), 1);
    // The counters there are u64 too: a carry into the high word.
    mem.writeU32(BASE + qh + SQ.num_sent, 0xffffffff);
    mem.writeU32(BASE + qh + SQ.num_sent + 4, 2);
    assert.equal(ch.signalInsert(0, new Uint8Array(1000)), 0);
    assert.deepEqual([mem.readU32(BASE + qh + SQ.num_sent), mem.readU32(BASE + qh + SQ.num_sent + 4)], [0, 3]);
  });

  it('bounds-checks against the size cached at creation', () => {
    const { mem, ch } = channel(4);
    mem.writeU64(BASE + 16, 1 << 20); // the server grows size later: invisible to the guest
    assert.equal(ch.nbytes, 4096);
    assert.equal(ch.read(4090, new Uint8Array(16)), -5);
    assert.equal(ch.write(4096, new Uint8Array(1)), -5);
    assert.equal(ch.read(0, new Uint8Array(16)), 0);
  });

  it('max_slots 0: the kernel divides by zero in visorchannel_signalinsert; here a kernel oops, -EFAULT, nothing written, the channel dead', () => {
    const { mem, ch } = channel(4);
    const oopses: KernelOops[] = [];
    ch.onOops = (o) => oopses.push(o);
    mem.writeU32(BASE + 128 + SQ.max_slots, 0);
    assert.equal(ch.signalInsert(0, sig(1)), -14);
    assert.equal(oopses.length, 1);
    assert.equal(oopses[0].kind, 'divide error');
    assert.equal(oopses[0].fn, 'visorchannel_signalinsert');
    assert.deepEqual(oopses[0].header, { ch_space_offset: 128, sig_base_offset: 256, signal_size: 16, max_slots: 0, head: 0, tail: 0 });
    assert.equal(q(mem, SQ.head), 0);
    mem.writeU32(BASE + 128 + SQ.max_slots, 4);
    assert.equal(ch.signalInsert(0, sig(1)), -14, 'the context that oopsed is gone: the channel stays dead');
    assert.equal(oopses.length, 1);
    // visorchannel_signalremove on an empty queue returns before the division.
    const { mem: m2, ch: c2 } = channel(4);
    m2.writeU32(BASE + 128 + SQ.max_slots, 0);
    assert.equal(c2.signalRemove(0, new Uint8Array(16)), -11);
  });

  it('head or tail beyond max_slots: visorchannel_signalinsert/remove compute (index + 1) % max_slots on what they find', () => {
    const { mem, ch } = channel(4);
    mem.writeU32(BASE + 128 + SQ.head, 1001); // (1001 + 1) % 4 = 2
    assert.equal(ch.signalInsert(0, sig(5)), 0);
    assert.equal(q(mem, SQ.head), 2);
    assert.deepEqual(mem.read(BASE + 128 + 256 + 2 * 16, 16), sig(5));
    mem.writeU32(BASE + 128 + SQ.tail, 0xffffffff); // u32 wrap: (0xffffffff + 1) % 4 = 0
    const out = new Uint8Array(16);
    assert.equal(ch.signalRemove(0, out), 0);
    assert.equal(q(mem, SQ.tail), 0);
  });

  it('head beyond max_slots never equals tail: a drain loop over visorchannel_signalremove would spin for ever; reported as a soft lockup after one round', () => {
    const { mem, ch } = channel(4);
    const oopses: KernelOops[] = [];
    ch.onOops = (o) => oopses.push(o);
    mem.writeU32(BASE + 128 + SQ.head, 100);
    const out = new Uint8Array(16);
    const results: number[] = [];
    for (let i = 0; i < 6; i++) results.push(ch.signalRemove(0, out));
    assert.deepEqual(results, [0, 0, 0, 0, -14, -14]);
    assert.equal(oopses.length, 1);
    assert.equal(oopses[0].kind, 'soft lockup');
  });

  it('signal_size 0: visorchannel_signalinsert copies nothing and still advances head and num_sent', () => {
    const { mem, ch } = channel(4);
    mem.writeU32(BASE + 128 + SQ.signal_size, 0);
    assert.equal(ch.signalInsert(0, sig(9)), 0);
    assert.equal(q(mem, SQ.head), 1);
    assert.equal(q(mem, SQ.num_sent), 1);
    assert.deepEqual(mem.read(BASE + 128 + 256, 32), new Uint8Array(32));
  });

  it('sig_data_offset is a C int: past the channel -EIO (visorchannel_write bounds check); wrapping to just below 0 passes the check and faults', () => {
    const { mem, ch } = channel(4);
    mem.writeU64(BASE + 128 + SQ.sig_base_offset, 1 << 30);
    assert.equal(ch.signalInsert(0, sig(1)), -5);
    assert.equal(q(mem, SQ.head), 0);
    const { mem: m2, ch: c2 } = channel(4);
    const oopses: KernelOops[] = [];
    c2.onOops = (o) => oopses.push(o);
    // 128 + (2^32 - 128 - 24) + 1 * 16 = 2^32 - 8 -> int -8; (ulong)-8 + 16 wraps to 8 <= 4096.
    m2.writeU64(BASE + 128 + SQ.sig_base_offset, 2 ** 32 - 128 - 24);
    assert.equal(c2.signalInsert(0, sig(1)), -14);
    assert.equal(oopses[0].kind, 'page fault');
    assert.deepEqual(oopses[0].access, { offset: -8, length: 16, write: true, address: BASE - 8 });
    assert.equal(q(m2, SQ.head), 0);
  });

  it('a header size below 128 is accepted by visorchannel_create (visor_check_channel later refuses it)', () => {
    const mem = new GuestMemory();
    mem.map(BASE, 4096, 't');
    writeChannelHeader(mem, BASE, { typeGuid: '11111111-2222-3333-4444-555555555555', size: 64, version: 1, chSpaceOffset: 128 });
    const ch = VisorChannel.create(mem, BASE, '11111111-2222-3333-4444-555555555555', 't');
    assert.ok(ch instanceof VisorChannel);
    assert.equal(ch.nbytes, 64);
    assert.equal(ch.signalInsert(0, sig(1)), -5, 'the queue header lies past the 64 mapped bytes');
  });

  it('ch_space_offset below 128 fails every queue operation with -EINVAL, and signalempty says empty', () => {
    const mem = new GuestMemory();
    mem.map(BASE, 4096, 't');
    writeChannelHeader(mem, BASE, { typeGuid: '11111111-2222-3333-4444-555555555555', size: 4096, version: 1, chSpaceOffset: 64 });
    const ch = VisorChannel.create(mem, BASE, '11111111-2222-3333-4444-555555555555', 't') as VisorChannel;
    assert.equal(ch.signalInsert(0, sig(1)), -22);
    assert.equal(ch.signalRemove(0, new Uint8Array(16)), -22);
    assert.equal(ch.signalEmpty(0), true);
  });

  it('a write into the header also updates the cached copy', () => {
    const { ch } = channel(4);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, 0x1234, true);
    assert.equal(ch.write(48, b), 0);
    assert.equal(ch.partitionHandle, 0x1234);
  });

  it('creation fails at address 0 and on unmapped memory', () => {
    const mem = new GuestMemory();
    assert.equal(VisorChannel.create(mem, 0, 'x', 't'), 'channel address is 0');
    assert.match(String(VisorChannel.create(mem, 0x5000, 'x', 't')), /no memory/);
  });
});
