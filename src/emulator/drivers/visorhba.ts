/**
 * visorhba: the function driver for s-Par virtual SCSI host bus adapters (reference
 * §7.3), channel type {vhba GUID, "sparvhba", 128, 2}. It registers a SCSI host
 * ("Unisys Visor HBA", can_queue 128, this_id -1) sized from `vhba.max` at channel
 * offset 392, sets VISOR_CHANNEL_IS_POLLING in the channel features, enables the bus
 * core's 10-jiffy channel_interrupt poll, and starts a scan; the guest's SCSI
 * mid-layer (guest/scsihost.ts) finds the LUNs and sd turns disks into /sys/block/sdX.
 *
 * Commands go to the IO partition on queue 0 as `uiscmdrsp` (cmdtype 1): the
 * pending-slot number (0–127, searched round-robin) is the handle, the SG list is
 * gpi_list. Task management (cmdtype 3: ABORT_TASK, LUN_RESET, BUS_RESET) carries the
 * vdest, its own slot and two IDR ids; the error handler waits up to 45 s for any
 * answer. Responses come on queue 1 and are drained each poll; a response whose
 * handle is out of range or names an empty slot stops the draining for that poll
 * (the message is consumed). NOTIFYGUEST messages are logged once and ignored.
 *
 * Pause fails every pending command back with DID_RESET (the mid-layer re-issues them
 * after the resume) and every pending task-management request with result 0, then
 * completes. Resume re-enables polling but — as in the kernel — never calls
 * complete_func, so the Command partition gets no DEVICE_CHANGESTATE response for it.
 *
 * Where the kernel would touch freed memory (a response naming a slot that holds a
 * task-management request, or completing a command the error handler already
 * finished) this model logs and ignores instead; the mid-layer drops completions of
 * attempts that are no longer current.
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { GUIDS } from '../protocol/guid';
import { EIO } from '../protocol/errno';
import {
  ADDL, CMD, Cmdrsp, DRAIN_LIMIT, IOCHAN_FROM_IOPART, IOCHAN_TO_IOPART, SCSI, SIZEOF_CMDRSP, TASK_MGMT, TASK_MGMT_NAMES, TASKMGMT, UISCMDRSP_BYTES,
  VHBA_MAX, VISOR_CHANNEL_IS_POLLING,
} from './uiscmdrsp';
import { FAILED, SCSI_MLQUEUE_DEVICE_BUSY, ScsiCmnd, ScsiDevice, ScsiHost, SUCCESS } from '../guest/scsihost';
import { DID, hostByte, makeResult, OP, opName } from '../guest/scsi';

/** MAX_PENDING_REQUESTS = 2 × MIN_NUMSIGNALS. */
export const MAX_PENDING_REQUESTS = 128;
/** The error handler's wait for a task-management answer. */
export const TASKMGMT_WAIT_MS = 45000;
const VISORHBA_ERROR_COUNT = 30;
const IOS_ERROR_THRESHOLD = 1000;
const PAGE_SIZE = 4096;
const MAX_PHYS_INFO = 64;

/** vdisk_info per LUN (error accounting). */
export interface VdiskInfo {
  error_count: number;
  ios_threshold: number;
}

/** What the debugger shows for a visorhba device (dev.driverData). */
export interface VisorhbaData {
  host: string;
  max: { max_channel: number; max_id: number; max_lun: number; cmd_per_lun: number; max_io_size: number };
  serverdown: boolean;
  serverchangingstate: boolean;
  polling: boolean;
  /** Occupied pending slots: slot -> what it holds. */
  pending: Record<string, string>;
  pending_count: number;
  nextinsert: number;
  max_buff_len: number;
  interrupts_rcvd: number;
  interrupts_disabled: number;
  interrupts_notme: number;
  acquire_failed_cnt: number;
  responses: number;
  /** Times a response stopped the draining (unknown handle or empty slot). */
  responses_stopped: number;
  notifyguest_ignored: number;
  taskmgmt: { sent: number; answered: number; timed_out: number; failed_to_send: number };
  vdisks: Record<string, VdiskInfo>;
  /** Set when a resume was not completed (the CP got no response). */
  resume_uncompleted: number;
  scsi: Record<string, string | number | boolean>;
}

interface TaskWaiter {
  tasktype: number;
  slot: number;
  notifyHandle: number;
  resultHandle: number;
  finish: (rc: number) => void;
  cancelTimer?: () => void;
  done: boolean;
}

type Pending = { kind: 'scsi'; cmd: ScsiCmnd; attempt: number } | { kind: 'taskmgmt'; waiter: TaskWaiter };

interface Internal {
  host: ScsiHost;
  pending: (Pending | undefined)[];
  idr: Map<number, TaskWaiter>;
  idrNext: number;
  rsp: Uint8Array;
  /** A 1216-byte work copy of the response being handled. */
  work: Cmdrsp;
}

export function createVisorhba(): VisorDriver {
  const internals = new WeakMap<VisorDevice, Internal>();
  let notifyGuestLogged = false;

  const dd = (dev: VisorDevice): VisorhbaData => dev.driverData as VisorhbaData;

  const refresh = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    const p: Record<string, string> = {};
    inn.pending.forEach((e, i) => {
      if (!e) return;
      p[String(i)] = e.kind === 'scsi' ? `${opName(e.cmd.opcode)} #${e.cmd.serial} ${e.cmd.sdev.hctl}` : `${TASK_MGMT_NAMES[e.waiter.tasktype]} (task management)`;
    });
    d.pending = p;
    d.pending_count = Object.keys(p).length;
    d.scsi = inn.host.summary();
  };

  /** add_scsipending_entry: a free slot, searched round-robin from nextinsert; -1 when all are in use. */
  const addPending = (dev: VisorDevice, inn: Internal, e: Pending): number => {
    const d = dd(dev);
    let at = d.nextinsert;
    while (inn.pending[at]) {
      at = (at + 1) % MAX_PENDING_REQUESTS;
      if (at === d.nextinsert) return -1;
    }
    inn.pending[at] = e;
    d.nextinsert = (at + 1) % MAX_PENDING_REQUESTS;
    return at;
  };

  const delPending = (inn: Internal, slot: number): Pending | undefined => {
    if (slot < 0 || slot >= MAX_PENDING_REQUESTS) return undefined;
    const e = inn.pending[slot];
    inn.pending[slot] = undefined;
    return e;
  };

  const vdisk = (d: VisorhbaData, channel: number, id: number, lun: number): VdiskInfo => {
    const key = `${channel}:${id}:${lun}`;
    let v = d.vdisks[key];
    if (!v) d.vdisks[key] = v = { error_count: 0, ios_threshold: 0 };
    return v;
  };

  // ------------------------------------------------------------------ queuecommand

  const queueCommand = (dev: VisorDevice, inn: Internal, cmd: ScsiCmnd): number => {
    const d = dd(dev);
    if (d.serverdown || d.serverchangingstate) return SCSI_MLQUEUE_DEVICE_BUSY;
    const attempt = cmd.attempt;
    const slot = addPending(dev, inn, { kind: 'scsi', cmd, attempt });
    if (slot < 0) return SCSI_MLQUEUE_DEVICE_BUSY;
    if (cmd.sg.length > MAX_PHYS_INFO) {
      delPending(inn, slot);
      return SCSI_MLQUEUE_DEVICE_BUSY;
    }
    const m = new Cmdrsp();
    m.cmdtype = CMD.SCSI;
    m.setU64(SCSI.handle, slot);
    m.set(SCSI.cmnd, cmd.cdb.subarray(0, SCSI.cmnd_len));
    m.setU32(SCSI.bufflen, cmd.bufflen);
    m.setU16(SCSI.guest_phys_entries, cmd.sg.length);
    cmd.sg.forEach((e, i) => {
      m.setU64(SCSI.gpi_list + i * SCSI.gpi_entry, e.addr);
      m.setU64(SCSI.gpi_list + i * SCSI.gpi_entry + 8, e.len);
    });
    m.setU32(SCSI.data_dir, cmd.dataDir);
    m.setU32(SCSI.vdest_channel, cmd.channel);
    m.setU32(SCSI.vdest_id, cmd.id);
    m.setU32(SCSI.vdest_lun, cmd.lun);
    if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) !== 0) {
      delPending(inn, slot);
      return SCSI_MLQUEUE_DEVICE_BUSY;
    }
    cmd.hostScribble = slot;
    refresh(dev, inn);
    return 0;
  };

  // ------------------------------------------------------------------ task management

  const idrAlloc = (inn: Internal, w: TaskWaiter): number => {
    while (inn.idr.has(inn.idrNext)) inn.idrNext = inn.idrNext >= 0x7fffffff ? 1 : inn.idrNext + 1;
    const id = inn.idrNext;
    inn.idr.set(id, w);
    inn.idrNext = id >= 0x7fffffff ? 1 : id + 1;
    return id;
  };

  const cleanupWaiter = (inn: Internal, w: TaskWaiter): void => {
    w.done = true;
    w.cancelTimer?.();
    w.cancelTimer = undefined;
    inn.idr.delete(w.notifyHandle);
    inn.idr.delete(w.resultHandle);
  };

  /** forward_taskmgmt_command: send, then wait up to 45 s for any answer. */
  const forwardTaskmgmt = (dev: VisorDevice, inn: Internal, tasktype: number, sdev: ScsiDevice, finish: (rc: number) => void): void => {
    const d = dd(dev);
    if (d.serverdown || d.serverchangingstate) return finish(FAILED);
    const w: TaskWaiter = { tasktype, slot: -1, notifyHandle: 0, resultHandle: 0, finish, done: false };
    const slot = addPending(dev, inn, { kind: 'taskmgmt', waiter: w });
    if (slot < 0) {
      d.taskmgmt.failed_to_send++;
      return finish(FAILED);
    }
    w.slot = slot;
    w.notifyHandle = idrAlloc(inn, w);
    w.resultHandle = idrAlloc(inn, w);
    const m = new Cmdrsp();
    m.cmdtype = CMD.SCSITASKMGMT;
    m.setU32(TASKMGMT.tasktype, tasktype);
    m.setU32(TASKMGMT.vdest_channel, sdev.channel);
    m.setU32(TASKMGMT.vdest_id, sdev.id);
    m.setU32(TASKMGMT.vdest_lun, sdev.lun);
    m.setU64(TASKMGMT.handle, slot);
    m.setU64(TASKMGMT.notify_handle, w.notifyHandle);
    m.setU64(TASKMGMT.notifyresult_handle, w.resultHandle);
    if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) !== 0) {
      delPending(inn, slot);
      cleanupWaiter(inn, w);
      d.taskmgmt.failed_to_send++;
      refresh(dev, inn);
      return finish(FAILED);
    }
    d.taskmgmt.sent++;
    dev.info(`scsi ${sdev.hctl}: ${TASK_MGMT_NAMES[tasktype]} sent (slot ${slot}); waiting up to ${TASKMGMT_WAIT_MS / 1000} s`);
    const k = dev.kernel;
    w.cancelTimer = k.setTimer(dev, Math.ceil((TASKMGMT_WAIT_MS * k.hz) / 1000), `visorhba ${TASK_MGMT_NAMES[tasktype]} wait`, () => {
      w.cancelTimer = undefined;
      if (w.done) return;
      d.taskmgmt.timed_out++;
      dev.warn(`scsi ${sdev.hctl}: ${TASK_MGMT_NAMES[tasktype]} timed out after ${TASKMGMT_WAIT_MS / 1000} s`);
      delPending(inn, w.slot);
      cleanupWaiter(inn, w);
      refresh(dev, inn);
      finish(FAILED);
    });
    refresh(dev, inn);
  };

  /** complete_taskmgmt_command: the waiter found through the IDR handles gets its answer. */
  const completeTaskmgmt = (dev: VisorDevice, inn: Internal, notifyHandle: number, resultHandle: number, result: number): void => {
    const w = inn.idr.get(notifyHandle);
    const wr = inn.idr.get(resultHandle);
    if (!w || w !== wr || w.done) {
      dev.warn(`task-management answer with unknown handles ${notifyHandle}/${resultHandle}; ignored`);
      return;
    }
    dd(dev).taskmgmt.answered++;
    cleanupWaiter(inn, w);
    dev.info(`${TASK_MGMT_NAMES[w.tasktype]} answered (result ${result}); any answer counts as success`);
    w.finish(SUCCESS);
  };

  // ------------------------------------------------------------------ responses

  /** The "no disk" INQUIRY answer the guest builds when the IO partition sets no_disk_result. */
  const noDiskInquiry = (lun: number): Uint8Array => {
    const b = new Uint8Array(36);
    b[0] = lun === 0 ? 0x20 : 0x7f;
    b[2] = 4;
    b[3] = lun === 0 ? 0x10 : 0;
    b[4] = 31;
    const id = 'DELLPSEUDO DEVICE .';
    for (let i = 0; i < id.length; i++) b[8 + i] = id.charCodeAt(i);
    return b;
  };

  const completeScsi = (dev: VisorDevice, inn: Internal, e: { cmd: ScsiCmnd; attempt: number }, m: Cmdrsp): void => {
    const d = dd(dev);
    const cmd = e.cmd;
    const linuxstat = m.u32(SCSI.linuxstat);
    cmd.result = linuxstat;
    const v = vdisk(d, cmd.channel, cmd.id, cmd.lun);
    if (linuxstat !== 0) {
      cmd.sense.fill(0);
      cmd.sense.set(m.slice(SCSI.sensebuf, SCSI.sensebuf_len));
      const quietScan = cmd.opcode === OP.INQUIRY && hostByte(linuxstat) === DID.NO_CONNECT && m.u8(SCSI.addlstat) === ADDL.SEL_TIMEOUT;
      if (!quietScan) {
        if (v.error_count < VISORHBA_ERROR_COUNT) {
          v.error_count++;
          v.ios_threshold = IOS_ERROR_THRESHOLD;
        }
      }
    } else {
      if (cmd.opcode === OP.INQUIRY && cmd.bufflen >= 5 && m.u32(SCSI.no_disk_result) !== 0) {
        const answer = noDiskInquiry(cmd.lun);
        for (const sg of cmd.sg) dev.kernel.memory.write(sg.addr, answer.subarray(0, Math.min(sg.len, answer.length)));
      }
      if (v.ios_threshold > 0) {
        v.ios_threshold--;
        if (v.ios_threshold === 0) v.error_count = 0;
      }
    }
    inn.host.complete(cmd, e.attempt);
  };

  /** drain_queue: remove responses from queue 1 until it is empty (or a response stops it). */
  const drainQueue = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    const m = inn.work;
    const rsp = inn.rsp;
    let took = 0;
    for (;;) {
      rsp.fill(0);
      if (took >= DRAIN_LIMIT) {
        dev.err(`queue ${IOCHAN_FROM_IOPART} still not empty after ${DRAIN_LIMIT} responses: its head/tail look corrupted; draining stops for this poll`);
        break;
      }
      if (dev.channel.signalRemove(IOCHAN_FROM_IOPART, rsp) !== 0) break;
      m.bytes.fill(0);
      m.bytes.set(rsp);
      d.responses++;
      took++;
      if (m.cmdtype === CMD.SCSI) {
        const handle = m.u64(SCSI.handle);
        const e = handle < BigInt(MAX_PENDING_REQUESTS) ? inn.pending[Number(handle)] : undefined;
        if (!e || e.kind !== 'scsi') {
          d.responses_stopped++;
          dev.warn(`response for handle ${handle} ${e ? 'names a task-management slot' : 'names no pending command'}; draining stops for this poll`);
          break;
        }
        delPending(inn, Number(handle));
        completeScsi(dev, inn, e, m);
      } else if (m.cmdtype === CMD.SCSITASKMGMT) {
        const handle = m.u64(TASKMGMT.handle);
        const e = handle < BigInt(MAX_PENDING_REQUESTS) ? inn.pending[Number(handle)] : undefined;
        if (!e) {
          d.responses_stopped++;
          dev.warn(`task-management response for handle ${handle} names no pending request; draining stops for this poll`);
          break;
        }
        delPending(inn, Number(handle));
        if (e.kind === 'taskmgmt') completeTaskmgmt(dev, inn, m.u64n(TASKMGMT.notify_handle), m.u64n(TASKMGMT.notifyresult_handle), m.u8(TASKMGMT.result));
        else dev.warn(`task-management response names slot ${handle}, which holds a SCSI command; ignored`);
      } else if (m.cmdtype === CMD.NOTIFYGUEST) {
        d.notifyguest_ignored++;
        if (!notifyGuestLogged) {
          notifyGuestLogged = true;
          dev.info('ignoring unsupported NOTIFYGUEST');
        }
      }
    }
    if (took) refresh(dev, inn);
  };

  /** Pause: fail everything pending back (DID_RESET / task-management result 0). */
  const serverdown = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    d.serverchangingstate = true;
    if (d.polling) {
      dev.disableChannelInterrupts();
      d.polling = false;
      d.interrupts_disabled++;
    }
    let cmds = 0;
    let tms = 0;
    for (let slot = 0; slot < MAX_PENDING_REQUESTS; slot++) {
      const e = delPending(inn, slot);
      if (!e) continue;
      if (e.kind === 'scsi') {
        cmds++;
        e.cmd.result = makeResult(DID.RESET, 0);
        e.cmd.sense.fill(0);
        inn.host.complete(e.cmd, e.attempt);
      } else {
        tms++;
        if (!e.waiter.done) {
          cleanupWaiter(inn, e.waiter);
          e.waiter.finish(SUCCESS);
        }
      }
    }
    if (cmds || tms) dev.info(`server down: ${cmds} pending command(s) failed back with DID_RESET, ${tms} task-management request(s) answered with result 0`);
    d.serverdown = true;
    d.serverchangingstate = false;
    refresh(dev, inn);
  };

  return {
    name: 'visorhba',
    channelTypes: [{ guid: GUIDS.vhba, name: 'sparvhba', minBytes: 128, version: 2 }],

    probe(dev: VisorDevice): number {
      const raw = new Uint8Array(VHBA_MAX.bytes);
      if (dev.channel.read(VHBA_MAX.max_channel, raw) !== 0) {
        dev.err('cannot read vhba.max from the channel');
        return -EIO;
      }
      const v = new DataView(raw.buffer);
      const max = {
        max_channel: v.getUint32(0, true),
        max_id: v.getUint32(4, true),
        max_lun: v.getUint32(8, true),
        cmd_per_lun: v.getUint32(12, true),
        max_io_size: v.getUint32(16, true),
      };
      if (!max.max_id) dev.warn('vhba.max.max_id is 0: the scan will find no targets');
      const d: VisorhbaData = {
        host: '',
        max,
        serverdown: false,
        serverchangingstate: false,
        polling: false,
        pending: {},
        pending_count: 0,
        nextinsert: 0,
        max_buff_len: 0,
        interrupts_rcvd: 0,
        interrupts_disabled: 0,
        interrupts_notme: 0,
        acquire_failed_cnt: 0,
        responses: 0,
        responses_stopped: 0,
        notifyguest_ignored: 0,
        taskmgmt: { sent: 0, answered: 0, timed_out: 0, failed_to_send: 0 },
        vdisks: {},
        resume_uncompleted: 0,
        scsi: {},
      };
      dev.driverData = d;
      // eslint-disable-next-line prefer-const
      let inn: Internal;
      const host = new ScsiHost(
        dev,
        {
          name: 'Unisys Visor HBA',
          // visorhba_driver_template sets no .proc_name.
          procName: null,
          canQueue: MAX_PENDING_REQUESTS,
          thisId: -1,
          cmdPerLun: max.cmd_per_lun || 1,
          sgTablesize: Math.min(Math.floor(max.max_io_size / PAGE_SIZE), MAX_PHYS_INFO),
          maxSectors: max.max_io_size >> 9,
          maxId: max.max_id,
          maxLun: max.max_lun,
          // visorhba ignores max_channel: the host keeps the default of one channel.
          maxChannel: 0,
        },
        {
          queueCommand: (cmd) => queueCommand(dev, inn, cmd),
          abort: (cmd, finish) => {
            const vd = vdisk(d, cmd.channel, cmd.id, cmd.lun);
            if (vd.error_count < VISORHBA_ERROR_COUNT) vd.error_count++;
            else vd.ios_threshold = IOS_ERROR_THRESHOLD;
            forwardTaskmgmt(dev, inn, TASK_MGMT.ABORT_TASK, cmd.sdev, finish);
          },
          deviceReset: (sdev, finish) => forwardTaskmgmt(dev, inn, TASK_MGMT.LUN_RESET, sdev, finish),
          busReset: (sdev, finish) => forwardTaskmgmt(dev, inn, TASK_MGMT.BUS_RESET, sdev, finish),
          // The host reset handler sends nothing and reports success.
          hostReset: (_sdev, finish) => finish(SUCCESS),
        },
      );
      inn = { host, pending: new Array<Pending | undefined>(MAX_PENDING_REQUESTS).fill(undefined), idr: new Map(), idrNext: 1, rsp: new Uint8Array(UISCMDRSP_BYTES), work: new Cmdrsp(new Uint8Array(SIZEOF_CMDRSP)) };
      internals.set(dev, inn);
      d.max_buff_len = max.max_io_size;
      host.add();
      d.host = host.className;
      // features |= VISOR_CHANNEL_IS_POLLING
      const f = new Uint8Array(8);
      if (dev.channel.read(24, f) === 0) {
        f[0] |= VISOR_CHANNEL_IS_POLLING;
        dev.channel.write(24, f);
      }
      if (dev.enableChannelInterrupts() === 0) d.polling = true;
      host.scan();
      refresh(dev, inn);
      return 0;
    },

    remove(dev: VisorDevice): void {
      const inn = internals.get(dev);
      if (!inn) return;
      const d = dd(dev);
      if (d.polling) {
        dev.disableChannelInterrupts();
        d.polling = false;
      }
      for (const w of inn.idr.values()) if (!w.done) cleanupWaiter(inn, w);
      for (let slot = 0; slot < MAX_PENDING_REQUESTS; slot++) inn.pending[slot] = undefined;
      inn.host.remove();
      internals.delete(dev);
      refresh(dev, inn);
    },

    channelInterrupt(dev: VisorDevice): void {
      const inn = internals.get(dev);
      if (!inn) return;
      drainQueue(dev, inn);
    },

    pause(dev: VisorDevice, complete: CompleteFunc): number {
      const inn = internals.get(dev);
      const d = dd(dev);
      if (inn && !d.serverdown && !d.serverchangingstate) serverdown(dev, inn);
      complete(0);
      return 0;
    },

    resume(dev: VisorDevice, _complete: CompleteFunc): number {
      const inn = internals.get(dev);
      const d = dd(dev);
      if (!inn) return -EIO;
      if (d.serverdown && !d.serverchangingstate) d.serverchangingstate = true;
      if (!d.polling && dev.enableChannelInterrupts() === 0) d.polling = true;
      d.serverdown = false;
      d.serverchangingstate = false;
      d.resume_uncompleted++;
      dev.info('resumed; visorhba never calls complete_func on resume, so the Command partition gets no DEVICE_CHANGESTATE response for it');
      inn.host.run();
      refresh(dev, inn);
      return 0;
    },
  };
}
