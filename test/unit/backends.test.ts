import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { drain, le16, le32, le64, put16, put32, put64 } from './helpers/bytes';
import { RealBus } from './helpers/realbus';
import { createVisorhba, VisorhbaData } from '../../src/emulator/drivers/visorhba';
import { createVisornic, VisornicData } from '../../src/emulator/drivers/visornic';
import { createVisorinput } from '../../src/emulator/drivers/visorinput';
import { BUILTIN_DRIVERS, MODULE_ALIASES } from '../../src/emulator/drivers';
import { createBackends, IoPartitionDisk, IoPartitionNetwork, ConsolePartition } from '../../src/emulator/backend';
import { GUIDS } from '../../src/emulator/protocol/guid';
import { BlockResult } from '../../src/emulator/guest/block';
import { cdbReadWrite } from '../../src/emulator/guest/scsi';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-backends-'));
}

/** A vhba on bus 2 with the disk back-end and one LUN backed by `image`, scanned. */
function diskSetup(dir: string, image = 'disk.img', size: string | number = '1M', bytes?: number): { bus: RealBus; disk: IoPartitionDisk } {
  const bus = new RealBus();
  const disk = new IoPartitionDisk();
  bus.addBackend(disk);
  bus.create(2, 0, GUIDS.vhba, createVisorhba(), { bytes });
  bus.command('disk', '2:0', 'attach', [], { lun: 0, image, size }, dir);
  bus.runUntil(() => !bus.guest.scsi.hostOf('2:0')!.scanInProgress, 2000);
  assert.ok(bus.guest.block.disks.get('sda'), 'sda appeared');
  return { bus, disk };
}

function io(bus: RealBus, op: 'read' | 'write' | 'flush', lba: number, sectors: number, data?: Uint8Array): BlockResult[] {
  const out: BlockResult[] = [];
  bus.guest.block.disks.get('sda')!.submit(
    { op, lba, sectors, data },
    () => bus.engine.clock.jiffies,
    1,
    (r) => out.push(r),
  );
  return out;
}

function sector(text: string): Uint8Array {
  const b = new Uint8Array(512);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
  return b;
}

function fileText(file: string, offset: number, len: number): string {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(len);
  fs.readSync(fd, b, 0, len, offset);
  fs.closeSync(fd);
  return b.toString('latin1').replace(/\0+$/, '');
}

describe('service-partition back-ends', () => {
  describe('registries', () => {
    it("BUILTIN_DRIVERS make fresh drivers; MODULE_ALIASES are the seed documentation's four aliases", () => {
      assert.deepEqual(Object.keys(BUILTIN_DRIVERS).sort(), ['visorhba', 'visorinput', 'visornic']);
      const a = BUILTIN_DRIVERS.visorhba();
      const b = BUILTIN_DRIVERS.visorhba();
      assert.notEqual(a, b);
      assert.equal(a.name, 'visorhba');
      assert.deepEqual(MODULE_ALIASES, {
        'visorbus:414815ed-c58c-11da-95a9-00e08161165f': 'visorhba',
        'visorbus:8cd5994d-c58e-11da-95a9-00e08161165f': 'visornic',
        'visorbus:c73416d0-b0b8-44af-b304-9d2ae99f1b3d': 'visorinput',
        'visorbus:addf07d4-94a9-46e2-81c3-61abcdbdbd87': 'visorinput',
      });
    });

    it('createBackends gives fresh back-ends for disk/fault, net/fault and keyboard/mouse/input', () => {
      const x = createBackends();
      const y = createBackends();
      assert.notEqual(x[0], y[0]);
      assert.deepEqual(
        x.map((b) => [...b.families]),
        [
          ['disk', 'fault'],
          ['net', 'fault'],
          ['keyboard', 'mouse', 'input'],
        ],
      );
      assert.ok(x[0] instanceof IoPartitionDisk && x[1] instanceof IoPartitionNetwork && x[2] instanceof ConsolePartition);
      assert.deepEqual([...x[0].typeGuids], [GUIDS.vhba]);
      assert.deepEqual([...x[1].typeGuids], [GUIDS.vnic]);
      assert.deepEqual([...x[2].typeGuids], [GUIDS.keyboard, GUIDS.mouse]);
    });
  });

  describe('the back-ends speak the reference layouts (the test is the guest, byte by byte)', () => {
    const SLOT = 1216;

    it('disk back-end: SCSI answers carry handle @1, linuxstat @1071, scsistat @1075, addlstat @1076, sensebuf @1077, no_disk_result @1149', () => {
      const dir = tmpDir();
      const bus = new RealBus();
      bus.addBackend(new IoPartitionDisk());
      bus.create(2, 0, GUIDS.vhba, undefined);
      bus.command('disk', '2:0', 'attach', [], { lun: 0, image: 'raw.img', size: '64k' }, dir);
      fs.writeSync(fs.openSync(path.join(dir, 'raw.img'), 'r+'), Buffer.from('on the platter'), 0, 14, 512);
      const peer = bus.peer('2:0');
      const buf = bus.kernel.allocDma(4096, 4096);
      const cmd = (handle: number, cdb: number[], lun: number, bufflen: number): Uint8Array => {
        const m = new Uint8Array(SLOT);
        m[0] = 1;
        put64(m, 1, handle);
        m.set(cdb, 9);
        put32(m, 25, bufflen);
        m[29] = bufflen ? 1 : 0;
        put64(m, 31, buf);
        put64(m, 39, bufflen);
        put32(m, 1055, bufflen ? 2 : 3);
        put32(m, 1067, lun);
        return m;
      };
      assert.equal(peer.signalInsert(0, cmd(17, [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0], 0, 512)), 0); // READ(10) LBA 1
      assert.equal(peer.signalInsert(0, cmd(18, [0x28, 0, 0, 0, 1, 0, 0, 0, 1, 0], 0, 512)), 0); // LBA 256: out of range
      assert.equal(peer.signalInsert(0, cmd(19, [0x12, 0, 0, 0, 36, 0], 4, 36)), 0); // INQUIRY of a missing LUN
      bus.run(1);
      const [ok, bad, nodisk] = drain(peer, 1, SLOT);
      assert.equal(le64(ok, 1), 17n);
      assert.equal(le32(ok, 1071), 0);
      assert.equal(
        bus.memory.read(buf, 14).reduce((t, c) => t + String.fromCharCode(c), ''),
        'on the platter',
      );
      assert.equal(le64(bad, 1), 18n);
      assert.equal(le32(bad, 1071), 0x08000002, 'DRIVER_SENSE | CHECK CONDITION');
      assert.equal(bad[1075], 2, 'scsistat');
      assert.equal(bad[1077], 0xf0, 'fixed sense, valid information');
      assert.equal(bad[1077 + 2], 5, 'ILLEGAL REQUEST');
      assert.equal(bad[1077 + 12], 0x21, 'LBA out of range');
      assert.equal(le32(bad, 1077 + 3) >>> 0, 0x00010000, 'information = LBA 256 (big-endian)');
      assert.equal(le64(nodisk, 1), 19n);
      assert.equal(le32(nodisk, 1149), 1, 'no_disk_result');
      // up to max_io_size (256 KiB) in one command is fine; more is ILLEGAL REQUEST / invalid field in CDB
      assert.equal(peer.signalInsert(0, cmd(21, [0x28, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0], 0, 512)), 0); // 127 blocks
      bus.run(1);
      const [small] = drain(peer, 1, SLOT);
      assert.equal(le32(small, 1071), 0);
      fs.ftruncateSync(fs.openSync(path.join(dir, 'raw.img'), 'r+'), 64 * 1024 * 1024);
      bus.command('disk', '2:0', 'attach', [], { lun: 2, image: 'raw.img' }, dir);
      assert.equal(peer.signalInsert(0, cmd(22, [0x28, 0, 0, 0, 0, 0, 0, 0x04, 0x01, 0], 2, 512)), 0); // 1025 blocks
      bus.run(1);
      const [notify, big] = drain(peer, 1, SLOT);
      assert.deepEqual([notify[0], notify[1], le32(notify, 18)], [4, 1, 2], 'NOTIFYGUEST: add @1, lun @18 (LUN attached after the scan)');
      assert.equal(le64(big, 1), 22n);
      assert.equal(big[1077 + 2], 5);
      assert.equal(big[1077 + 12], 0x24);
      // A target with no disks: DID_NO_CONNECT, addlstat ADDL_SEL_TIMEOUT
      const t1 = cmd(20, [0x12, 0, 0, 0, 36, 0], 0, 36);
      put32(t1, 1063, 3);
      peer.signalInsert(0, t1);
      bus.run(1);
      const [none] = drain(peer, 1, SLOT);
      assert.equal(le32(none, 1071), 0x00010000);
      assert.equal(none[1076], 4);
      // Task management: handles echoed, result @41 = TASK_MGMT_SUCCESS
      const tm = new Uint8Array(SLOT);
      tm[0] = 3;
      put32(tm, 1, 1);
      put64(tm, 17, 99);
      put64(tm, 25, 7);
      put64(tm, 33, 8);
      peer.signalInsert(0, tm);
      bus.run(1);
      const [tma] = drain(peer, 1, SLOT);
      assert.deepEqual([tma[0], le64(tma, 17), le64(tma, 25), le64(tma, 33), tma[41]], [3, 99n, 7n, 8n, 1]);
      // vhba.max @392..408
      const b = bus.dev('2:0').channel.physaddr;
      assert.equal(bus.memory.readU32(b + 400), 64);
    });

    it('network back-end: NET_RCV_ENBDIS_ACK, NET_RCV and NET_XMIT_DONE at the reference offsets', () => {
      const bus = new RealBus();
      bus.addBackend(new IoPartitionNetwork());
      bus.create(2, 1, GUIDS.vnic, undefined);
      const peer = bus.peer('2:1');
      const base = bus.dev('2:1').channel.physaddr;
      assert.deepEqual([...bus.memory.read(base + 384, 6)], [0x02, 0x53, 0x50, 0x02, 0x00, 0x01], 'macaddr @384');
      assert.equal(bus.memory.readU32(base + 390), 32, 'num_rcv_bufs @390');
      assert.equal(bus.memory.readU32(base + 394), 1500, 'mtu @394');
      const pages = [bus.kernel.allocDma(4096, 4096), bus.kernel.allocDma(4096, 4096)];
      pages.forEach((p, i) => {
        const m = new Uint8Array(SLOT);
        m[0] = 2;
        put32(m, 1, 0); // NET_RCV_POST
        put64(m, 5, 0xffff8880aa000000n + BigInt(i));
        put64(m, 13, p / 4096);
        put16(m, 21, 0);
        put16(m, 23, 4032);
        put64(m, 25, 0x1234n);
        assert.equal(peer.signalInsert(0, m), 0);
      });
      const en = new Uint8Array(SLOT);
      en[0] = 2;
      put32(en, 1, 4);
      put64(en, 13, 0xffff888100001000n);
      put16(en, 21, 1);
      peer.signalInsert(0, en);
      bus.run(1);
      const [ackm] = drain(peer, 1, SLOT);
      assert.deepEqual([ackm[0], le32(ackm, 1), le64(ackm, 13), le16(ackm, 21)], [2, 5, 0xffff888100001000n, 1]);
      bus.command('net', '2:1', 'send', ['hex:' + '02535002000102535041520108004500' + 'ab'.repeat(5000)]);
      const [rcv] = drain(peer, 1, SLOT);
      assert.equal(le32(rcv, 1), 1, 'NET_RCV');
      assert.equal(le64(rcv, 5), 0xffff8880aa000000n, 'buf = rcvbuf[0]');
      assert.equal(le32(rcv, 13), 5016, 'rcv_done_len');
      assert.equal(rcv[17], 2, 'numrcvbufs');
      assert.equal(le64(rcv, 18), 0xffff8880aa000000n);
      assert.equal(le64(rcv, 26), 0xffff8880aa000001n);
      assert.equal(le64(rcv, 58), 0x1234n, 'unique_num');
      assert.equal(le32(rcv, 66), 0, 'rcvs_dropped_delta');
      assert.equal(bus.memory.readU8(pages[1] + 4032 - 4032), 0xab, 'the chain continues in the second buffer');
      // a transmit: frags @21 (pfn, off, len), len @13, num_frags @17 -> NET_XMIT_DONE buf @5, result @13
      const frame = bus.kernel.allocDma(4096, 4096);
      bus.memory.write(
        frame,
        Uint8Array.from({ length: 60 }, (_, i) => i),
      );
      const x = new Uint8Array(SLOT);
      x[0] = 2;
      put32(x, 1, 2);
      put64(x, 5, 0xffff8880bb000000n);
      put32(x, 13, 60);
      put32(x, 17, 1);
      put64(x, 21, frame / 4096);
      put16(x, 29, 0);
      put16(x, 31, 60);
      peer.signalInsert(0, x);
      bus.run(1);
      const [done] = drain(peer, 1, SLOT);
      assert.deepEqual([le32(done, 1), le64(done, 5), le32(done, 13)], [3, 0xffff8880bb000000n, 0]);
      assert.equal(bus.counters()['net 2:1 wire_tx_bytes'], 60);
    });
  });

  describe('IO partition: disks', () => {
    it('writes vhba.max for the guest: 1 channel, 1 target, 64 LUNs, 32 per LUN, 256 KiB', () => {
      const bus = new RealBus();
      bus.addBackend(new IoPartitionDisk());
      const dev = bus.create(2, 0, GUIDS.vhba, createVisorhba());
      const b = dev.channel.physaddr;
      assert.deepEqual(
        [392, 396, 400, 404, 408].map((o) => bus.memory.readU32(b + o)),
        [1, 1, 64, 32, 262144],
      );
      assert.deepEqual((dev.driverData as VisorhbaData).max, { max_channel: 1, max_id: 1, max_lun: 64, cmd_per_lun: 32, max_io_size: 262144 });
    });

    it('creates a missing image sparse, relative to the scenario folder, and the guest sees its size', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir, 'sub.img', '2M');
      const st = fs.statSync(path.join(dir, 'sub.img'));
      assert.equal(st.size, 2 * 1024 * 1024);
      assert.ok(st.blocks * 512 < st.size, 'sparse');
      assert.equal(bus.kernel.cat('block', 'sda', 'size'), '4096\n');
      assert.equal(bus.kernel.cat('block', 'sda', 'device/vendor'), 'UNISYS  \n');
      assert.equal(bus.kernel.cat('block', 'sda', 'device/model'), 'VIRTUAL DISK    \n');
      assert.equal(bus.counters()['disk 2:0 lun=0 block'], 'sda');
    });

    it('disk data round-trips through the image file and survives device destroy and re-create', () => {
      const dir = tmpDir();
      const { bus, disk } = diskSetup(dir);
      const file = path.join(dir, 'disk.img');
      const w = io(bus, 'write', 8, 1, sector('hello, visorhba'));
      bus.run(30);
      assert.equal(w[0]?.error, 0);
      assert.equal(fileText(file, 8 * 512, 512), 'hello, visorhba', 'on disk as soon as it is acknowledged');
      bus.destroy('2:0');
      assert.equal(fileText(file, 8 * 512, 512), 'hello, visorhba');
      // the same device number again: the configuration is still there
      bus.create(2, 0, GUIDS.vhba, createVisorhba());
      bus.command('disk', '2:0', 'attach', [], { lun: 0, image: 'disk.img' }, dir); // idempotent
      bus.runUntil(() => !bus.guest.scsi.hostOf('2:0')!.scanInProgress, 2000);
      const r = io(bus, 'read', 8, 1);
      bus.run(30);
      assert.equal(r[0]?.error, 0);
      assert.equal(String.fromCharCode(...r[0].data!.subarray(0, 15)), 'hello, visorhba');
      assert.equal(bus.counters()['disk 2:0 lun=0 lastread'], 'hello, visorhba');
      disk.shutdown();
    });

    it('scenario-level disk commands: write / read / flush through the guest, counters', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('disk', '2:0', 'write', ['second sector'], { lun: 0, lba: 1 });
      bus.command('disk', '2:0', 'read', [], { lun: 0, lba: 1, count: 1 });
      bus.command('disk', '2:0', 'flush', [], { lun: 0 });
      bus.run(50);
      const c = bus.counters();
      assert.equal(c['disk 2:0 lun=0 lastread'], 'second sector');
      assert.equal(c['disk 2:0 lun=0 writes'], 1);
      assert.equal((c['disk 2:0 lun=0 reads'] as number) >= 1, true);
      assert.equal(c['disk 2:0 lun=0 flushes'], 1);
      assert.equal(c['disk 2:0 lun=0 lasterror'], '0');
      assert.equal(fileText(path.join(dir, 'disk.img'), 512, 512), 'second sector');
    });

    it('a disk command issued while the scan runs waits for it', () => {
      const dir = tmpDir();
      const bus = new RealBus();
      bus.addBackend(new IoPartitionDisk());
      bus.create(2, 0, GUIDS.vhba, createVisorhba());
      bus.command('disk', '2:0', 'attach', [], { lun: 0, image: 'early.img', size: '64k' }, dir);
      bus.command('disk', '2:0', 'write', ['early bird'], { lun: 0, lba: 0 });
      bus.run(200);
      assert.equal(fileText(path.join(dir, 'early.img'), 0, 512), 'early bird');
    });

    it('clear errors for a missing directory, a directory as image, an empty image, a LUN with another image', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      assert.throws(() => bus.command('disk', '2:0', 'attach', [], { lun: 1, image: 'nope/x.img' }, dir), /directory .*nope does not exist/);
      assert.throws(() => bus.command('disk', '2:0', 'attach', [], { lun: 1, image: '.' }, dir), /is not a regular file/);
      fs.writeFileSync(path.join(dir, 'empty.img'), '');
      assert.throws(() => bus.command('disk', '2:0', 'attach', [], { lun: 1, image: 'empty.img' }, dir), /empty/);
      assert.throws(() => bus.command('disk', '2:0', 'attach', [], { lun: 0, image: 'other.img' }, dir), /already has image/);
      assert.throws(() => bus.command('disk', '2:0', 'read', [], { lun: 5, lba: 0, count: 1 }), /no disk for 2:0 LUN 5/);
      assert.throws(() => bus.command('net', '2:0', 'send', ['x']), /no back-end for net/);
    });

    it('a read-only image is refused with a clear error', function () {
      const dir = tmpDir();
      fs.chmodSync(dir, 0o755);
      const file = path.join(dir, 'ro.img');
      fs.writeFileSync(file, Buffer.alloc(4096));
      fs.chmodSync(file, 0o444);
      const attempt = `
        const { RealBus } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'realbus.js'))});
        const { IoPartitionDisk } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'emulator', 'backend', 'iopartition-disk.js'))});
        const { createVisorhba } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'emulator', 'drivers', 'visorhba.js'))});
        const bus = new RealBus();
        bus.addBackend(new IoPartitionDisk());
        bus.create(2, 0, '414815ed-c58c-11da-95a9-00e08161165f', createVisorhba());
        try { bus.command('disk', '2:0', 'attach', [], { lun: 0, image: 'ro.img' }, ${JSON.stringify(dir)}); console.log('ATTACHED'); }
        catch (e) { console.log('ERROR ' + e.message); }`;
      // Root may write a 0444 file, so the check runs as an unprivileged user when we are root.
      const asRoot = process.getuid?.() === 0;
      const r = spawnSync(process.execPath, ['-e', attempt], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      if (r.error && asRoot) this.skip(); // cannot change user here
      assert.match(r.stdout, /ERROR disk attach: image .*ro\.img is read-only \(EACCES\)/, r.stderr);
    });

    it('LBA out of range and unsupported opcodes get ILLEGAL REQUEST sense; the guest fails them with EIO', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir, 'disk.img', '64k');
      const host = bus.guest.scsi.hostOf('2:0')!;
      const sdev = [...host.devices.values()][0];
      const results: { err: number; why: string; sense: number[] }[] = [];
      const sg = [{ addr: bus.kernel.allocDma(4096, 4096), len: 512 }];
      host.queue(sdev, cdbReadWrite(false, 500, 1), 2, 512, sg, 5, (c, err, why) => results.push({ err, why, sense: [...c.sense.subarray(0, 14)] }));
      const bad = new Uint8Array(16);
      bad[0] = 0xc0;
      host.queue(sdev, bad, 3, 0, [], 5, (c, err, why) => results.push({ err, why, sense: [...c.sense.subarray(0, 14)] }));
      bus.run(30);
      assert.equal(results.length, 2);
      assert.equal(results[0].err, -5);
      assert.match(results[0].why, /ILLEGAL REQUEST \(logical block address out of range\)/);
      assert.equal(results[0].sense[2], 5);
      assert.equal(results[0].sense[12], 0x21);
      assert.match(results[1].why, /ILLEGAL REQUEST \(invalid command operation code\)/);
      assert.equal((bus.counters()['disk 2:0 commands'] as number) > 0, true);
    });

    it('fault medium-error: the read fails with EIO at once (no retry)', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'medium-error', [], { lun: 0, lba: 3 });
      const before = bus.counters()['disk 2:0 lun=0 commands'] as number;
      const r = io(bus, 'read', 2, 4);
      bus.run(50);
      assert.equal(r[0].error, -5);
      assert.match(r[0].why ?? '', /MEDIUM ERROR/);
      assert.equal((bus.counters()['disk 2:0 lun=0 commands'] as number) - before, 1);
      const ok = io(bus, 'read', 2, 4);
      bus.run(30);
      assert.equal(ok[0].error, 0, 'one-shot fault');
    });

    it('fault backend-error: DID_ERROR is retried and the write then succeeds', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'backend-error', [], { count: 2 });
      const w = io(bus, 'write', 0, 1, sector('after retries'));
      bus.run(100);
      assert.equal(w[0].error, 0);
      assert.equal(bus.counters()['disk 2:0 lun=0 writes'], 1);
      assert.equal(fileText(path.join(dir, 'disk.img'), 0, 512), 'after retries');
      assert.equal(bus.guest.scsi.hostOf('2:0')!.stats.retries, 2);
    });

    it('fault backend-error more often than sd retries: the write fails with EIO', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'backend-error', [], { count: 10 });
      const w = io(bus, 'write', 0, 1, sector('never'));
      bus.run(200);
      assert.equal(w[0].error, -5);
      assert.match(w[0].why ?? '', /out of retries/);
    });

    it('fault lost-response, then pause: the command is failed back with DID_RESET and completes after the resume', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'lost-response', [], { lun: 0 });
      const w = io(bus, 'write', 5, 1, sector('kept'));
      bus.run(100);
      assert.equal(w.length, 0, 'still pending');
      assert.equal((bus.dev('2:0').driverData as VisorhbaData).pending_count, 1);
      assert.equal(bus.counters()['disk 2:0 lost'], 1);
      bus.pause('2:0');
      bus.resume('2:0');
      bus.run(50);
      assert.equal(w[0]?.error, 0);
      assert.equal(fileText(path.join(dir, 'disk.img'), 5 * 512, 512), 'kept');
    });

    it('fault lost-response without a pause: the guest aborts it after its 30 s time-out and retries', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'lost-response', []);
      const w = io(bus, 'write', 6, 1, sector('eventually'));
      bus.run(29000);
      assert.equal(w.length, 0);
      bus.run(2000);
      assert.equal(w[0]?.error, 0);
      assert.equal(bus.counters()['disk 2:0 taskmgmt'], 1);
      assert.equal(fileText(path.join(dir, 'disk.img'), 6 * 512, 512), 'eventually');
    });

    it('fault timeout: the back-end holds the command past 30 s, the guest aborts it, the back-end drops it, the retry succeeds', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'timeout', [], { lun: 0 });
      const r = io(bus, 'read', 0, 1);
      bus.run(31000);
      assert.equal(r[0]?.error, 0);
      const c = bus.counters();
      assert.equal(c['disk 2:0 held'], 1);
      assert.equal(c['disk 2:0 aborted'], 1);
      assert.equal(c['disk 2:0 held_now'], 0);
    });

    it('fault timeout with a short delay: the answer simply comes late', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'timeout', [], { delay: 500 });
      const r = io(bus, 'read', 0, 1);
      bus.run(400);
      assert.equal(r.length, 0);
      bus.run(200);
      assert.equal(r[0]?.error, 0);
      assert.equal(bus.counters()['disk 2:0 aborted'], 0);
    });

    it('fault queue-full: inserts overflow while the back-end is stalled; every write completes afterwards', () => {
      const dir = tmpDir();
      // a small channel: 21 slots per queue, so 20 commands fill queue 0 (cmd_per_lun is 32)
      const { bus } = diskSetup(dir, 'disk.img', '1M', 1472 + 2 * 20 * 1216);
      bus.command('fault', '2:0', 'queue-full', [], { duration: 200 });
      const all: BlockResult[][] = [];
      for (let i = 0; i < 100; i++) all.push(io(bus, 'write', i, 1, sector(`block ${i}`)));
      bus.run(100);
      const dev = bus.dev('2:0');
      const q0 = new Uint8Array(128);
      dev.channel.read(128, q0);
      assert.ok(le32(q0, 40) > 0, 'num_overflows of queue 0 bumped by failed inserts');
      assert.ok(bus.guest.scsi.hostOf('2:0')!.stats.busyReturns > 0, 'the mid-layer saw busy');
      bus.run(2000);
      assert.ok(
        all.every((r) => r[0]?.error === 0),
        'nothing lost',
      );
      const inUse = bus.kernel.dmaInUse;
      for (let i = 0; i < 100; i++) io(bus, 'read', i, 1);
      bus.run(500);
      assert.equal(bus.kernel.dmaInUse, inUse, 'DMA pages are recycled, not allocated per command');
      for (const i of [0, 63, 64, 99]) assert.equal(fileText(path.join(dir, 'disk.img'), i * 512, 512), `block ${i}`);
    });

    it('partition recovery with I/O in flight: nothing is lost, stale answers are flushed, resume gets no completion', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('fault', '2:0', 'lost-response', [], { count: 3 });
      const ws = [0, 1, 2, 3, 4].map((i) => io(bus, 'write', 20 + i, 1, sector(`recovered ${i}`)));
      bus.run(5); // some answered (in queue 1, unread), three lost
      bus.recover(2);
      const dev = bus.dev('2:0');
      assert.deepEqual(
        dev.completions.map((c) => c.op),
        ['pause'],
        'visorhba never completes the resume',
      );
      bus.run(200);
      assert.ok(ws.every((w) => w[0]?.error === 0));
      for (let i = 0; i < 5; i++) assert.equal(fileText(path.join(dir, 'disk.img'), (20 + i) * 512, 512), `recovered ${i}`);
      const c = bus.counters();
      assert.equal(Number(c['disk 2:0 stale_flushed']) + Number(c['disk 2:0 discarded']) + Number(c['disk 2:0 lost']) >= 3, true);
    });

    it('a corrupted queue header stops the traffic without hanging anything; repaired, the I/O goes through', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      const dev = bus.dev('2:0');
      const q0 = dev.channel.physaddr + 128;
      const base = bus.memory.readU64(q0 + 16);
      bus.memory.writeU64(q0 + 16, 1 << 30); // sig_base_offset past the channel: visorchannel_write refuses every slot with -EIO
      const w = io(bus, 'write', 4, 1, sector('after the repair'));
      bus.run(50);
      assert.equal(w.length, 0, 'still waiting');
      assert.ok(bus.guest.scsi.hostOf('2:0')!.stats.busyReturns > 0, 'visorhba answers busy while the insert fails');
      bus.memory.writeU64(q0 + 16, base);
      bus.run(50);
      assert.equal(w[0]?.error, 0);
      assert.equal(fileText(path.join(dir, 'disk.img'), 4 * 512, 512), 'after the repair');
    });

    it('a LUN attached after the scan: NOTIFYGUEST (ignored by visorhba), visible after a rescan', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('disk', '2:0', 'attach', [], { lun: 1, image: 'late.img', size: '64k' }, dir);
      bus.run(30);
      assert.equal((bus.dev('2:0').driverData as VisorhbaData).notifyguest_ignored, 1);
      assert.equal(bus.guest.block.disks.size, 1);
      bus.kernel.echo('scsi_host', 'host0', 'scan', '- - -');
      bus.runUntil(() => !bus.guest.scsi.hostOf('2:0')!.scanInProgress, 2000);
      assert.deepEqual([...bus.guest.block.disks.keys()], ['sda', 'sdb']);
      assert.equal(bus.kernel.cat('block', 'sdb', 'size'), '128\n');
    });

    it('I/O on a LUN attached after the scan makes the guest rescan first', () => {
      const dir = tmpDir();
      const { bus } = diskSetup(dir);
      bus.command('disk', '2:0', 'attach', [], { lun: 2, image: 'later.img', size: '64k' }, dir);
      bus.run(30);
      bus.command('disk', '2:0', 'write', ['found it'], { lun: 2, lba: 3 });
      bus.run(300);
      assert.equal(bus.counters()['disk 2:0 lun=2 block'], 'sdb');
      assert.equal(fileText(path.join(dir, 'later.img'), 3 * 512, 512), 'found it');
    });
  });

  describe('IO partition: network', () => {
    function netSetup(): { bus: RealBus; net: IoPartitionNetwork } {
      const bus = new RealBus();
      const net = new IoPartitionNetwork();
      bus.addBackend(net);
      bus.create(2, 1, GUIDS.vnic, createVisornic());
      return { bus, net };
    }

    it('writes MAC, num_rcv_bufs and MTU for the guest', () => {
      const { bus } = netSetup();
      assert.equal(bus.kernel.cat('net', 'eth0', 'address'), '02:53:50:02:00:01\n');
      assert.equal(bus.kernel.cat('net', 'eth0', 'mtu'), '1500\n');
      assert.equal((bus.dev('2:1').driverData as VisornicData).num_rcv_bufs, 32);
    });

    it('frames cross in both directions with the counters right', () => {
      const { bus, net } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      assert.equal(bus.counters()['net 2:1 posted'], 32);
      assert.equal(bus.counters()['net 2:1 rx_enabled'], 1);
      bus.command('net', '2:1', 'send', ['frame for the guest']);
      bus.command('net', '2:1', 'xmit', ['frame from the guest']);
      bus.run(5);
      const c = bus.counters();
      assert.equal(c['net 2:1 delivered'], 1);
      assert.equal(c['net 2:1 lastrx'], 'frame for the guest');
      assert.equal(c['net 2:1 rx_frames'], 1);
      assert.equal(c['net 2:1 wire_tx'], 1);
      assert.equal(c['net 2:1 lasttx'], 'frame from the guest');
      assert.equal(c['net 2:1 lasttx_len'], 60, 'padded to the Ethernet minimum');
      assert.equal(c['net 2:1 xmit_done'], 1);
      assert.equal(bus.kernel.cat('net', 'eth0', 'statistics/rx_packets'), '1\n');
      assert.equal(bus.kernel.cat('net', 'eth0', 'statistics/rx_bytes'), `${14 + 19}\n`);
      assert.equal(bus.kernel.cat('net', 'eth0', 'statistics/tx_packets'), '1\n');
      assert.equal(bus.kernel.cat('net', 'eth0', 'statistics/tx_bytes'), '60\n');
      const wire = net.wireFrames('2:1')[0];
      assert.deepEqual([...wire.subarray(6, 12)], [0x02, 0x53, 0x50, 0x02, 0x00, 0x01], 'source = the guest MAC');
      assert.equal(c['net 2:1 posted'], 32, 'the used buffer was re-posted');
    });

    it('a large frame is chained over several receive buffers', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      bus.command('net', '2:1', 'send', ['x'.repeat(9000)]);
      bus.run(5);
      const nd = bus.guest.net.devices.get('2:1')!;
      assert.equal(nd.rx[0].frame.length, 9014);
      assert.equal((bus.dev('2:1').driverData as VisornicData).n_rcvx, 1, '3 buffers');
    });

    it('no frame vanishes uncounted: disabled, no buffer, link down, too big, injected drop', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'send', ['before open']);
      bus.command('net', '2:1', 'open');
      bus.run(5);
      for (let i = 0; i < 33; i++) bus.command('net', '2:1', 'send', [`f${i}`]); // the guest reads none of them yet
      bus.command('net', '2:1', 'link', ['down']);
      bus.command('net', '2:1', 'send', ['link down']);
      bus.command('net', '2:1', 'link', ['up']);
      bus.command('fault', '2:1', 'drop-frame', []);
      bus.run(5);
      bus.command('net', '2:1', 'send', ['dropped by fault']);
      bus.command('net', '2:1', 'send', ['y'.repeat(30000)]);
      const c = bus.counters();
      assert.equal(c['net 2:1 dropped_disabled'], 1);
      assert.equal(c['net 2:1 dropped_no_buffer'], 1);
      assert.equal(c['net 2:1 dropped_link_down'], 1);
      assert.equal(c['net 2:1 dropped_fault'], 1);
      assert.equal(c['net 2:1 dropped_too_big'], 1);
      assert.equal(c['net 2:1 dropped'], 5);
      assert.equal(Number(c['net 2:1 delivered']) + Number(c['net 2:1 dropped']), 1 + 33 + 1 + 2);
    });

    it('link down/up reaches the guest as NET_CONNECT_STATUS', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      bus.command('net', '2:1', 'link', ['down']);
      bus.run(2);
      assert.equal(bus.kernel.cat('net', 'eth0', 'operstate'), 'down\n');
      bus.command('net', '2:1', 'link', ['up']);
      bus.run(2);
      assert.equal(bus.kernel.cat('net', 'eth0', 'operstate'), 'up\n');
    });

    it('fault drop-frame dir=tx: the guest sees a failed NET_XMIT_DONE', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      bus.command('fault', '2:1', 'drop-frame', [], { dir: 'tx' });
      bus.command('net', '2:1', 'xmit', ['lost on the wire']);
      bus.run(5);
      assert.equal((bus.dev('2:1').driverData as VisornicData).chstat.xmit_fail, 1);
      assert.equal(bus.counters()['net 2:1 wire_tx'], 0);
    });

    it('fault lost-response: transmits stay outstanding until flow control stops the queue; frames wait in the qdisc', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      bus.command('fault', '2:1', 'lost-response', [], { count: 100 });
      for (let i = 0; i < 10; i++) bus.command('net', '2:1', 'xmit', [`t${i}`]);
      bus.run(5);
      const d = bus.dev('2:1').driverData as VisornicData;
      assert.equal(d.queue_stopped, true);
      assert.equal(d.flow_control_upper_hits, 1);
      assert.equal(bus.counters()['net 2:1 wire_tx'], 7);
      assert.equal(bus.guest.net.devices.get('2:1')!.qdisc.length, 3);
    });

    it('xmit on a closed interface is dropped by the stack (ENETDOWN) and counted', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'xmit', ['nobody home']);
      assert.equal(bus.counters()['net 2:1 enetdown'], 1);
      assert.throws(() => bus.command('net', '2:1', 'xmit', ['z'.repeat(2000)]), /MTU/);
    });

    it('partition recovery: the guest comes back up and traffic flows again', () => {
      const { bus } = netSetup();
      bus.command('net', '2:1', 'open');
      bus.run(5);
      bus.command('net', '2:1', 'xmit', ['in flight']);
      bus.recover(2);
      const d = bus.dev('2:1').driverData as VisornicData;
      assert.deepEqual(
        bus.dev('2:1').completions.map((c) => c.op),
        ['pause', 'resume'],
      );
      bus.run(10);
      assert.equal(d.server_down, false);
      assert.equal(bus.counters()['net 2:1 posted'], 32);
      bus.command('net', '2:1', 'send', ['after recovery']);
      bus.command('net', '2:1', 'xmit', ['after recovery too']);
      bus.run(5);
      const c = bus.counters();
      assert.equal(c['net 2:1 lastrx'], 'after recovery');
      assert.equal(c['net 2:1 lasttx'], 'after recovery too');
      assert.equal(c['net 2:1 wire_tx'], 2, 'the in-flight frame went out during the recovery');
    });

    it('rejects commands for the wrong device type and unknown faults', () => {
      const { bus } = netSetup();
      assert.throws(() => bus.command('fault', '2:1', 'medium-error', []), /not supported on a vnic/);
      assert.throws(() => bus.command('net', '2:1', 'send', ['hex:0011']), /at least 14 bytes/);
    });
  });

  describe('console partition', () => {
    it('types into a keyboard end to end', () => {
      const bus = new RealBus();
      bus.addBackend(new ConsolePartition());
      bus.create(1, 1, GUIDS.keyboard, createVisorinput());
      bus.command('input', '1:1', 'open');
      bus.command('keyboard', '1:1', 'type', ['ls -l\n']);
      bus.run(20);
      assert.equal(bus.counters()['input "visor Keyboard" text'], 'ls -l\n');
      assert.throws(() => bus.command('keyboard', '1:1', 'press'), /missing KEY/);
    });
  });
});
