import * as assert from 'node:assert/strict';
import { drain, le16, le32, le64, put32, put64 } from './helpers/bytes';
import { RealBus, RealDevice } from './helpers/realbus';
import { createVisorhba, VisorhbaData } from '../../src/emulator/drivers/visorhba';
import { GUIDS } from '../../src/emulator/protocol/guid';
import { BlockResult } from '../../src/emulator/guest/block';
import type { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import { visorhba_queue_command, type visorhba_devdata } from '../../src/emulator/drivers/visorhba';
import { Cmdrsp, SCSI } from '../../src/emulator/drivers/uiscmdrsp';
import { SCSI_MLQUEUE_DEVICE_BUSY, ScsiCmnd, ScsiDevice } from '../../src/emulator/guest/scsihost';
import type { VisorDevice } from '../../src/emulator/visorbus/driver';

const SLOT = 1216;

interface Max {
  maxChannel?: number;
  maxId?: number;
  maxLun?: number;
  cmdPerLun?: number;
  maxIoSize?: number;
}

function setup(max: Max = {}, bytes?: number): { bus: RealBus; dev: RealDevice; peer: VisorChannel; data: VisorhbaData } {
  const bus = new RealBus();
  const dev = bus.create(2, 0, GUIDS.vhba, createVisorhba(), {
    bytes,
    prepare: (base) => {
      bus.memory.writeU32(base + 392, max.maxChannel ?? 1);
      bus.memory.writeU32(base + 396, max.maxId ?? 1);
      bus.memory.writeU32(base + 400, max.maxLun ?? 8);
      bus.memory.writeU32(base + 404, max.cmdPerLun ?? 16);
      bus.memory.writeU32(base + 408, max.maxIoSize ?? 65536);
    },
  });
  return { bus, dev, peer: bus.peer('2:0'), data: dev.driverData as VisorhbaData };
}

/** A decoded SCSI command as the IO partition sees it. */
interface Cmd {
  raw: Uint8Array;
  handle: bigint;
  cdb: Uint8Array;
  bufflen: number;
  gpi: { addr: number; len: number }[];
  dataDir: number;
  channel: number;
  id: number;
  lun: number;
}

function decode(raw: Uint8Array): Cmd {
  const n = le16(raw, 29);
  const gpi: { addr: number; len: number }[] = [];
  for (let i = 0; i < n; i++) gpi.push({ addr: Number(le64(raw, 31 + i * 16)), len: Number(le64(raw, 31 + i * 16 + 8)) });
  return {
    raw,
    handle: le64(raw, 1),
    cdb: raw.slice(9, 25),
    bufflen: le32(raw, 25),
    gpi,
    dataDir: le32(raw, 1055),
    channel: le32(raw, 1059),
    id: le32(raw, 1063),
    lun: le32(raw, 1067),
  };
}

/** The answer: the command echoed, with status fields (and data written to the guest buffers). */
function respond(
  bus: RealBus,
  peer: VisorChannel,
  c: Cmd,
  r: { data?: Uint8Array; linuxstat?: number; addlstat?: number; sense?: number[]; noDisk?: boolean; handle?: bigint } = {},
): void {
  if (r.data) {
    let off = 0;
    for (const e of c.gpi) {
      const n = Math.min(e.len, r.data.length - off);
      if (n <= 0) break;
      bus.memory.write(e.addr, r.data.subarray(off, off + n));
      off += n;
    }
  }
  const m = Uint8Array.from(c.raw);
  if (r.handle !== undefined) put64(m, 1, r.handle);
  put32(m, 1071, r.linuxstat ?? 0);
  m[1076] = r.addlstat ?? 0;
  if (r.sense) m.set(r.sense, 1077);
  put32(m, 1149, r.noDisk ? 1 : 0);
  assert.equal(peer.signalInsert(1, m), 0);
}

function inquiryData(vendor: string, model: string): Uint8Array {
  const b = new Uint8Array(36);
  b[2] = 5;
  b[4] = 31;
  for (let i = 0; i < 8; i++) b[8 + i] = vendor.padEnd(8).charCodeAt(i);
  for (let i = 0; i < 16; i++) b[16 + i] = model.padEnd(16).charCodeAt(i);
  for (let i = 0; i < 4; i++) b[32 + i] = '0001'.charCodeAt(i);
  return b;
}

/**
 * A tiny IO partition in the test: one target, the given LUNs, `sectors` each, data in
 * a Map. Answers whatever is in queue 0 now; returns the commands it saw.
 */
function serve(bus: RealBus, peer: VisorChannel, luns: number[], sectors = 2048, store = new Map<number, Uint8Array>()): Cmd[] {
  const seen: Cmd[] = [];
  for (const raw of drain(peer, 0, SLOT)) {
    const c = decode(raw);
    seen.push(c);
    if (raw[0] !== 1) continue;
    const op = c.cdb[0];
    if (c.id !== 0) {
      respond(bus, peer, c, { linuxstat: 0x00010000, addlstat: 4 });
      continue;
    }
    if (op === 0xa0) {
      const b = new Uint8Array(8 + 8 * luns.length);
      b[3] = 8 * luns.length;
      luns.forEach((l, i) => (b[9 + i * 8] = l));
      respond(bus, peer, c, { data: b });
      continue;
    }
    if (!luns.includes(c.lun)) {
      if (op === 0x12) respond(bus, peer, c, { noDisk: true });
      else respond(bus, peer, c, { linuxstat: 0x08000002, sense: [0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x25, 0] });
      continue;
    }
    switch (op) {
      case 0x12:
        respond(bus, peer, c, { data: inquiryData('TEST', `DISK${c.lun}`) });
        break;
      case 0x25: {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, sectors - 1);
        new DataView(b.buffer).setUint32(4, 512);
        respond(bus, peer, c, { data: b });
        break;
      }
      case 0x1a:
        respond(bus, peer, c, { data: Uint8Array.of(3, 0, 0, 0) });
        break;
      case 0x28: {
        const lba = new DataView(c.cdb.buffer, c.cdb.byteOffset).getUint32(2);
        const n = (c.cdb[7] << 8) | c.cdb[8];
        const out = new Uint8Array(n * 512);
        for (let i = 0; i < n; i++) out.set(store.get(lba + i) ?? new Uint8Array(512), i * 512);
        respond(bus, peer, c, { data: out });
        break;
      }
      case 0x2a: {
        const lba = new DataView(c.cdb.buffer, c.cdb.byteOffset).getUint32(2);
        const n = (c.cdb[7] << 8) | c.cdb[8];
        const buf = new Uint8Array(n * 512);
        let off = 0;
        for (const e of c.gpi) {
          buf.set(bus.memory.read(e.addr, e.len), off);
          off += e.len;
        }
        for (let i = 0; i < n; i++) store.set(lba + i, buf.slice(i * 512, i * 512 + 512));
        respond(bus, peer, c);
        break;
      }
      default:
        respond(bus, peer, c);
    }
  }
  return seen;
}

/** Serve until the scan is finished. */
function scanWith(bus: RealBus, peer: VisorChannel, luns: number[], sectors = 2048): void {
  const host = bus.guest.scsi.hostOf('2:0')!;
  for (let i = 0; i < 100 && host.scanInProgress; i++) {
    serve(bus, peer, luns, sectors);
    bus.run(10);
  }
  assert.equal(host.scanInProgress, false, 'scan finished');
}

function submit(bus: RealBus, name: string, op: 'read' | 'write' | 'flush', lba: number, sectors: number, data?: Uint8Array): BlockResult[] {
  const out: BlockResult[] = [];
  const bd = bus.guest.block.disks.get(name)!;
  bd.submit(
    { op, lba, sectors, data },
    () => bus.engine.clock.jiffies,
    1,
    (r) => out.push(r),
  );
  return out;
}

describe('visorhba', () => {
  it('claims {vhba GUID, "sparvhba", 128, 2}', () => {
    const drv = createVisorhba();
    assert.equal(drv.name, 'visorhba');
    assert.deepEqual(drv.channelTypes, [{ guid: '414815ed-c58c-11da-95a9-00e08161165f', name: 'sparvhba', minBytes: 128, version: 2 }]);
    assert.equal(typeof drv.channelInterrupt, 'function');
  });

  it('probe: host sized from vhba.max @392, features |= 0x08, polling on, scan starts with INQUIRY of LUN 0', () => {
    const bus = new RealBus();
    const dev = bus.create(2, 0, GUIDS.vhba, createVisorhba(), {
      prepare: (base) => {
        bus.memory.writeU64(base + 24, 0x40);
        for (const [off, v] of [
          [392, 3],
          [396, 2],
          [400, 4],
          [404, 7],
          [408, 1 << 20],
        ])
          bus.memory.writeU32(base + off, v);
      },
    });
    const base = dev.channel.physaddr;
    assert.equal(bus.memory.readU64(base + 24), 0x48);
    assert.equal(dev.pollActive, true);
    assert.equal(bus.kernel.cat('scsi_host', 'host0', 'can_queue'), '128\n');
    assert.equal(bus.kernel.cat('scsi_host', 'host0', 'cmd_per_lun'), '7\n');
    assert.equal(bus.kernel.cat('scsi_host', 'host0', 'sg_tablesize'), '64\n', '1 MiB / 4 KiB = 256, capped at 64');
    // visorhba_driver_template sets .name but no .proc_name: show_proc_name prints "(null)".
    assert.equal(bus.kernel.cat('scsi_host', 'host0', 'proc_name'), '(null)\n');
    const q = drain(bus.peer('2:0'), 0, SLOT).map(decode);
    assert.equal(q.length, 1, 'one command at a time while scanning');
    const c = q[0];
    // uiscmdrsp offsets (reference §7.2)
    assert.equal(c.raw[0], 1, 'cmdtype @0 = CMD_SCSI_TYPE');
    assert.equal(c.handle, 0n, 'handle @1 = pending slot 0');
    assert.equal(c.cdb[0], 0x12, 'cmnd @9 = INQUIRY');
    assert.equal(c.cdb[4], 36);
    assert.equal(c.bufflen, 36, 'bufflen @25');
    assert.equal(c.gpi.length, 1, 'guest_phys_entries @29');
    assert.equal(c.gpi[0].len, 36, 'gpi_list[0].length @39');
    assert.ok(bus.memory.isMapped(c.gpi[0].addr, 36), 'gpi_list[0].address @31 is guest memory');
    assert.equal(c.dataDir, 2, 'data_dir @1055 = FROM_DEVICE');
    assert.deepEqual([c.channel, c.id, c.lun], [0, 0, 0], 'vdest @1059/1063/1067');
  });

  it('scans LUNs with INQUIRY, REPORT LUNS, TEST UNIT READY, READ CAPACITY and MODE SENSE; disks become /sys/block/sdX', () => {
    const { bus, peer } = setup({ maxId: 2 });
    const ops: string[] = [];
    const host = bus.guest.scsi.hostOf('2:0')!;
    for (let i = 0; i < 100 && host.scanInProgress; i++) {
      for (const c of serve(bus, peer, [0, 3], 4096)) ops.push(`${c.id}:${c.lun}:${c.cdb[0].toString(16)}`);
      bus.run(10);
    }
    assert.deepEqual(ops, [
      '0:0:12',
      '0:0:0',
      '0:0:25',
      '0:0:1a',
      '0:0:a0',
      '0:3:12',
      '0:3:0',
      '0:3:25',
      '0:3:1a', // target 0
      '1:0:12', // target 1: DID_NO_CONNECT
    ]);
    assert.deepEqual([...bus.guest.block.disks.keys()], ['sda', 'sdb']);
    assert.equal(bus.kernel.cat('block', 'sda', 'size'), '4096\n');
    assert.equal(bus.kernel.cat('block', 'sda', 'device/vendor'), 'TEST    \n');
    assert.equal(bus.kernel.cat('block', 'sdb', 'device/model'), 'DISK3           \n');
    assert.equal(bus.kernel.cat('block', 'sda', 'ro'), '0\n');
  });

  it('no_disk_result: the guest synthesises the "no disk" INQUIRY answer into every SG element', () => {
    const { bus, peer } = setup();
    const host = bus.guest.scsi.hostOf('2:0')!;
    scanWith(bus, peer, [0]);
    // an INQUIRY of LUN 0 with two SG elements, answered with no_disk_result
    const sg = [
      { addr: bus.kernel.allocDma(4096, 4096), len: 20 },
      { addr: bus.kernel.allocDma(4096, 4096), len: 36 },
    ];
    const dev0 = [...host.devices.values()][0];
    let done: number | undefined;
    host.queue(dev0, Uint8Array.of(0x12, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 2, 36, sg, 0, (_c, err) => (done = err));
    const [c] = drain(peer, 0, SLOT).map(decode);
    respond(bus, peer, c, { noDisk: true });
    bus.run(10);
    assert.equal(done, 0);
    const first = bus.memory.read(sg[0].addr, 20);
    const second = bus.memory.read(sg[1].addr, 36);
    assert.equal(first[0], 0x20, 'LUN 0: DEV_DISK_CAPABLE_NOT_PRESENT');
    assert.equal(second[0], 0x20);
    assert.equal(second[2], 4);
    assert.equal(second[3], 0x10);
    assert.equal(second[4], 31);
    assert.equal(String.fromCharCode(...second.subarray(8, 27)), 'DELLPSEUDO DEVICE .');
    assert.deepEqual([...first], [...second.subarray(0, 20)], 'each element gets a copy from byte 0');
  });

  it('a response with an unknown handle stops the draining for that poll (the message is consumed)', () => {
    const { bus, peer, data } = setup();
    const [c] = drain(peer, 0, SLOT).map(decode); // the scan's first INQUIRY, slot 0
    respond(bus, peer, c, { handle: 200n });
    respond(bus, peer, c, { data: inquiryData('A', 'B') });
    bus.run(10);
    assert.equal(data.responses_stopped, 1);
    assert.equal(peer.signalEmpty(1), false, 'the good response waits for the next poll');
    assert.equal(data.pending_count, 1);
    bus.run(10);
    assert.equal(peer.signalEmpty(1), true);
    // slot 0 is free now: a second answer for it names an empty slot
    respond(bus, peer, c, { data: inquiryData('A', 'B') });
    bus.run(10);
    assert.equal(data.responses_stopped, 2);
  });

  it('NOTIFYGUEST is logged once and ignored', () => {
    const { bus, dev, peer, data } = setup();
    for (let i = 0; i < 2; i++) {
      const m = new Uint8Array(SLOT);
      m[0] = 4;
      m[1] = 1;
      peer.signalInsert(1, m);
    }
    bus.run(10);
    assert.equal(data.notifyguest_ignored, 2);
    assert.equal(dev.log.filter((l) => l.includes('ignoring unsupported NOTIFYGUEST')).length, 1);
  });

  it('block I/O round-trips through READ(10)/WRITE(10) with SG lists of 4 KiB pages', () => {
    const { bus, peer } = setup();
    scanWith(bus, peer, [0]);
    const store = new Map<number, Uint8Array>();
    const data = new Uint8Array(3 * 4096).map((_, i) => (i * 13) & 0xff);
    const w = submit(bus, 'sda', 'write', 100, 24, data);
    const seen = serve(bus, peer, [0], 2048, store);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].cdb[0], 0x2a);
    assert.equal(seen[0].gpi.length, 3);
    assert.equal(seen[0].dataDir, 1, 'TO_DEVICE');
    assert.equal(seen[0].bufflen, 3 * 4096);
    bus.run(10);
    assert.equal(w[0]?.error, 0);
    const r = submit(bus, 'sda', 'read', 100, 24);
    serve(bus, peer, [0], 2048, store);
    bus.run(10);
    assert.deepEqual(r[0].data, data);
    const stat = bus.kernel.cat('block', 'sda', 'stat').trim().split(/\s+/).map(Number);
    assert.equal(stat.length, 11);
    assert.equal(stat[0], 1, 'read I/Os');
    assert.equal(stat[2], 24, 'read sectors');
    assert.equal(stat[4], 1, 'write I/Os');
    assert.equal(stat[6], 24, 'write sectors');
  });

  it('uses at most 128 pending slots, handed out round-robin', () => {
    const { bus, peer } = setup({ cmdPerLun: 256 }, 1472 + 2 * 150 * SLOT);
    scanWith(bus, peer, [0]);
    const results: BlockResult[][] = [];
    for (let i = 0; i < 130; i++) results.push(submit(bus, 'sda', 'read', i, 1));
    const first = drain(peer, 0, SLOT).map(decode);
    assert.equal(first.length, 128);
    const handles = new Set(first.map((c) => c.handle));
    assert.equal(handles.size, 128);
    assert.ok([...handles].every((h) => h < 128n));
    // answer one: its slot is reused by the 129th command
    respond(bus, peer, first[5]);
    bus.run(10);
    const next = drain(peer, 0, SLOT).map(decode);
    assert.equal(next.length, 1);
    assert.equal(next[0].handle, first[5].handle);
    assert.equal(results[5][0]?.error, 0);
  });

  it('pause fails pending commands back with DID_RESET and completes; resume re-issues them and never completes', () => {
    const { bus, dev, peer, data } = setup();
    scanWith(bus, peer, [0]);
    const store = new Map<number, Uint8Array>();
    const payload = new Uint8Array(512).fill(0x5a);
    const w = submit(bus, 'sda', 'write', 7, 1, payload);
    const inflight = drain(peer, 0, SLOT).map(decode);
    assert.equal(inflight.length, 1);
    assert.equal(bus.pause('2:0'), 0);
    assert.deepEqual(dev.completions, [{ op: 'pause', status: 0 }]);
    assert.equal(data.serverdown, true);
    assert.equal(data.pending_count, 0);
    assert.equal(dev.pollActive, false);
    assert.equal(w.length, 0, 'not failed to the user: the mid-layer retries DID_RESET');
    bus.run(50);
    assert.equal(peer.signalEmpty(0), true, 'nothing is sent while the server is down');
    // the (now stale) answer to the first attempt arrives while paused: nobody reads it
    respond(bus, peer, inflight[0]);
    assert.equal(bus.resume('2:0'), 0);
    assert.equal(dev.completions.length, 1, 'resume never calls complete_func');
    assert.match(dev.logText(), /never calls complete_func on resume/);
    bus.run(10);
    // the stale answer named slot 0, which is now held by the re-issued write: it completes it.
    serve(bus, peer, [0], 2048, store);
    bus.run(10);
    assert.equal(w[0]?.error, 0);
    // The resume never completed, so visorchipset still holds its pending header: a later
    // CHANGESTATE is answered -EIO and never reaches the driver.
    assert.throws(() => bus.pause('2:0'), /pause\(\) was not called/);
    assert.equal(bus.emu.cp.lastResponse?.completionStatus, 5, 'EIO');
  });

  it('a command with no answer times out after 30 s: ABORT_TASK is sent, any answer counts, the command is retried', () => {
    const { bus, peer, data } = setup();
    scanWith(bus, peer, [0]);
    const w = submit(bus, 'sda', 'write', 1, 1, new Uint8Array(512).fill(1));
    const [lost] = drain(peer, 0, SLOT).map(decode);
    bus.run(30 * 1000 - 1);
    assert.equal(peer.signalEmpty(0), true);
    bus.run(2);
    const [tm] = drain(peer, 0, SLOT);
    assert.equal(tm[0], 3, 'cmdtype CMD_SCSITASKMGMT_TYPE');
    assert.equal(le32(tm, 1), 1, 'tasktype @1 = ABORT_TASK');
    assert.deepEqual([le32(tm, 5), le32(tm, 9), le32(tm, 13)], [0, 0, 0], 'vdest @5/9/13');
    const tmHandle = le64(tm, 17);
    assert.notEqual(tmHandle, lost.handle, 'the request has its own slot');
    assert.ok(le64(tm, 25) > 0n && le64(tm, 33) > 0n, 'IDR handles @25 / @33');
    const answer = Uint8Array.from(tm);
    answer[41] = 0; // TASK_MGMT_FAILED: still counts as success
    peer.signalInsert(1, answer);
    bus.run(10);
    assert.equal(data.taskmgmt.answered, 1);
    const retry = drain(peer, 0, SLOT).map(decode);
    assert.equal(retry.length, 1);
    assert.equal(retry[0].cdb[0], 0x2a);
    respond(bus, peer, retry[0]);
    bus.run(10);
    assert.equal(w[0]?.error, 0);
  });

  it('without a task-management answer the error handler escalates after 45 s to LUN_RESET, then BUS_RESET, then host reset', () => {
    const { bus, peer, data } = setup();
    scanWith(bus, peer, [0]);
    const w = submit(bus, 'sda', 'read', 1, 1);
    drain(peer, 0, SLOT);
    bus.run(30 * 1000 + 1);
    const types: number[] = [];
    for (let i = 0; i < 3; i++) {
      const tm = drain(peer, 0, SLOT);
      assert.equal(tm.length, 1);
      types.push(le32(tm[0], 1));
      bus.run(45 * 1000 + 1);
    }
    assert.deepEqual(types, [1, 3, 2], 'ABORT_TASK, LUN_RESET, BUS_RESET');
    assert.equal(data.taskmgmt.timed_out, 3);
    // host reset sends nothing and succeeds: the read is retried
    const retry = drain(peer, 0, SLOT).map(decode);
    assert.equal(retry.length, 1);
    assert.equal(retry[0].cdb[0], 0x28);
    respond(bus, peer, retry[0], { data: new Uint8Array(512) });
    bus.run(10);
    assert.equal(w[0]?.error, 0);
  });

  it('CHECK CONDITION: medium error fails the request with EIO at once; UNIT ATTENTION is retried', () => {
    const { bus, peer } = setup();
    scanWith(bus, peer, [0]);
    const r = submit(bus, 'sda', 'read', 9, 1);
    let [c] = drain(peer, 0, SLOT).map(decode);
    respond(bus, peer, c, { linuxstat: 0x08000002, sense: [0x70, 0, 3, 0, 0, 0, 9, 10, 0, 0, 0, 0, 0x11, 0] });
    bus.run(10);
    assert.equal(r[0].error, -5);
    assert.match(r[0].why ?? '', /MEDIUM ERROR \(unrecovered read error\)/);
    assert.equal(peer.signalEmpty(0), true, 'no retry');
    const r2 = submit(bus, 'sda', 'read', 9, 1);
    [c] = drain(peer, 0, SLOT).map(decode);
    respond(bus, peer, c, { linuxstat: 0x08000002, sense: [0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0] });
    bus.run(10);
    [c] = drain(peer, 0, SLOT).map(decode);
    assert.equal(c.cdb[0], 0x28, 'retried');
    respond(bus, peer, c, { data: new Uint8Array(512) });
    bus.run(10);
    assert.equal(r2[0].error, 0);
  });

  it('remove fails in-flight I/O with ENXIO and removes the block devices', () => {
    const { bus, peer } = setup();
    scanWith(bus, peer, [0]);
    const r = submit(bus, 'sda', 'read', 0, 1);
    assert.equal(drain(peer, 0, SLOT).length, 1);
    bus.destroy('2:0');
    assert.equal(r[0].error, -6);
    assert.equal(bus.guest.block.disks.size, 0);
    assert.deepEqual(bus.kernel.names('block'), []);
    assert.deepEqual(bus.kernel.names('scsi_host'), []);
  });

  it('visorhba_queue_command alone: the slot is the handle; busy (nothing sent, slot freed) when down, too many SG entries or the queue is full', () => {
    const sent: Cmdrsp[] = [];
    let queueFull = false;
    const dev = {
      channel: { signalInsert: (_q: number, m: Uint8Array) => (queueFull ? -1 : (sent.push(new Cmdrsp(m.slice())), 0)) },
    } as unknown as VisorDevice;
    const data = { serverdown: false, serverchangingstate: false, nextinsert: 0 } as VisorhbaData;
    const devdata = { dev, data, pending: new Array(128).fill(undefined), scsihost: { summary: () => ({}) } } as unknown as visorhba_devdata;
    const sdev = { channel: 0, id: 1, lun: 2, hctl: '0:0:1:2' } as ScsiDevice;
    const cmd = (sg: number): ScsiCmnd =>
      new ScsiCmnd(
        1,
        sdev,
        new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        2,
        512,
        Array.from({ length: sg }, (_, i) => ({ addr: 0x1000 * (i + 1), len: 512 })),
        5,
        () => {},
      );
    const ok = cmd(1);
    assert.equal(visorhba_queue_command(devdata, ok), 0);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].u64(SCSI.handle), 0n);
    assert.deepEqual([sent[0].u32(SCSI.vdest_id), sent[0].u32(SCSI.vdest_lun)], [1, 2]);
    assert.equal(ok.hostScribble, 0);
    assert.equal(visorhba_queue_command(devdata, cmd(65)), SCSI_MLQUEUE_DEVICE_BUSY, 'more SG entries than MAX_PHYS_INFO');
    queueFull = true;
    assert.equal(visorhba_queue_command(devdata, cmd(1)), SCSI_MLQUEUE_DEVICE_BUSY, 'queue 0 full');
    assert.equal(sent.length, 1);
    assert.deepEqual(
      devdata.pending.map((e, i) => (e ? i : -1)).filter((i) => i >= 0),
      [0],
      'busy commands leave no slot behind',
    );
    queueFull = false;
    data.serverdown = true;
    assert.equal(visorhba_queue_command(devdata, cmd(1)), SCSI_MLQUEUE_DEVICE_BUSY, 'server down');
    assert.equal(sent.length, 1);
  });
});
