import * as assert from 'node:assert/strict';
import { drain, le16, le32, le64, put16, put32, put64 } from './helpers/bytes';
import { RealBus, RealDevice } from './helpers/realbus';
import { createVisornic, VisornicData } from '../../src/emulator/drivers/visornic';
import { GUIDS } from '../../src/emulator/protocol/guid';
import { NetDevice } from '../../src/emulator/guest/netdev';
import type { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import type { KernelBug } from '../../src/emulator/kernel/kernelbugs';
import { visornic_xmit, type visornic_devdata } from '../../src/emulator/drivers/visornic';
import { Cmdrsp, NET, NET_TYPE } from '../../src/emulator/drivers/uiscmdrsp';
import type { VisorDevice } from '../../src/emulator/visorbus/driver';
import { GuestSubsystems } from '../../src/emulator/guest/kernel';

const SLOT = 1216;
const MAC = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

/** A vnic device laid out like the IO partition does, probed by a fresh visornic. */
function setup(numRcvBufs = 32, mtu = 1500, fixes: KernelBug[] = []): { bus: RealBus; dev: RealDevice; peer: VisorChannel; nd: NetDevice; data: VisornicData } {
  const bus = new RealBus({ fixKernelBugs: fixes });
  const dev = bus.create(2, 1, GUIDS.vnic, createVisornic(), {
    prepare: (base) => {
      bus.memory.write(base + 384, Uint8Array.from(MAC));
      bus.memory.writeU32(base + 390, numRcvBufs);
      bus.memory.writeU32(base + 394, mtu);
    },
  });
  const nd = bus.guest.net.devices.get('2:1')!;
  return { bus, dev, peer: bus.peer('2:1'), nd, data: dev.driverData as VisornicData };
}

interface Post {
  cookie: bigint;
  addr: number;
  off: number;
  len: number;
  unique: bigint;
}

/** Read the guest's queue 0 the way the IO partition does. */
function takeQueue0(peer: VisorChannel): {
  posts: Post[];
  enbdis: { enable: number; context: bigint }[];
  xmits: Uint8Array[];
  promisc: number[];
  raw: Uint8Array[];
} {
  const raw = drain(peer, 0, SLOT);
  const posts: Post[] = [];
  const enbdis: { enable: number; context: bigint }[] = [];
  const xmits: Uint8Array[] = [];
  const promisc: number[] = [];
  for (const m of raw) {
    assert.equal(m[0], 2, 'cmdtype CMD_NET_TYPE');
    const type = le32(m, 1);
    if (type === 0) posts.push({ cookie: le64(m, 5), addr: Number(le64(m, 13)) * 4096 + le16(m, 21), off: le16(m, 21), len: le16(m, 23), unique: le64(m, 25) });
    else if (type === 4) enbdis.push({ enable: le16(m, 21), context: le64(m, 13) });
    else if (type === 2) xmits.push(m);
    else if (type === 6) promisc.push(le16(m, 21));
    else assert.fail(`unexpected net type ${type} on queue 0`);
  }
  return { posts, enbdis, xmits, promisc, raw };
}

function ack(peer: VisorChannel, context: bigint, enable: number): void {
  const m = new Uint8Array(SLOT);
  m[0] = 2;
  put32(m, 1, 5);
  put64(m, 13, context);
  put16(m, 21, enable);
  assert.equal(peer.signalInsert(1, m), 0);
}

function xmitDone(peer: VisorChannel, cookie: bigint, result = 0): void {
  const m = new Uint8Array(SLOT);
  m[0] = 2;
  put32(m, 1, 3);
  put64(m, 5, cookie);
  put32(m, 13, result);
  assert.equal(peer.signalInsert(1, m), 0);
}

function connectStatus(peer: VisorChannel, enable: number): void {
  const m = new Uint8Array(SLOT);
  m[0] = 2;
  put32(m, 1, 7);
  put16(m, 21, enable);
  assert.equal(peer.signalInsert(1, m), 0);
}

/** NET_RCV of `frame` into `bufs` (written into guest memory first). */
function netRcv(bus: RealBus, peer: VisorChannel, frame: Uint8Array, bufs: Post[], opts: { numrcvbufs?: number; buf?: bigint } = {}): void {
  let off = 0;
  for (const b of bufs) {
    const n = Math.min(4032, frame.length - off);
    if (n > 0) bus.memory.write(b.addr, frame.subarray(off, off + n));
    off += n;
  }
  const m = new Uint8Array(SLOT);
  m[0] = 2;
  put32(m, 1, 1);
  put64(m, 5, opts.buf ?? bufs[0].cookie);
  put32(m, 13, frame.length);
  m[17] = opts.numrcvbufs ?? bufs.length;
  bufs.forEach((b, i) => put64(m, 18 + i * 8, b.cookie));
  put64(m, 58, bufs[0]?.unique ?? 0n);
  assert.equal(peer.signalInsert(1, m), 0);
}

function frameTo(dst: number[], payload: string, src = [0x02, 0, 0, 0, 0, 9]): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 0; i < payload.length; i++) f[14 + i] = payload.charCodeAt(i);
  return f;
}

/** Bring the interface up and acknowledge the enable; returns the posted buffers. */
function up(s: ReturnType<typeof setup>): Post[] {
  assert.equal(s.nd.open(), 0);
  const q = takeQueue0(s.peer);
  assert.equal(q.enbdis.length, 1);
  ack(s.peer, q.enbdis[0].context, 1);
  s.bus.run(1);
  assert.equal(s.nd.queueStopped, false);
  return q.posts;
}

describe('visornic', () => {
  it('claims {vnic GUID, "ultravnic", 128, 2}', () => {
    const drv = createVisornic();
    assert.equal(drv.name, 'visornic');
    assert.deepEqual(drv.channelTypes, [{ guid: '8cd5994d-c58e-11da-95a9-00e08161165f', name: 'ultravnic', minBytes: 128, version: 2 }]);
    assert.equal(drv.channelInterrupt, undefined, 'this version polls with a private timer');
  });

  it('probe: MAC @384, num_rcv_bufs @390, mtu @394; features |= 0x48; queue 1 drained; netdev registered down', () => {
    const bus = new RealBus();
    const dev = bus.create(2, 1, GUIDS.vnic, createVisornic(), {
      prepare: (base) => {
        bus.memory.write(base + 384, Uint8Array.from(MAC));
        bus.memory.writeU32(base + 390, 9);
        bus.memory.writeU32(base + 394, 9000);
        bus.memory.writeU64(base + 24, 0x1);
        for (let i = 0; i < 3; i++) connectStatus(bus.peer('2:1'), 1);
      },
    });
    const base = dev.channel.physaddr;
    const peer = bus.peer('2:1');
    assert.equal(peer.signalEmpty(1), true, 'stale messages discarded at probe');
    assert.equal(bus.memory.readU64(base + 24), 0x49);
    assert.match(dev.logText(), /no interrupt function!/);
    const d = dev.driverData as VisornicData;
    assert.equal(d.num_rcv_bufs, 9);
    assert.equal(d.max_outstanding_net_xmits, 3);
    assert.equal(d.upper_threshold_net_xmits, 2);
    assert.equal(d.lower_threshold_net_xmits, 1);
    assert.equal(bus.kernel.cat('net', 'eth0', 'address'), '00:11:22:33:44:55\n');
    assert.equal(bus.kernel.cat('net', 'eth0', 'mtu'), '9000\n');
    assert.equal(bus.kernel.cat('net', 'eth0', 'operstate'), 'down\n');
    assert.equal(bus.kernel.cat('net', 'eth0', 'flags'), '0x1002\n');
    assert.equal(bus.kernel.cat('net', 'eth0', 'statistics/rx_packets'), '0\n');
  });

  it('flow-control thresholds from num_rcv_bufs (32 -> 8 / 7 / 4)', () => {
    const { data } = setup(32);
    assert.deepEqual([data.max_outstanding_net_xmits, data.upper_threshold_net_xmits, data.lower_threshold_net_xmits], [8, 7, 4]);
  });

  it('num_rcv_bufs < 6: max_t(unsigned long, 3, num_rcv_bufs / 3 - 2) wraps to 2^64 - 1 (visornic_probe), flow control off; fixKernelBugs flowControl gives 3', () => {
    const { data } = setup(5);
    assert.equal(data.max_outstanding_net_xmits, 2 ** 64 - 1);
    assert.ok(data.upper_threshold_net_xmits > 1e18 && data.lower_threshold_net_xmits > 1e18);
    const fixed = setup(5, 1500, ['flowControl']).data;
    assert.deepEqual([fixed.max_outstanding_net_xmits, fixed.upper_threshold_net_xmits, fixed.lower_threshold_net_xmits], [3, 2, 1]);
  });

  it('open posts num_rcv_bufs NET_RCV_POSTs of 4032 bytes inside one page, then NET_RCV_ENBDIS(1)', () => {
    const s = setup(16);
    assert.equal(s.nd.open(), 0);
    const q = takeQueue0(s.peer);
    assert.equal(q.posts.length, 16);
    const cookies = new Set(q.posts.map((p) => p.cookie));
    assert.equal(cookies.size, 16, 'distinct cookies');
    for (const p of q.posts) {
      assert.equal(p.len, 4032);
      assert.ok(p.off + p.len <= 4096, 'never crosses a page');
      assert.equal(p.unique, BigInt(s.data.incarnation_id));
      assert.ok(s.bus.memory.isMapped(p.addr, p.len));
    }
    // the ENBDIS comes after every post, with the netdev as context
    const last = q.raw[q.raw.length - 1];
    assert.equal(le32(last, 1), 4);
    assert.equal(le16(last, 21), 1);
    assert.notEqual(le64(last, 13), 0n);
    assert.equal(s.data.wait, 'opening');
    assert.equal(s.nd.queueStopped, true, 'no transmit before the ACK');
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'flags'), '0x1003\n');
  });

  it('a frame sent before the ACK waits in the qdisc and goes out after it', () => {
    const s = setup();
    s.nd.open();
    const q = takeQueue0(s.peer);
    assert.equal(s.nd.transmit(frameTo([2, 0, 0, 0, 0, 9], 'early')), 'queued');
    ack(s.peer, q.enbdis[0].context, 1);
    s.bus.run(1);
    const x = takeQueue0(s.peer).xmits;
    assert.equal(x.length, 1);
    assert.equal(s.data.wait, 'idle');
  });

  it('NET_XMIT layout: len @13 padded to 60, frags @21 per page piece, ethhdr @789, lincsum.valid @803 = 0', () => {
    const s = setup();
    up(s);
    const small = frameTo([2, 0, 0, 0, 0, 9], 'hi');
    assert.equal(s.nd.transmit(small), 'sent');
    const big = new Uint8Array(5000).map((_, i) => i & 0xff);
    big.set([2, 0, 0, 0, 0, 9], 0);
    assert.equal(s.nd.transmit(big), 'sent');
    const [m1, m2] = takeQueue0(s.peer).xmits;
    assert.equal(le32(m1, 13), 60);
    assert.equal(le32(m1, 17), 1);
    assert.deepEqual([...m1.subarray(789, 803)], [...small.subarray(0, 14)]);
    assert.equal(m1[803], 0);
    const addr = Number(le64(m1, 21)) * 4096 + le16(m1, 29);
    assert.equal(le16(m1, 31), 60);
    const onWire = s.bus.memory.read(addr, 60);
    assert.deepEqual([...onWire.subarray(0, small.length)], [...small]);
    assert.ok(
      onWire.subarray(small.length).every((b) => b === 0),
      'zero padding',
    );
    // 5000 bytes starting at a non-zero page offset: two pieces
    assert.equal(le32(m2, 13), 5000);
    assert.equal(le32(m2, 17), 2);
    const f0 = { addr: Number(le64(m2, 21)) * 4096 + le16(m2, 29), len: le16(m2, 31) };
    const f1 = { addr: Number(le64(m2, 33)) * 4096 + le16(m2, 41), len: le16(m2, 43) };
    assert.equal(f0.len + f1.len, 5000);
    assert.equal((f0.addr + f0.len) % 4096, 0, 'the first piece ends at a page boundary');
    const joined = new Uint8Array([...s.bus.memory.read(f0.addr, f0.len), ...s.bus.memory.read(f1.addr, f1.len)]);
    assert.deepEqual(joined, big);
    assert.equal(s.nd.stats.tx_packets, 2);
    assert.equal(s.nd.stats.tx_bytes, 5060);
  });

  it('NET_RCV delivers the frame, counts it, and re-posts a fresh buffer for it', () => {
    const s = setup();
    const posts = up(s);
    const f = frameTo(MAC, 'hello guest');
    netRcv(s.bus, s.peer, f, [posts[0]]);
    s.bus.run(1);
    assert.equal(s.nd.rx.length, 1);
    assert.deepEqual(s.nd.rx[0].frame, f);
    assert.equal(s.nd.stats.rx_packets, 1);
    assert.equal(s.nd.stats.rx_bytes, f.length);
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'statistics/rx_bytes'), `${f.length}\n`);
    const repost = takeQueue0(s.peer).posts;
    assert.equal(repost.length, 1);
    assert.notEqual(repost[0].cookie, posts[0].cookie);
    assert.equal(s.data.n_rcv1, 1);
  });

  it('a frame longer than 4032 bytes arrives chained over two buffers', () => {
    const s = setup();
    const posts = up(s);
    const f = new Uint8Array(6000).map((_, i) => (i * 7) & 0xff);
    f.set(MAC, 0);
    netRcv(s.bus, s.peer, f, [posts[0], posts[1]]);
    s.bus.run(1);
    assert.deepEqual(s.nd.rx[0].frame, f);
    assert.equal(takeQueue0(s.peer).posts.length, 2, 'both buffers replaced');
    assert.equal(s.data.n_rcv2, 1);
  });

  it('dropped receives are counted the kernel way (rx_packets first, then the reason)', () => {
    const s = setup();
    s.nd.open();
    const q = takeQueue0(s.peer);
    const posts = q.posts;
    // 1. before the ACK: counted in rx_packets, not delivered, buffer re-posted
    netRcv(s.bus, s.peer, frameTo(MAC, 'too early'), [posts[0]]);
    s.bus.run(1);
    assert.equal(s.nd.stats.rx_packets, 1);
    assert.equal(s.nd.rx.length, 0);
    assert.equal(s.data.rx_dropped_not_enabled, 1);
    ack(s.peer, q.enbdis[0].context, 1);
    s.bus.run(1);
    // 2. to another host: filtered (n_rcv_packets_not_accepted)
    netRcv(s.bus, s.peer, frameTo([0x02, 9, 9, 9, 9, 9], 'not for us'), [posts[1]]);
    // 3. broadcast: accepted
    netRcv(s.bus, s.peer, frameTo([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'everyone'), [posts[2]]);
    // 4. inconsistent: 5000 bytes claimed in one buffer
    netRcv(s.bus, s.peer, new Uint8Array(5000).fill(1), [posts[3]], { numrcvbufs: 1 });
    // 5. a cookie that is no posted buffer
    netRcv(s.bus, s.peer, frameTo(MAC, 'bogus'), [posts[4]], { buf: 0xdeadbeefn });
    s.bus.run(1);
    assert.equal(s.nd.rx.length, 1);
    assert.equal(s.nd.rx[0].type, 'broadcast');
    assert.equal(s.data.n_rcv_packets_not_accepted, 1);
    assert.equal(s.data.unknown_cookies, 1);
    assert.equal(s.nd.stats.rx_packets, 4, 'everything but the unknown cookie counted');
    assert.equal(s.nd.stats.rx_dropped, 0, 'visornic never counts rx_dropped');
    assert.match(s.dev.logText(), /FAILED to deliver rcv packet to OS/);
  });

  it('a NET_RCV whose length cannot fit its buffers is dropped without allocating it', () => {
    const s = setup();
    const posts = up(s);
    const m = new Uint8Array(SLOT);
    m[0] = 2;
    put32(m, 1, 1);
    put64(m, 5, posts[0].cookie);
    put32(m, 13, 0xfffffff0);
    m[17] = 2;
    put64(m, 18, posts[0].cookie);
    put64(m, 26, posts[1].cookie);
    assert.equal(s.peer.signalInsert(1, m), 0);
    s.bus.run(1);
    assert.equal(s.nd.rx.length, 0);
    assert.match(s.dev.logText(), /does not fit in 2 receive buffer/);
    assert.equal(takeQueue0(s.peer).posts.length, 2, 'both buffers re-posted');
  });

  it('flow control: the queue stops at the upper threshold and wakes at the lower one', () => {
    const s = setup(32); // max 8, upper 7, lower 4
    up(s);
    for (let i = 0; i < 8; i++) s.nd.transmit(frameTo([2, 0, 0, 0, 0, 9], `f${i}`));
    const sent = takeQueue0(s.peer).xmits;
    assert.equal(sent.length, 7);
    assert.equal(s.nd.queueStopped, true);
    assert.equal(s.nd.qdisc.length, 1, 'the 8th frame waits in the qdisc');
    assert.equal(s.data.flow_control_upper_hits, 1);
    for (let i = 0; i < 3; i++) xmitDone(s.peer, le64(sent[i], 5));
    s.bus.run(1);
    assert.equal(s.data.flow_control_lower_hits, 1);
    assert.equal(s.nd.qdisc.length, 0);
    assert.equal(takeQueue0(s.peer).xmits.length, 1);
    assert.equal(s.nd.stats.tx_packets, 8);
    xmitDone(s.peer, le64(sent[3], 5), 1);
    s.bus.run(1);
    assert.equal(s.data.chstat.xmit_fail, 1);
    assert.equal(s.data.chstat.got_xmit_done, 4);
  });

  it('polls every jiffy (no channel_interrupt): a response is handled within one tick', () => {
    const s = setup();
    const posts = up(s);
    netRcv(s.bus, s.peer, frameTo(MAC, 'quick'), [posts[0]]);
    s.bus.run(1);
    assert.equal(s.nd.rx.length, 1);
  });

  it('carrier is unreadable while the interface is down (carrier_show: -EINVAL unless netif_running)', () => {
    const s = setup();
    assert.throws(() => s.bus.kernel.cat('net', 'eth0', 'carrier'), /EINVAL/);
    up(s);
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'carrier'), '1\n');
  });

  it('NET_CONNECT_STATUS turns the carrier off and on', () => {
    const s = setup();
    up(s);
    connectStatus(s.peer, 0);
    s.bus.run(1);
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'carrier'), '0\n');
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'operstate'), 'down\n');
    assert.equal(s.nd.queueStopped, true);
    assert.equal(s.data.enabled, 0);
    connectStatus(s.peer, 1);
    s.bus.run(1);
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'operstate'), 'up\n');
    assert.equal(s.nd.queueStopped, false);
  });

  it('close sends NET_RCV_ENBDIS(0) and frees the buffers once acknowledged', () => {
    const s = setup();
    up(s);
    s.nd.close();
    const q = takeQueue0(s.peer);
    assert.deepEqual(
      q.enbdis.map((e) => e.enable),
      [0],
    );
    assert.equal(s.data.wait, 'closing');
    ack(s.peer, q.enbdis[0].context, 0);
    s.bus.run(1);
    assert.equal(s.data.wait, 'idle');
    assert.equal(s.data.rcvbufs_allocated, 0);
    assert.equal(s.data.napi_enabled, false);
  });

  it('a second pause returns 0 and gets no completion', () => {
    const s = setup();
    up(s);
    assert.equal(s.bus.pause('2:1'), 0);
    assert.equal(s.bus.pause('2:1'), 0);
    assert.deepEqual(s.dev.completions, [{ op: 'pause', status: 0 }], 'already down: no completion');
  });

  it('pause closes without waiting and completes; resume re-opens', () => {
    const s = setup();
    up(s);
    assert.equal(s.bus.pause('2:1'), 0);
    assert.deepEqual(s.dev.completions, [{ op: 'pause', status: 0 }]);
    assert.equal(s.data.server_down, true);
    assert.equal(s.data.chstat.sent_xmit, 0);
    const q = takeQueue0(s.peer);
    assert.deepEqual(
      q.enbdis.map((e) => e.enable),
      [0],
    );
    // the paused guest does not poll
    connectStatus(s.peer, 1);
    s.bus.run(20);
    assert.equal(s.peer.signalEmpty(1), false);
    assert.equal(s.bus.resume('2:1'), 0);
    assert.deepEqual(s.dev.completions[1], { op: 'resume', status: 0 });
    assert.equal(s.data.server_change_state, true);
    const q2 = takeQueue0(s.peer);
    assert.equal(q2.posts.length, 32);
    assert.deepEqual(
      q2.enbdis.map((e) => e.enable),
      [1],
    );
    // until the ACK the driver refuses transmits (busy_cnt)
    s.nd.transmit(frameTo([2, 0, 0, 0, 0, 9], 'x'));
    assert.equal(s.data.busy_cnt, 1);
    assert.equal(s.bus.resume('2:1'), -22, 'resume while changing state');
    ack(s.peer, q2.enbdis[0].context, 1);
    s.bus.run(1);
    assert.equal(s.data.server_down, false);
    assert.equal(s.data.server_change_state, false);
    assert.equal(s.nd.queueStopped, false);
  });

  it('resume of a device that is not down completes at once', () => {
    const s = setup();
    assert.equal(s.bus.resume('2:1'), 0);
    assert.deepEqual(s.dev.completions, [{ op: 'resume', status: 0 }]);
  });

  it('promiscuous mode and MTU through sysfs: NET_RCV_PROMISC, and MTU changes refused', () => {
    const s = setup();
    up(s);
    s.bus.kernel.echo('net', 'eth0', 'flags', '0x1103');
    // visornic_set_multi: enbdis.enable = netdev->flags & IFF_PROMISC.
    assert.deepEqual(takeQueue0(s.peer).promisc, [0x100]);
    assert.equal(s.bus.kernel.cat('net', 'eth0', 'flags'), '0x1103\n');
    assert.throws(() => s.bus.kernel.echo('net', 'eth0', 'mtu', '9000'), /EINVAL/);
    s.bus.kernel.echo('net', 'eth0', 'flags', '0x1002');
    assert.equal(s.nd.up, false);
  });

  it('fixKernelBugs promiscEnable: NET_RCV_PROMISC enable is 1 / 0', () => {
    const s = setup(32, 1500, ['promiscEnable']);
    up(s);
    s.bus.kernel.echo('net', 'eth0', 'flags', '0x1103');
    s.bus.kernel.echo('net', 'eth0', 'flags', '0x1003');
    assert.deepEqual(takeQueue0(s.peer).promisc, [1, 0]);
  });

  it('NET_RCV_ENBDIS reuses the never-cleared devdata->cmdrsp_rcv of post_skb: net.buf and rcvpost bytes are stale (fixKernelBugs staleCmdrsp clears them)', () => {
    for (const fixed of [false, true]) {
      const s = setup(16, 1500, fixed ? ['staleCmdrsp'] : []);
      assert.equal(s.nd.open(), 0);
      const q = takeQueue0(s.peer);
      const lastPost = q.posts[q.posts.length - 1];
      const en = q.raw[q.raw.length - 1];
      assert.equal(le32(en, 1), 4, 'NET_RCV_ENBDIS');
      assert.equal(le64(en, 5), fixed ? 0n : lastPost.cookie, 'net.buf');
      assert.equal(le16(en, 23), fixed ? 0 : lastPost.len, 'rcvpost.frag.pi_len');
      assert.equal(le64(en, 25), fixed ? 0n : lastPost.unique, 'rcvpost.unique_num');
    }
  });

  it('remove unregisters the netdev and frees every buffer', () => {
    const s = setup();
    up(s);
    const before = s.bus.kernel.dmaInUse;
    assert.ok(before >= 32);
    s.bus.destroy('2:1');
    assert.equal(s.bus.kernel.names('net').length, 0);
    assert.equal(s.bus.guest.net.devices.size, 0);
    assert.equal(s.bus.kernel.dmaInUse, 0);
  });

  describe('visornic_xmit alone', () => {
    /** A devdata over a stub kernel and channel that records what goes out on queue 0. */
    function xmitSetup(): { devdata: visornic_devdata; sent: Cmdrsp[]; written: Map<number, Uint8Array> } {
      const sent: Cmdrsp[] = [];
      const written = new Map<number, Uint8Array>();
      let next = 0x100000;
      const kernel = {
        allocDma: (bytes: number) => ((next += Math.ceil(bytes / 4096) * 4096 + 4096), next),
        freeDma: () => {},
        guest: new GuestSubsystems(),
        memory: { write: (a: number, d: Uint8Array) => written.set(a, d.slice()) },
      };
      const dev = {
        kernel,
        channel: { signalInsert: (_q: number, m: Uint8Array) => (sent.push(new Cmdrsp(m.slice())), 0) },
        info: () => {},
        err: () => {},
      } as unknown as VisorDevice;
      const netdev = {
        name: 'eth0',
        queueStopped: false,
        carrier: true,
        stats: { tx_packets: 0, tx_bytes: 0 },
        stopQueue() {
          this.queueStopped = true;
        },
      };
      const data = {
        server_down: false,
        server_change_state: false,
        busy_cnt: 0,
        chstat: { sent_xmit: 0, got_xmit_done: 0, reject_count: 0 },
        max_outstanding_net_xmits: 3,
        upper_threshold_net_xmits: 2,
        flow_control_upper_hits: 0,
      } as unknown as VisornicData;
      const devdata = { dev, data, netdev, pool: [], rcvbuf: [], rcvByCookie: new Map(), xmitByCookie: new Map() } as unknown as visornic_devdata;
      return { devdata, sent, written };
    }

    it('pads a short frame to 60 bytes in DMA memory and sends one NET_XMIT fragment with its Ethernet header', () => {
      const { devdata, sent, written } = xmitSetup();
      const frame = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
      visornic_xmit(devdata, frame);
      assert.equal(sent.length, 1);
      const m = sent[0];
      assert.equal(m.u32(NET.type), NET_TYPE.XMIT);
      assert.equal(m.i32(NET.xmt_len), 60);
      assert.equal(m.i32(NET.xmt_num_frags), 1);
      assert.equal(m.u16(NET.xmt_frags + 10), 60);
      assert.deepEqual([...m.slice(NET.xmt_ethhdr, 14)], [...frame.subarray(0, 14)]);
      const addr = m.u64n(NET.xmt_frags) * 4096 + m.u16(NET.xmt_frags + 8);
      assert.deepEqual([...written.get(addr)!], [...frame, ...new Array(40).fill(0)]);
      assert.equal(devdata.netdev.stats.tx_packets, 1);
    });

    it('splits a frame at 4 KiB page boundaries, drops runts into busy_cnt and stops the queue at the upper threshold', () => {
      const { devdata, sent } = xmitSetup();
      visornic_xmit(devdata, new Uint8Array(5000));
      const m = sent[0];
      assert.equal(m.i32(NET.xmt_num_frags), 2);
      const first = m.u16(NET.xmt_frags + 10);
      const second = m.u16(NET.xmt_frags + NET.phys_info_size + 10);
      assert.equal(first + second, 5000);
      assert.equal(m.u16(NET.xmt_frags + 8) + first, 4096, 'the first piece ends at the page end');
      visornic_xmit(devdata, new Uint8Array(10));
      assert.equal(sent.length, 1, 'a frame shorter than an Ethernet header is not sent');
      assert.equal(devdata.data.busy_cnt, 1);
      assert.equal(devdata.netdev.queueStopped, false);
      visornic_xmit(devdata, new Uint8Array(64));
      assert.equal(devdata.netdev.queueStopped, true, 'two outstanding transmits reach upper_threshold_net_xmits');
      assert.equal(devdata.data.flow_control_upper_hits, 1);
      visornic_xmit(devdata, new Uint8Array(64));
      assert.equal(sent.length, 2, 'nothing goes out while the queue is stopped');
      assert.equal(devdata.data.busy_cnt, 2);
    });
  });
});
