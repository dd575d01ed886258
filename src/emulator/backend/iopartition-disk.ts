/**
 * The IO partition's disk back-end for vhba channels (reference §7.1–§7.3): the other
 * end of visorhba. Each LUN is a disk backed by a real image file.
 *
 * At device creation it writes the `vhba.max` block the guest reads at probe (one
 * channel, one target, 64 LUNs, 32 commands per LUN, 256 KiB per command). Every jiffy
 * its back-end thread takes the guest's commands off queue 0 and answers on queue 1,
 * echoing the message with linuxstat / scsistat / addlstat / sensebuf / no_disk_result
 * set:
 * - INQUIRY (standard data; VPD pages 0x00, 0x80, 0x83), TEST UNIT READY, READ
 *   CAPACITY(10) and (16), MODE SENSE(6), REPORT LUNS, REQUEST SENSE,
 *   READ / WRITE (6, 10, 16) moving data between the image file and the guest
 *   buffers named by gpi_list, SYNCHRONIZE CACHE (10, 16) -> fsync;
 * - a LUN that does not exist on an existing target: INQUIRY answered with
 *   no_disk_result (the guest builds the "no disk" answer), anything else CHECK
 *   CONDITION / ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED; a target with no disks:
 *   DID_NO_CONNECT with addlstat ADDL_SEL_TIMEOUT;
 * - an LBA range past the end: ILLEGAL REQUEST / LBA OUT OF RANGE; an unknown opcode:
 *   ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE.
 * A write reaches the file (fs.writeSync) before its answer is queued, so an
 * acknowledged write survives a kill; images are fsync'ed on flush, on device destroy
 * and at shutdown. Answers that find queue 1 full wait in an outbox.
 *
 * Task management: ABORT_TASK / LUN_RESET / TARGET_RESET / BUS_RESET drop commands
 * the back-end is holding for the LUN / target / bus and are answered with
 * TASK_MGMT_SUCCESS, echoing the handles.
 *
 * The disk configuration belongs to the device number: it survives a device destroy
 * (the image is closed) and is opened again when the device is created again.
 *
 * Scenario commands (`disk B:D ...`): attach lun=N image=PATH [size=N] (image relative
 * to the scenario's folder; created sparse when absent, default 16 MiB), and the
 * guest's own I/O — write lun=N lba=N DATA, read lun=N lba=N count=N, flush lun=N —
 * issued through the guest's block device (/dev/sdX), waiting for a scan in progress.
 * Faults (`fault B:D KIND [lun=N] [lba=N] [count=N]`), applied to the next matching
 * READ / WRITE / SYNCHRONIZE CACHE:
 *   medium-error    CHECK CONDITION, MEDIUM ERROR (unrecovered read error / write error)
 *   backend-error   DID_ERROR, addlstat ADDL_INTERNAL_ERROR (the guest retries)
 *   lost-response   consumed, never answered (the command stays pending in the guest
 *                   until its 30 s time-out, a pause or a recovery fails it back)
 *   timeout         answered only after delay=MS (default 35000, past the guest's 30 s
 *                   SCSI time-out, so the guest's error handler aborts it first)
 *   queue-full      queue 0 is not read for duration=MS (default 100): the guest's
 *                   inserts fail once it is full and its mid-layer re-queues them
 */
import { BusPoller } from './buspoller';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendCommand, BackendDevice, BackendHost, ServiceBackend } from './servicepartition';
import { VisorChannel } from '../visorchannel/visorchannel';
import { GUIDS } from '../protocol/guid';
import { UnmappedError } from '../memory/guestmemory';
import {
  ADDL, CMD, Cmdrsp, DISKNOTIFY, DRAIN_LIMIT, IOCHAN_FROM_IOPART, IOCHAN_TO_IOPART, SCSI, SIZEOF_CMDRSP, TASK_MGMT, TASK_MGMT_NAMES, TASK_MGMT_SUCCESS,
  TASKMGMT, UIS_DMA, VHBA_MAX, VHBA_WWNN,
} from '../drivers/uiscmdrsp';
import {
  ASC, buildSense, DID, makeResult, OP, opName, parseRw, readBe32, SAI_READ_CAPACITY_16, SAM_STAT, SENSE_KEY, writeBe32, writeBe64,
} from '../guest/scsi';
import { BlockDevice, dataText, SECTOR_SIZE } from '../guest/block';
import { MAX_DISK_READ_SECTORS, MAX_IMAGE_BYTES } from '../limits';
import { bytesText, devId, flagOpt, hexText, numOpt, payloadBytes, requireType, strOpt, toNumber, unknownVerb } from './iopartition-cmdargs';

/** What the back-end writes into vhba.max. */
export const VHBA_DEFAULTS = { maxChannel: 1, maxId: 1, maxLun: 64, cmdPerLun: 32, maxIoSize: 256 * 1024 } as const;
export const DEFAULT_IMAGE_SIZE = 16 * 1024 * 1024;
/** The guest's SCSI time-out is 30 s: a `timeout` fault answers after 35 s by default. */
export const DEFAULT_TIMEOUT_DELAY_MS = 35000;

interface Disk {
  lun: number;
  id: number;
  file: string;
  fd: number | undefined;
  /** Gives up the image lock (at detach and shutdown; a destroyed device keeps it). */
  unlock: () => void;
  sectors: number;
  readOnly: boolean;
  vendor: string;
  model: string;
  rev: string;
  stats: { commands: number; reads: number; writes: number; read_bytes: number; written_bytes: number; flushes: number; errors: number };
}

type FaultKind = 'medium-error' | 'backend-error' | 'lost-response' | 'timeout';

interface Fault {
  kind: FaultKind;
  lun?: number;
  lba?: number;
  remaining: number;
  delayMs: number;
}

interface Held {
  msg: Cmdrsp;
  due: number;
  lun: number;
  id: number;
  channel: number;
}

interface HbaDev {
  dev: BackendDevice;
  channel: VisorChannel;
  disks: Map<string, Disk>;
  outbox: Uint8Array[];
  held: Held[];
  faults: Fault[];
  stallUntil: number;
  /** The guest has scanned (an INQUIRY / REPORT LUNS was answered). */
  scanned: boolean;
  /** Guest-physical address of queue 0's header (for the cheap "anything new?" check). */
  q0: number;
  stats: { commands: number; answered: number; lost: number; held: number; aborted: number; taskmgmt: number; discarded: number; stale_flushed: number; unknown: number };
}

const diskKey = (id: number, lun: number): string => `${id}:${lun}`;

export class IoPartitionDisk implements ServiceBackend {
  readonly families = ['disk', 'fault'] as const;
  readonly typeGuids = [GUIDS.vhba] as const;
  private host: BackendHost | undefined;
  private readonly devices = new Map<string, HbaDev>();
  /** Disk configuration per device number ("2:0"), kept across destroy / create. */
  private readonly configs = new Map<string, Map<string, Disk>>();
  /** Every jiffy, on each bus's back-end thread, serve the bus's devices. */
  private readonly poller = new BusPoller<HbaDev>((bus, fn) => this.h.schedule(bus, 1, `iopart disk bus ${bus} poll`, fn), (d) => this.service(d));
  private readonly rx = new Uint8Array(SIZEOF_CMDRSP);

  attach(host: BackendHost): void {
    this.host = host;
  }

  private get h(): BackendHost {
    if (!this.host) throw new Error('disk back-end is not attached');
    return this.host;
  }

  deviceCreated(dev: BackendDevice): void {
    const m = this.h.memory;
    try {
      m.writeU32(dev.physaddr + VHBA_WWNN, 0x5553_4e49);
      m.writeU32(dev.physaddr + VHBA_WWNN + 4, ((dev.bus & 0xffff) << 16) | (dev.dev & 0xffff));
      m.writeU32(dev.physaddr + VHBA_MAX.max_channel, VHBA_DEFAULTS.maxChannel);
      m.writeU32(dev.physaddr + VHBA_MAX.max_id, VHBA_DEFAULTS.maxId);
      m.writeU32(dev.physaddr + VHBA_MAX.max_lun, VHBA_DEFAULTS.maxLun);
      m.writeU32(dev.physaddr + VHBA_MAX.cmd_per_lun, VHBA_DEFAULTS.cmdPerLun);
      m.writeU32(dev.physaddr + VHBA_MAX.max_io_size, VHBA_DEFAULTS.maxIoSize);
    } catch (e) {
      if (!(e instanceof UnmappedError)) throw e;
      this.event(dev.id, `cannot write vhba.max of ${dev.id}: ${e.message}`);
      return;
    }
    const ch = VisorChannel.create(m, dev.physaddr, dev.typeGuid, `iopart disk ${dev.id}`);
    if (typeof ch === 'string') {
      this.event(dev.id, `cannot map the channel of ${dev.id}: ${ch}`);
      return;
    }
    let disks = this.configs.get(devId(dev));
    if (!disks) this.configs.set(devId(dev), (disks = new Map()));
    for (const d of disks.values()) {
      if (d.fd !== undefined) continue;
      try {
        d.fd = fs.openSync(d.file, d.readOnly ? 'r' : 'r+');
        this.event(dev.id, `LUN ${d.lun} (${d.file}) opened again for the re-created device`);
      } catch (e) {
        this.event(dev.id, `LUN ${d.lun}: cannot reopen ${d.file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); the LUN is offline`);
      }
    }
    const hd: HbaDev = {
      dev, channel: ch, disks, outbox: [], held: [], faults: [], stallUntil: 0, scanned: false, q0: dev.physaddr + ch.queueOffset(IOCHAN_TO_IOPART),
      stats: { commands: 0, answered: 0, lost: 0, held: 0, aborted: 0, taskmgmt: 0, discarded: 0, stale_flushed: 0, unknown: 0 },
    };
    this.devices.set(devId(dev), hd);
    this.poller.add(dev.bus, hd);
  }

  deviceDestroyed(dev: BackendDevice): void {
    const h = this.devices.get(devId(dev));
    if (!h) return;
    if (h.held.length) this.event(dev.id, `device destroyed with ${h.held.length} command(s) held by a fault; they die with the channel`);
    for (const d of h.disks.values()) this.closeDisk(dev.id, d);
    this.devices.delete(devId(dev));
    this.poller.remove(dev.bus, h);
  }

  /**
   * `partition recover`: the IO partition restarts while the guest's devices are paused.
   * The paused guest has failed every pending command back with DID_RESET and re-issues
   * them after the resume, so the restarted partition starts clean: commands still in
   * queue 0, commands held by a fault and answers not yet read from queue 1 are dropped
   * (each counted and logged), faults are cleared and the images are flushed.
   */
  recover(bus: number): void {
    for (const h of this.devices.values()) {
      if (h.dev.bus !== bus) continue;
      const m = new Uint8Array(SIZEOF_CMDRSP);
      let queued = 0;
      while (queued < DRAIN_LIMIT && h.channel.signalRemove(IOCHAN_TO_IOPART, m) === 0) queued++;
      let stale = 0;
      while (stale < DRAIN_LIMIT && h.channel.signalRemove(IOCHAN_FROM_IOPART, m) === 0) stale++;
      const held = h.held.length;
      const waiting = h.outbox.length;
      h.held = [];
      h.outbox = [];
      h.faults = [];
      h.stallUntil = 0;
      h.stats.discarded += queued + held;
      h.stats.stale_flushed += stale + waiting;
      for (const d of h.disks.values()) this.sync(h.dev.id, d);
      this.event(
        h.dev.id,
        `IO partition recovered: ${queued} unread command(s) and ${held} held command(s) dropped (the paused guest failed them back with DID_RESET and re-issues them; a guest that was not paused recovers them through its SCSI time-out), ${stale + waiting} stale answer(s) flushed, faults cleared, images flushed`,
      );
    }
  }

  shutdown(): void {
    this.poller.stopAll();
    for (const [id, disks] of this.configs) {
      for (const d of disks.values()) {
        this.closeDisk(id, d);
        d.unlock();
      }
    }
  }

  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const guest = this.host?.guest;
    for (const h of this.devices.values()) {
      const p = `disk ${h.dev.id}`;
      for (const [k, v] of Object.entries(h.stats)) out[`${p} ${k}`] = v;
      out[`${p} held_now`] = h.held.length;
      out[`${p} luns`] = h.disks.size;
      for (const d of h.disks.values()) {
        const l = `${p} lun=${d.lun}`;
        for (const [k, v] of Object.entries(d.stats)) out[`${l} ${k}`] = v;
        out[`${l} sectors`] = d.sectors;
        out[`${l} image`] = d.file;
      }
      if (!guest) continue;
      for (const b of guest.block.disksOf(h.dev.id)) {
        const l = `${p} lun=${b.lun}`;
        out[`${l} block`] = b.name;
        out[`${l} lastread`] = dataText(b.lastRead);
        out[`${l} lastread_hex`] = hexText(b.lastRead);
        out[`${l} lasterror`] = b.lastError ? errnoText(b.lastError) : '0';
        out[`${l} completed`] = b.completed;
        out[`${l} failed`] = b.failed;
      }
    }
    return out;
  }

  command(cmd: BackendCommand): void {
    requireType(cmd, this.typeGuids, 'a vhba device');
    const h = this.devices.get(devId(cmd.device));
    if (!h) throw new Error(`${cmd.family} ${cmd.verb}: device ${cmd.device.id} has no usable channel`);
    if (cmd.family === 'fault') return this.fault(cmd, h);
    switch (cmd.verb) {
      case 'attach':
        return this.attachDisk(cmd, h);
      case 'detach': {
        const lun = numOpt(cmd, 'lun', 0);
        const d = h.disks.get(diskKey(numOpt(cmd, 'id', 0), lun));
        if (!d) throw new Error(`disk detach: ${h.dev.id} has no LUN ${lun}`);
        this.closeDisk(h.dev.id, d);
        d.unlock();
        h.disks.delete(diskKey(d.id, d.lun));
        this.event(h.dev.id, `LUN ${lun} detached (${d.file})`);
        return;
      }
      case 'write':
      case 'read':
      case 'flush':
        return this.guestIo(cmd, h);
      case 'rescan': {
        const host = this.h.guest.scsi.hostOf(h.dev.id);
        if (!host) throw new Error(`disk rescan: visorhba is not bound to ${h.dev.id}`);
        host.scan();
        return;
      }
      default:
        throw unknownVerb(cmd, ['attach', 'read', 'write', 'flush']);
    }
  }

  // ------------------------------------------------------------------ configuration

  private attachDisk(cmd: BackendCommand, h: HbaDev): void {
    const lun = numOpt(cmd, 'lun', NaN);
    if (!Number.isInteger(lun) || lun < 0 || lun >= VHBA_DEFAULTS.maxLun) throw new Error(`disk attach: lun must be 0…${VHBA_DEFAULTS.maxLun - 1}`);
    const id = numOpt(cmd, 'id', 0);
    if (!Number.isInteger(id) || id < 0 || id >= VHBA_DEFAULTS.maxId) throw new Error(`disk attach: id must be 0…${VHBA_DEFAULTS.maxId - 1}`);
    const image = strOpt(cmd, 'image');
    if (!image) throw new Error('disk attach: missing image=PATH');
    let file: string;
    try {
      file = this.h.files.resolve(image, cmd.baseDir, 'disk image');
    } catch (e) {
      throw new Error(`disk attach: ${(e as Error).message}`);
    }
    const readOnly = flagOpt(cmd, 'readonly');
    const existing = h.disks.get(diskKey(id, lun));
    if (existing) {
      if (existing.file === file) {
        this.event(h.dev.id, `LUN ${lun} is already attached to ${file}`);
        return;
      }
      throw new Error(`disk attach: LUN ${lun} of ${h.dev.id} already has image ${existing.file}`);
    }
    const sizeOpt = cmd.options.size !== undefined ? toNumber(cmd.options.size, 'size=') : undefined;
    if (sizeOpt !== undefined && !(Number.isSafeInteger(sizeOpt) && sizeOpt <= MAX_IMAGE_BYTES)) {
      throw new Error(`disk attach: size=${cmd.options.size} is too large (an image is at most ${MAX_IMAGE_BYTES / 2 ** 40} TiB)`);
    }
    // Resolved to its real path already: never follow a link that appears in its place.
    const noFollow = this.h.files.policy.allowOutside ? 0 : (fs.constants.O_NOFOLLOW ?? 0);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`disk attach: cannot use image ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let fd: number;
    let bytes: number;
    const created = !st;
    if (st) {
      if (!st.isFile()) throw new Error(`disk attach: image ${file} is not a regular file`);
      try {
        fd = fs.openSync(file, (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | noFollow);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new Error(`disk attach: image ${file} is read-only (${code}); the IO partition needs to write it`);
        throw new Error(`disk attach: cannot open image ${file} (${code ?? String(e)})`);
      }
      bytes = st.size;
    } else {
      if (readOnly) throw new Error(`disk attach: image ${file} does not exist (a read-only disk needs an existing image)`);
      const dir = path.dirname(file);
      if (!fs.existsSync(dir)) throw new Error(`disk attach: cannot create image ${file}: directory ${dir} does not exist`);
      bytes = sizeOpt ?? DEFAULT_IMAGE_SIZE;
      if (!Number.isSafeInteger(bytes) || bytes < SECTOR_SIZE) throw new Error(`disk attach: size must be at least ${SECTOR_SIZE} bytes`);
      try {
        fd = fs.openSync(file, 'wx+');
      } catch (e) {
        throw new Error(`disk attach: cannot create image ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
    let unlock: () => void;
    try {
      unlock = this.h.files.lock(fd, file, readOnly);
    } catch (e) {
      fs.closeSync(fd);
      if (created) fs.rmSync(file, { force: true });
      throw new Error(`disk attach: ${(e as Error).message}`);
    }
    const grow = created ? bytes : sizeOpt !== undefined && sizeOpt > bytes && !readOnly ? sizeOpt : undefined;
    if (grow !== undefined) {
      try {
        fs.ftruncateSync(fd, grow);
      } catch (e) {
        unlock();
        fs.closeSync(fd);
        if (created) fs.rmSync(file, { force: true });
        throw new Error(`disk attach: cannot ${created ? 'create' : 'extend'} image ${file} to ${grow} bytes (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      if (created) this.event(h.dev.id, `created sparse image ${file} of ${grow} bytes`);
      else this.event(h.dev.id, `image ${file} extended (sparse) from ${bytes} to ${grow} bytes`);
      bytes = grow;
    }
    this.h.files.noteImage(file, created);
    const sectors = Math.floor(bytes / SECTOR_SIZE);
    if (sectors === 0) {
      unlock();
      fs.closeSync(fd);
      throw new Error(`disk attach: image ${file} is empty; give size=N to extend it`);
    }
    if (bytes % SECTOR_SIZE) this.event(h.dev.id, `image ${file}: the last ${bytes % SECTOR_SIZE} byte(s) beyond a whole sector are not used`);
    const disk: Disk = {
      lun, id, file, fd, unlock, sectors, readOnly,
      vendor: (strOpt(cmd, 'vendor') ?? 'UNISYS').slice(0, 8).padEnd(8),
      model: (strOpt(cmd, 'model') ?? 'VIRTUAL DISK').slice(0, 16).padEnd(16),
      rev: '1.0 ',
      stats: { commands: 0, reads: 0, writes: 0, read_bytes: 0, written_bytes: 0, flushes: 0, errors: 0 },
    };
    h.disks.set(diskKey(id, lun), disk);
    this.event(h.dev.id, `LUN ${lun} attached: ${file}, ${sectors} sectors${readOnly ? ', read-only' : ''}`);
    if (h.scanned) {
      // A LUN added after the guest scanned: s-Par would notify the guest; visorhba ignores it.
      const n = new Cmdrsp();
      n.cmdtype = CMD.NOTIFYGUEST;
      n.setU8(DISKNOTIFY.add, 1);
      n.setU32(DISKNOTIFY.channel, 0);
      n.setU32(DISKNOTIFY.id, id);
      n.setU32(DISKNOTIFY.lun, lun);
      this.answer(h, n);
      const host = this.h.guest.scsi.hostOf(h.dev.id);
      this.event(h.dev.id, `the guest already scanned ${h.dev.id}: it sees LUN ${lun} after a rescan (echo "- - -" > /sys/class/scsi_host/${host?.className ?? 'hostN'}/scan)`);
    }
  }

  private closeDisk(id: string, d: Disk): void {
    if (d.fd === undefined) return;
    this.sync(id, d);
    try {
      fs.closeSync(d.fd);
    } catch {
      // already closed
    }
    d.fd = undefined;
  }

  private sync(id: string, d: Disk): boolean {
    if (d.fd === undefined || d.readOnly) return true;
    try {
      fs.fsyncSync(d.fd);
      return true;
    } catch (e) {
      this.event(id, `fsync of ${d.file} failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return false;
    }
  }

  private fault(cmd: BackendCommand, h: HbaDev): void {
    const count = numOpt(cmd, 'count', 1);
    const lun = cmd.options.lun !== undefined ? numOpt(cmd, 'lun', 0) : undefined;
    const lba = cmd.options.lba !== undefined ? numOpt(cmd, 'lba', 0) : undefined;
    switch (cmd.verb) {
      case 'medium-error':
      case 'backend-error':
      case 'lost-response':
      case 'timeout': {
        const delayMs = numOpt(cmd, 'delay', DEFAULT_TIMEOUT_DELAY_MS);
        h.faults.push({ kind: cmd.verb, lun, lba, remaining: count, delayMs });
        const where = `${lun !== undefined ? ` on LUN ${lun}` : ''}${lba !== undefined ? ` at LBA ${lba}` : ''}`;
        this.event(h.dev.id, `fault: ${cmd.verb} for the next ${count} I/O command(s)${where}${cmd.verb === 'timeout' ? ` (answered after ${delayMs} ms)` : ''}`);
        return;
      }
      case 'queue-full': {
        const ms = numOpt(cmd, 'duration', 100);
        h.stallUntil = this.h.engine.jiffies + Math.max(1, Math.ceil((ms * this.h.engine.clock.hz) / 1000));
        this.event(h.dev.id, `fault: queue 0 is not read for ${ms} ms`);
        return;
      }
      default:
        throw new Error(`fault ${cmd.verb} is not supported on a vhba device (use medium-error, backend-error, lost-response, timeout or queue-full)`);
    }
  }

  // ------------------------------------------------------------------ the guest's own I/O

  private guestIo(cmd: BackendCommand, h: HbaDev): void {
    const guest = this.h.guest;
    const lun = numOpt(cmd, 'lun', NaN);
    if (!Number.isInteger(lun)) throw new Error(`disk ${cmd.verb}: missing lun=N`);
    const host = guest.scsi.hostOf(h.dev.id);
    if (!host) throw new Error(`disk ${cmd.verb}: visorhba is not bound to ${h.dev.id} (load it, or wait for the device to be probed)`);
    let req: { op: 'read' | 'write' | 'flush'; lba: number; sectors: number; data?: Uint8Array };
    if (cmd.verb === 'flush') req = { op: 'flush', lba: 0, sectors: 0 };
    else {
      const lba = numOpt(cmd, 'lba', NaN);
      if (!Number.isInteger(lba) || lba < 0) throw new Error(`disk ${cmd.verb}: lba must be a non-negative number`);
      if (cmd.verb === 'read') {
        const count = numOpt(cmd, 'count', 1);
        if (!Number.isInteger(count) || count <= 0) throw new Error('disk read: count must be at least 1 sector');
        if (count > MAX_DISK_READ_SECTORS) throw new Error(`disk read: count=${count} is too many sectors for one read (at most ${MAX_DISK_READ_SECTORS}, ${(MAX_DISK_READ_SECTORS * SECTOR_SIZE) >> 20} MiB); read in parts`);
        req = { op: 'read', lba, sectors: count };
      } else {
        const raw = cmd.data ?? payloadBytes(cmd.positional[0], 'disk write data');
        if (!raw.length) throw new Error('disk write: empty data');
        const sectors = Math.ceil(raw.length / SECTOR_SIZE);
        const data = new Uint8Array(sectors * SECTOR_SIZE);
        data.set(raw);
        req = { op: 'write', lba, sectors, data };
      }
    }
    const issue = (bd: BlockDevice): void => {
      const k = this.h.engine.clock;
      bd.submit(req, () => k.jiffies, 1000 / k.hz, (r) => {
        const what = `${req.op}${req.op === 'flush' ? '' : ` of ${req.sectors} sector(s) at LBA ${req.lba}`} on ${bd.name}`;
        if (r.error) this.event(h.dev.id, `guest ${what} failed: ${errnoText(r.error)}${r.why ? ` (${r.why})` : ''}`);
        else this.event(h.dev.id, `guest ${what} completed${r.op === 'read' && r.data ? `: "${bytesText(r.data).slice(0, 64)}"` : ''}`);
      });
    };
    const find = (): BlockDevice | undefined => guest.block.disksOf(h.dev.id).find((b) => b.lun === lun);
    const bd = find();
    if (bd) return issue(bd);
    if (host.scanInProgress) {
      this.event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} waits for the SCSI scan in progress`);
      host.whenScanned(() => {
        const later = find();
        if (later) issue(later);
        else this.event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} failed: the scan found no disk for LUN ${lun} (ENXIO)`);
      });
      return;
    }
    if (h.disks.has(diskKey(0, lun))) {
      // Attached after the guest scanned: the guest's user rescans the host, then uses the disk.
      this.event(h.dev.id, `LUN ${lun} was attached after the guest scanned ${h.dev.id}; the guest rescans (echo "- - -" > /sys/class/scsi_host/${host.className}/scan) before the ${cmd.verb}`);
      host.scan();
      host.whenScanned(() => {
        const later = find();
        if (later) issue(later);
        else this.event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} failed: the rescan found no disk for LUN ${lun} (ENXIO)`);
      });
      return;
    }
    throw new Error(`disk ${cmd.verb}: the guest has no disk for ${h.dev.id} LUN ${lun} (attach one with disk attach)`);
  }

  // ------------------------------------------------------------------ the poll

  /** Queue 0 is empty (head == tail); an unreadable header counts as empty. */
  private idle(h: HbaDev): boolean {
    const mem = this.h.memory;
    try {
      return mem.readU32(h.q0 + 60) === mem.readU32(h.q0 + 72);
    } catch {
      return true;
    }
  }

  private service(h: HbaDev): void {
    if (h.outbox.length) this.flushOutbox(h);
    const now = this.h.engine.jiffies;
    if (h.held.length) {
      const due = h.held.filter((x) => x.due <= now);
      if (due.length) {
        h.held = h.held.filter((x) => x.due > now);
        for (const x of due) {
          this.event(h.dev.id, `late answer for ${opName(x.msg.u8(SCSI.cmnd))} (handle ${x.msg.u64(SCSI.handle)})`);
          this.execute(h, x.msg, true);
        }
      }
    }
    if (h.stallUntil > now || this.idle(h)) return;
    let taken = 0;
    while (h.channel.signalRemove(IOCHAN_TO_IOPART, this.rx) === 0) {
      if (++taken > DRAIN_LIMIT) {
        this.event(h.dev.id, `queue ${IOCHAN_TO_IOPART} still not empty after ${DRAIN_LIMIT} commands: its head/tail look corrupted; reading stops for this poll`);
        break;
      }
      const msg = new Cmdrsp(Uint8Array.from(this.rx));
      h.stats.commands++;
      if (msg.cmdtype === CMD.SCSI) this.execute(h, msg, false);
      else if (msg.cmdtype === CMD.SCSITASKMGMT) this.taskmgmt(h, msg);
      else {
        h.stats.unknown++;
        this.event(h.dev.id, `ignoring cmdtype ${msg.cmdtype} on a vhba channel`);
      }
    }
  }

  private taskmgmt(h: HbaDev, m: Cmdrsp): void {
    h.stats.taskmgmt++;
    const type = m.u32(TASKMGMT.tasktype);
    const ch = m.u32(TASKMGMT.vdest_channel);
    const id = m.u32(TASKMGMT.vdest_id);
    const lun = m.u32(TASKMGMT.vdest_lun);
    const scope = (x: Held): boolean =>
      type === TASK_MGMT.BUS_RESET ? x.channel === ch : type === TASK_MGMT.TARGET_RESET ? x.channel === ch && x.id === id : x.channel === ch && x.id === id && x.lun === lun;
    const dropped = h.held.filter(scope);
    h.held = h.held.filter((x) => !scope(x));
    h.stats.aborted += dropped.length;
    const a = m.clone();
    a.setU8(TASKMGMT.result, TASK_MGMT_SUCCESS);
    this.answer(h, a);
    this.event(h.dev.id, `${TASK_MGMT_NAMES[type] ?? `task ${type}`} for ${ch}:${id}:${lun}: ${dropped.length} held command(s) dropped; answered TASK_MGMT_SUCCESS`);
  }

  /** Pick the fault that applies to this media command, if any (and use it up). */
  private takeFault(h: HbaDev, lun: number, op: number, lba: number | undefined, blocks: number): Fault | undefined {
    const media = op === OP.READ_6 || op === OP.READ_10 || op === OP.READ_16 || op === OP.WRITE_6 || op === OP.WRITE_10 || op === OP.WRITE_16 || op === OP.SYNCHRONIZE_CACHE_10 || op === OP.SYNCHRONIZE_CACHE_16;
    if (!media) return undefined;
    const f = h.faults.find((x) => x.remaining > 0 && (x.lun === undefined || x.lun === lun) && (x.lba === undefined || (lba !== undefined && x.lba >= lba && x.lba < lba + Math.max(1, blocks))));
    if (!f) return undefined;
    f.remaining--;
    h.faults = h.faults.filter((x) => x.remaining > 0);
    return f;
  }

  /** Execute one SCSI command and answer it (unless a fault says otherwise). */
  private execute(h: HbaDev, m: Cmdrsp, late: boolean): void {
    const cdb = m.slice(SCSI.cmnd, SCSI.cmnd_len);
    const op = cdb[0];
    const channel = m.u32(SCSI.vdest_channel);
    const id = m.u32(SCSI.vdest_id);
    const lun = m.u32(SCSI.vdest_lun);
    const rw = parseRw(cdb);
    const hasTarget = channel === 0 && [...h.disks.values()].some((d) => d.id === id);
    if (!hasTarget) {
      this.reply(h, m, { linuxstat: makeResult(DID.NO_CONNECT, 0), addlstat: ADDL.SEL_TIMEOUT });
      if (op === OP.INQUIRY) h.scanned = true;
      return;
    }
    const disk = h.disks.get(diskKey(id, lun));
    if (op === OP.INQUIRY || op === OP.REPORT_LUNS) h.scanned = true;
    if (op === OP.REPORT_LUNS) return this.reportLuns(h, m, id);
    if (!disk) {
      if (op === OP.INQUIRY) return this.reply(h, m, { noDisk: true });
      return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.LUN_NOT_SUPPORTED);
    }
    if (!late) disk.stats.commands++;
    if (!late) {
      const f = this.takeFault(h, lun, op, rw?.lba, rw?.blocks ?? 0);
      if (f?.kind === 'lost-response') {
        h.stats.lost++;
        this.event(h.dev.id, `${opName(op)} (handle ${m.u64(SCSI.handle)}) consumed and never answered (injected lost-response)`);
        return;
      }
      if (f?.kind === 'timeout') {
        h.stats.held++;
        h.held.push({ msg: m, due: this.h.engine.jiffies + Math.max(1, Math.ceil((f.delayMs * this.h.engine.clock.hz) / 1000)), lun, id, channel });
        this.event(h.dev.id, `${opName(op)} (handle ${m.u64(SCSI.handle)}) held for ${f.delayMs} ms (injected timeout)`);
        return;
      }
      if (f?.kind === 'backend-error') {
        this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
        this.event(h.dev.id, `${opName(op)} answered DID_ERROR (injected backend-error)`);
        return;
      }
      if (f?.kind === 'medium-error') {
        const write = rw?.write ?? false;
        this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, write ? ASC.WRITE_ERROR : ASC.UNRECOVERED_READ_ERROR, rw?.lba);
        this.event(h.dev.id, `${opName(op)} answered MEDIUM ERROR (injected medium-error)`);
        return;
      }
    }
    if (disk.fd === undefined) {
      disk.stats.errors++;
      return this.reply(h, m, { linuxstat: makeResult(DID.BAD_TARGET, 0), addlstat: ADDL.BAD_TARGET });
    }
    try {
      this.executeOnDisk(h, m, disk, cdb, rw);
    } catch (e) {
      if (!(e instanceof UnmappedError)) throw e;
      disk.stats.errors++;
      this.event(h.dev.id, `${opName(op)}: guest buffer not mapped (${e.message}); answered DID_ERROR`);
      this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
    }
  }

  private executeOnDisk(h: HbaDev, m: Cmdrsp, disk: Disk, cdb: Uint8Array, rw: ReturnType<typeof parseRw>): void {
    const op = cdb[0];
    if (rw) {
      if (rw.lba + rw.blocks > disk.sectors || rw.lba < 0) {
        return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.LBA_OUT_OF_RANGE, rw.lba);
      }
      if (rw.blocks * SECTOR_SIZE > VHBA_DEFAULTS.maxIoSize) {
        this.event(h.dev.id, `${opName(op)} of ${rw.blocks} blocks exceeds max_io_size ${VHBA_DEFAULTS.maxIoSize}: ILLEGAL REQUEST`);
        return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
      }
      const len = Math.min(rw.blocks * SECTOR_SIZE, m.u32(SCSI.bufflen));
      const pos = rw.lba * SECTOR_SIZE;
      if (rw.write) {
        if (disk.readOnly) {
          return this.checkCondition(h, m, SENSE_KEY.DATA_PROTECT, ASC.WRITE_PROTECTED);
        }
        const data = this.gather(m, len);
        try {
          let done = 0;
          while (done < data.length) done += fs.writeSync(disk.fd!, data, done, data.length - done, pos + done);
        } catch (e) {
          this.event(h.dev.id, `write to ${disk.file} failed (${(e as NodeJS.ErrnoException).code ?? String(e)}); answered MEDIUM ERROR`);
          return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.WRITE_ERROR, rw.lba);
        }
        disk.stats.writes++;
        disk.stats.written_bytes += data.length;
        return this.reply(h, m, {});
      }
      const buf = new Uint8Array(len);
      try {
        let done = 0;
        while (done < len) {
          const n = fs.readSync(disk.fd!, buf, done, len - done, pos + done);
          if (n === 0) break; // past the end of a short file: zeros
          done += n;
        }
      } catch (e) {
        this.event(h.dev.id, `read of ${disk.file} failed (${(e as NodeJS.ErrnoException).code ?? String(e)}); answered MEDIUM ERROR`);
        return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.UNRECOVERED_READ_ERROR, rw.lba);
      }
      this.scatter(m, buf);
      disk.stats.reads++;
      disk.stats.read_bytes += len;
      return this.reply(h, m, {});
    }
    switch (op) {
      case OP.TEST_UNIT_READY:
        return this.reply(h, m, {});
      case OP.INQUIRY:
        return this.inquiry(h, m, disk, cdb);
      case OP.READ_CAPACITY_10: {
        const b = new Uint8Array(8);
        writeBe32(b, 0, Math.min(disk.sectors - 1, 0xffffffff));
        writeBe32(b, 4, SECTOR_SIZE);
        return this.dataIn(h, m, b);
      }
      case OP.SERVICE_ACTION_IN_16: {
        if ((cdb[1] & 0x1f) !== SAI_READ_CAPACITY_16) return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
        const b = new Uint8Array(32);
        writeBe64(b, 0, disk.sectors - 1);
        writeBe32(b, 8, SECTOR_SIZE);
        return this.dataIn(h, m, b.subarray(0, Math.min(32, readBe32(cdb, 10))));
      }
      case OP.MODE_SENSE_6: {
        const b = Uint8Array.of(3, 0, disk.readOnly ? 0x80 : 0, 0);
        return this.dataIn(h, m, b.subarray(0, Math.min(4, cdb[4])));
      }
      case OP.REQUEST_SENSE: {
        const s = buildSense(SENSE_KEY.NO_SENSE, [0, 0]);
        return this.dataIn(h, m, s.subarray(0, Math.min(s.length, cdb[4])));
      }
      case OP.SYNCHRONIZE_CACHE_10:
      case OP.SYNCHRONIZE_CACHE_16: {
        if (!this.sync(h.dev.id, disk)) {
          return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.WRITE_ERROR);
        }
        disk.stats.flushes++;
        return this.reply(h, m, {});
      }
      default:
        this.event(h.dev.id, `unsupported ${opName(op)}: ILLEGAL REQUEST (invalid command operation code)`);
        return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_OPCODE);
    }
  }

  private inquiry(h: HbaDev, m: Cmdrsp, disk: Disk, cdb: Uint8Array): void {
    const alloc = (cdb[3] << 8) | cdb[4];
    const evpd = (cdb[1] & 1) !== 0;
    const page = cdb[2];
    let b: Uint8Array;
    if (!evpd) {
      if (page !== 0) return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
      b = new Uint8Array(36);
      b[0] = 0x00; // connected direct-access device
      b[2] = 0x05; // SPC-3
      b[3] = 0x02;
      b[4] = 31;
      b[7] = 0x02; // command queueing
      const put = (s: string, at: number, n: number): void => {
        for (let i = 0; i < n; i++) b[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
      };
      put(disk.vendor, 8, 8);
      put(disk.model, 16, 16);
      put(disk.rev, 32, 4);
    } else {
      const serial = `VB${h.dev.bus}D${h.dev.dev}L${disk.lun}`;
      if (page === 0x00) b = Uint8Array.of(0, 0x00, 0, 3, 0x00, 0x80, 0x83);
      else if (page === 0x80) b = Uint8Array.from([0, 0x80, 0, serial.length, ...[...serial].map((c) => c.charCodeAt(0))]);
      else if (page === 0x83) {
        const idText = `${disk.vendor}${serial}`;
        const desc = [0x02, 0x01, 0, idText.length, ...[...idText].map((c) => c.charCodeAt(0))];
        b = Uint8Array.from([0, 0x83, 0, desc.length, ...desc]);
      } else return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
    }
    this.dataIn(h, m, b.subarray(0, Math.min(b.length, alloc)));
  }

  private reportLuns(h: HbaDev, m: Cmdrsp, id: number): void {
    const luns = [...h.disks.values()].filter((d) => d.id === id).map((d) => d.lun).sort((a, b) => a - b);
    const b = new Uint8Array(8 + 8 * luns.length);
    writeBe32(b, 0, 8 * luns.length);
    luns.forEach((l, i) => {
      b[8 + i * 8] = l > 255 ? 0x40 | ((l >> 8) & 0x3f) : 0;
      b[8 + i * 8 + 1] = l & 0xff;
    });
    const alloc = readBe32(m.slice(SCSI.cmnd, 16), 6);
    this.dataIn(h, m, b.subarray(0, Math.min(b.length, alloc)));
  }

  // ------------------------------------------------------------------ data movement

  private gpi(m: Cmdrsp): { addr: number; len: number }[] {
    const n = Math.min(m.u16(SCSI.guest_phys_entries), SCSI.max_gpi);
    const out: { addr: number; len: number }[] = [];
    for (let i = 0; i < n; i++) out.push({ addr: m.u64n(SCSI.gpi_list + i * SCSI.gpi_entry), len: m.u64n(SCSI.gpi_list + i * SCSI.gpi_entry + 8) });
    return out;
  }

  /** Guest buffers -> bytes (WRITE). */
  private gather(m: Cmdrsp, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let off = 0;
    for (const e of this.gpi(m)) {
      const n = Math.min(e.len, len - off);
      if (n <= 0) break;
      this.h.memory.readInto(e.addr, out, off, n);
      off += n;
    }
    return out.subarray(0, off);
  }

  /** Bytes -> guest buffers (READ and other data-in commands). */
  private scatter(m: Cmdrsp, data: Uint8Array): void {
    let off = 0;
    for (const e of this.gpi(m)) {
      const n = Math.min(e.len, data.length - off);
      if (n <= 0) break;
      this.h.memory.write(e.addr, data.subarray(off, off + n));
      off += n;
    }
  }

  private dataIn(h: HbaDev, m: Cmdrsp, data: Uint8Array): void {
    const dir = m.u32(SCSI.data_dir);
    const len = Math.min(data.length, m.u32(SCSI.bufflen));
    if (len > 0 && dir !== UIS_DMA.NONE && dir !== UIS_DMA.TO_DEVICE) {
      try {
        this.scatter(m, data.subarray(0, len));
      } catch (e) {
        if (!(e instanceof UnmappedError)) throw e;
        this.event(h.dev.id, `${opName(m.u8(SCSI.cmnd))}: guest buffer not mapped; answered DID_ERROR`);
        return this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
      }
    }
    this.reply(h, m, {});
  }

  private checkCondition(h: HbaDev, m: Cmdrsp, key: number, asc: readonly [number, number], info?: number): void {
    const lun = m.u32(SCSI.vdest_lun);
    const d = h.disks.get(diskKey(m.u32(SCSI.vdest_id), lun));
    if (d) d.stats.errors++;
    this.reply(h, m, { linuxstat: makeResult(DID.OK, SAM_STAT.CHECK_CONDITION, true), scsistat: SAM_STAT.CHECK_CONDITION, sense: buildSense(key, asc, info) });
  }

  private reply(h: HbaDev, m: Cmdrsp, r: { linuxstat?: number; scsistat?: number; addlstat?: number; sense?: Uint8Array; noDisk?: boolean }): void {
    const a = m.clone();
    a.setU32(SCSI.linuxstat, r.linuxstat ?? 0);
    a.setU8(SCSI.scsistat, r.scsistat ?? 0);
    a.setU8(SCSI.addlstat, r.addlstat ?? 0);
    a.bytes.fill(0, SCSI.sensebuf, SCSI.sensebuf + SCSI.sensebuf_len);
    if (r.sense) a.set(SCSI.sensebuf, r.sense.subarray(0, SCSI.sensebuf_len));
    a.setU32(SCSI.no_disk_result, r.noDisk ? 1 : 0);
    h.stats.answered++;
    this.answer(h, a);
  }

  private answer(h: HbaDev, m: Cmdrsp): void {
    h.outbox.push(Uint8Array.from(m.bytes));
    this.flushOutbox(h);
  }

  private flushOutbox(h: HbaDev): void {
    while (h.outbox.length) {
      if (h.channel.signalInsert(IOCHAN_FROM_IOPART, h.outbox[0]) !== 0) break;
      h.outbox.shift();
    }
  }

  private event(subject: string, text: string): void {
    this.host?.engine.emit('backend', subject, `IO partition (disk): ${text}`);
  }
}

function errnoText(e: number): string {
  const n = Math.abs(e);
  return n === 5 ? 'EIO' : n === 6 ? 'ENXIO' : n === 19 ? 'ENODEV' : n === 13 ? 'EACCES' : `errno ${n}`;
}
