/**
 * visorhba's response path: process_incoming_rsps drains queue 1 each poll. A SCSI
 * response completes the command in its slot (with the error accounting of
 * do_scsi_linuxstat / do_scsi_nolinuxstat); a task-management response wakes its
 * waiter; NOTIFYGUEST is logged once and ignored. A response whose handle is out of
 * range or names an empty slot stops the draining for that poll.
 */
import { ADDL, CMD, Cmdrsp, DRAIN_LIMIT, IOCHAN_FROM_IOPART, SCSI, TASKMGMT } from '../uiscmdrsp';
import type { ScsiCmnd } from '../../guest/scsihost';
import { DID, hostByte, OP } from '../../guest/scsi';
import {
  del_scsipending_ent,
  IOS_ERROR_THRESHOLD,
  MAX_PENDING_REQUESTS,
  Pending,
  VdiskInfo,
  vdisk_info,
  VISORHBA_ERROR_COUNT,
  visorhba_devdata,
  visorhba_refresh,
} from './devdata';
import { complete_taskmgmt_command } from './taskmgmt';
import { guestOf } from '../../guest/kernel';

/** The "no disk" INQUIRY answer the guest builds when the IO partition sets no_disk_result. */
export function visorhba_no_disk_inquiry(lun: number): Uint8Array {
  const b = new Uint8Array(36);
  b[0] = lun === 0 ? 0x20 : 0x7f;
  b[2] = 4;
  b[3] = lun === 0 ? 0x10 : 0;
  b[4] = 31;
  const id = 'DELLPSEUDO DEVICE .';
  for (let i = 0; i < id.length; i++) b[8 + i] = id.charCodeAt(i);
  return b;
}

/** do_scsi_linuxstat: sense to the mid-layer; errors count against the LUN (not a scan's selection time-out). */
function do_scsi_linuxstat(cmd: ScsiCmnd, m: Cmdrsp, v: VdiskInfo): void {
  const linuxstat = m.u32(SCSI.linuxstat);
  cmd.sense.fill(0);
  cmd.sense.set(m.slice(SCSI.sensebuf, SCSI.sensebuf_len));
  const quietScan = cmd.opcode === OP.INQUIRY && hostByte(linuxstat) === DID.NO_CONNECT && m.u8(SCSI.addlstat) === ADDL.SEL_TIMEOUT;
  if (!quietScan && v.error_count < VISORHBA_ERROR_COUNT) {
    v.error_count++;
    v.ios_threshold = IOS_ERROR_THRESHOLD;
  }
}

/** do_scsi_nolinuxstat: the no-disk INQUIRY answer; successes wear the error count down. */
function do_scsi_nolinuxstat(devdata: visorhba_devdata, cmd: ScsiCmnd, m: Cmdrsp, v: VdiskInfo): void {
  if (cmd.opcode === OP.INQUIRY && cmd.bufflen >= 5 && m.u32(SCSI.no_disk_result) !== 0) {
    const answer = visorhba_no_disk_inquiry(cmd.lun);
    for (const sg of cmd.sg) devdata.dev.kernel.memory.write(sg.addr, answer.subarray(0, Math.min(sg.len, answer.length)));
  }
  if (v.ios_threshold > 0) {
    v.ios_threshold--;
    if (v.ios_threshold === 0) v.error_count = 0;
  }
}

/** complete_scsi_command: result and sense into the scsi_cmnd, then scsi_done. */
function complete_scsi_command(devdata: visorhba_devdata, e: { cmd: ScsiCmnd; attempt: number }, m: Cmdrsp): void {
  const cmd = e.cmd;
  const linuxstat = m.u32(SCSI.linuxstat);
  cmd.result = linuxstat;
  const v = vdisk_info(devdata.data, cmd.channel, cmd.id, cmd.lun);
  if (linuxstat !== 0) do_scsi_linuxstat(cmd, m, v);
  else do_scsi_nolinuxstat(devdata, cmd, m, v);
  devdata.scsihost.complete(cmd, e.attempt);
}

/** The pending entry a response's handle names, undefined when out of range or empty. */
function visorhba_pending_of(devdata: visorhba_devdata, handle: bigint): Pending | undefined {
  return handle < BigInt(MAX_PENDING_REQUESTS) ? devdata.pending[Number(handle)] : undefined;
}

/** One response; false when it stops the draining for this poll. */
function visorhba_handle_response(devdata: visorhba_devdata, m: Cmdrsp): boolean {
  const dev = devdata.dev;
  const data = devdata.data;
  if (m.cmdtype === CMD.SCSI) {
    const handle = m.u64(SCSI.handle);
    const e = visorhba_pending_of(devdata, handle);
    if (!e || e.kind !== 'scsi') {
      data.responses_stopped++;
      dev.warn(`response for handle ${handle} ${e ? 'names a task-management slot' : 'names no pending command'}; draining stops for this poll`);
      return false;
    }
    del_scsipending_ent(devdata, Number(handle));
    complete_scsi_command(devdata, e, m);
  } else if (m.cmdtype === CMD.SCSITASKMGMT) {
    const handle = m.u64(TASKMGMT.handle);
    const e = visorhba_pending_of(devdata, handle);
    if (!e) {
      data.responses_stopped++;
      dev.warn(`task-management response for handle ${handle} names no pending request; draining stops for this poll`);
      return false;
    }
    del_scsipending_ent(devdata, Number(handle));
    if (e.kind === 'taskmgmt') complete_taskmgmt_command(devdata, m.u64n(TASKMGMT.notify_handle), m.u64n(TASKMGMT.notifyresult_handle), m.u8(TASKMGMT.result));
    else dev.warn(`task-management response names slot ${handle}, which holds a SCSI command; ignored`);
  } else if (m.cmdtype === CMD.NOTIFYGUEST) {
    data.notifyguest_ignored++;
    if (guestOf(dev).printOnce('visorhba NOTIFYGUEST')) dev.info('ignoring unsupported NOTIFYGUEST');
  }
  return true;
}

/** drain_queue: remove responses from queue 1 until it is empty (or a response stops it). */
export function drain_queue(devdata: visorhba_devdata): void {
  const dev = devdata.dev;
  const m = devdata.cmdrsp;
  const rsp = devdata.rsp;
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
    devdata.data.responses++;
    took++;
    if (!visorhba_handle_response(devdata, m)) break;
  }
  if (took) visorhba_refresh(devdata);
}
