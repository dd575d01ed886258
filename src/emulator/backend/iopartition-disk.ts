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
 *
 * This file is the back-end itself (device lifecycle, scenario commands, faults, the
 * poll, task management); the SCSI commands are executed by iopartition-scsitarget.ts,
 * the image files handled by iopartition-diskimage.ts, the guest's own I/O issued by
 * iopartition-diskio.ts, and a device's state is described in iopartition-hba.ts.
 */
import { BusPoller } from './buspoller';
import type { BackendCommand, BackendDevice, BackendHost, ServiceBackend } from './servicepartition';
import { VisorChannel } from '../visorchannel/visorchannel';
import { GUIDS } from '../protocol/guid';
import { UnmappedError } from '../memory/guestmemory';
import {
  CMD,
  Cmdrsp,
  DISKNOTIFY,
  DRAIN_LIMIT,
  IOCHAN_FROM_IOPART,
  IOCHAN_TO_IOPART,
  SCSI,
  SIZEOF_CMDRSP,
  TASK_MGMT,
  TASK_MGMT_NAMES,
  TASK_MGMT_SUCCESS,
  TASKMGMT,
  VHBA_MAX,
  VHBA_WWNN,
} from '../drivers/uiscmdrsp';
import { opName } from '../guest/scsi';
import { dataText } from '../guest/block';
import { MAX_IMAGE_BYTES } from '../limits';
import { devId, flagOpt, hexText, numOpt, requireType, strOpt, toNumber, unknownVerb } from './iopartition-cmdargs';
import { closeImage, type Disk, openImage, reopenImage, syncImage } from './iopartition-diskimage';
import { errnoText, guestIo } from './iopartition-diskio';
import { diskKey, type HbaDev, type Held, VHBA_DEFAULTS } from './iopartition-hba';
import { ScsiTarget } from './iopartition-scsitarget';

export { DEFAULT_IMAGE_SIZE } from './iopartition-diskimage';
export { VHBA_DEFAULTS } from './iopartition-hba';

/** The guest's SCSI time-out is 30 s: a `timeout` fault answers after 35 s by default. */
export const DEFAULT_TIMEOUT_DELAY_MS = 35000;

export class IoPartitionDisk implements ServiceBackend {
  readonly families = ['disk', 'fault'] as const;
  readonly typeGuids = [GUIDS.vhba] as const;
  private host: BackendHost | undefined;
  private readonly devices = new Map<string, HbaDev>();
  /** Disk configuration per device number ("2:0"), kept across destroy / create. */
  private readonly configs = new Map<string, Map<string, Disk>>();
  /** Every jiffy, on each bus's back-end thread, serve the bus's devices. */
  private readonly poller = new BusPoller<HbaDev>(
    (bus, fn) => this.h.schedule(bus, 1, `iopart disk bus ${bus} poll`, fn),
    (d) => this.service(d),
  );
  private readonly rx = new Uint8Array(SIZEOF_CMDRSP);
  /** Executes the guest's SCSI commands on the LUNs' images. */
  private readonly target = new ScsiTarget(
    () => this.h,
    (subject, text) => this.event(subject, text),
  );

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
    for (const d of disks.values()) reopenImage(d, (t) => this.event(dev.id, t));
    const hd: HbaDev = {
      dev,
      channel: ch,
      disks,
      outbox: [],
      held: [],
      faults: [],
      stallUntil: 0,
      scanned: false,
      q0: dev.physaddr + ch.queueOffset(IOCHAN_TO_IOPART),
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
      for (const d of h.disks.values()) syncImage(d, (t) => this.event(h.dev.id, t));
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
        return guestIo(this.h, cmd, h, (subject, text) => this.event(subject, text));
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
    const { fd, unlock, sectors } = openImage(this.h.files, file, readOnly, sizeOpt, (t) => this.event(h.dev.id, t));
    const disk: Disk = {
      lun,
      id,
      file,
      fd,
      unlock,
      sectors,
      readOnly,
      vendor: (strOpt(cmd, 'vendor') ?? 'UNISYS').slice(0, 8).padEnd(8),
      model: (strOpt(cmd, 'model') ?? 'VIRTUAL DISK').slice(0, 16).padEnd(16),
      rev: '1.0 ',
      stats: { commands: 0, reads: 0, writes: 0, read_bytes: 0, written_bytes: 0, flushes: 0, errors: 0 },
    };
    h.disks.set(diskKey(id, lun), disk);
    this.event(h.dev.id, `LUN ${lun} attached: ${file}, ${sectors} sectors${readOnly ? ', read-only' : ''}`);
    if (h.scanned) this.notifyLateLun(h, id, lun);
  }

  /** A LUN added after the guest scanned: s-Par would notify the guest; visorhba ignores it. */
  private notifyLateLun(h: HbaDev, id: number, lun: number): void {
    const n = new Cmdrsp();
    n.cmdtype = CMD.NOTIFYGUEST;
    n.setU8(DISKNOTIFY.add, 1);
    n.setU32(DISKNOTIFY.channel, 0);
    n.setU32(DISKNOTIFY.id, id);
    n.setU32(DISKNOTIFY.lun, lun);
    this.target.answer(h, n);
    const host = this.h.guest.scsi.hostOf(h.dev.id);
    this.event(
      h.dev.id,
      `the guest already scanned ${h.dev.id}: it sees LUN ${lun} after a rescan (echo "- - -" > /sys/class/scsi_host/${host?.className ?? 'hostN'}/scan)`,
    );
  }

  private closeDisk(id: string, d: Disk): void {
    closeImage(d, (t) => this.event(id, t));
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
        this.event(
          h.dev.id,
          `fault: ${cmd.verb} for the next ${count} I/O command(s)${where}${cmd.verb === 'timeout' ? ` (answered after ${delayMs} ms)` : ''}`,
        );
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
    if (h.outbox.length) this.target.flushOutbox(h);
    const now = this.h.engine.jiffies;
    if (h.held.length) {
      const due = h.held.filter((x) => x.due <= now);
      if (due.length) {
        h.held = h.held.filter((x) => x.due > now);
        for (const x of due) {
          this.event(h.dev.id, `late answer for ${opName(x.msg.u8(SCSI.cmnd))} (handle ${x.msg.u64(SCSI.handle)})`);
          this.target.execute(h, x.msg, true);
        }
      }
    }
    if (h.stallUntil > now || this.idle(h)) return;
    let taken = 0;
    while (h.channel.signalRemove(IOCHAN_TO_IOPART, this.rx) === 0) {
      if (++taken > DRAIN_LIMIT) {
        this.event(
          h.dev.id,
          `queue ${IOCHAN_TO_IOPART} still not empty after ${DRAIN_LIMIT} commands: its head/tail look corrupted; reading stops for this poll`,
        );
        break;
      }
      const msg = new Cmdrsp(Uint8Array.from(this.rx));
      h.stats.commands++;
      if (msg.cmdtype === CMD.SCSI) this.target.execute(h, msg, false);
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
      type === TASK_MGMT.BUS_RESET
        ? x.channel === ch
        : type === TASK_MGMT.TARGET_RESET
          ? x.channel === ch && x.id === id
          : x.channel === ch && x.id === id && x.lun === lun;
    const dropped = h.held.filter(scope);
    h.held = h.held.filter((x) => !scope(x));
    h.stats.aborted += dropped.length;
    const a = m.clone();
    a.setU8(TASKMGMT.result, TASK_MGMT_SUCCESS);
    this.target.answer(h, a);
    this.event(
      h.dev.id,
      `${TASK_MGMT_NAMES[type] ?? `task ${type}`} for ${ch}:${id}:${lun}: ${dropped.length} held command(s) dropped; answered TASK_MGMT_SUCCESS`,
    );
  }

  private event(subject: string, text: string): void {
    this.host?.engine.emit('backend', subject, `IO partition (disk): ${text}`);
  }
}
