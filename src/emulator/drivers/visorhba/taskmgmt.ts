/**
 * visorhba's task management: the SCSI error handler's abort, LUN reset and bus reset
 * become CMD_SCSITASKMGMT requests on queue 0 that wait up to 45 s for any answer;
 * the host reset sends nothing. Each request holds a pending slot and two IDR handles
 * the IO partition echoes back.
 */
import type { VisorDevice } from '../../visorbus/driver';
import { CMD, Cmdrsp, IOCHAN_TO_IOPART, TASK_MGMT, TASK_MGMT_NAMES, TASKMGMT } from '../uiscmdrsp';
import { FAILED, ScsiCmnd, ScsiDevice, SUCCESS } from '../../guest/scsihost';
import {
  add_scsipending_entry,
  del_scsipending_ent,
  IOS_ERROR_THRESHOLD,
  TASKMGMT_WAIT_MS,
  TaskWaiter,
  vdisk_info,
  VISORHBA_ERROR_COUNT,
  visorhba_devdata,
  visorhba_refresh,
} from './devdata';

/** idr_alloc in [1, INT_MAX], cyclic from the last id handed out. */
function visorhba_idr_alloc(devdata: visorhba_devdata, w: TaskWaiter): number {
  while (devdata.idr.has(devdata.idrNext)) devdata.idrNext = devdata.idrNext >= 0x7fffffff ? 1 : devdata.idrNext + 1;
  const id = devdata.idrNext;
  devdata.idr.set(id, w);
  devdata.idrNext = id >= 0x7fffffff ? 1 : id + 1;
  return id;
}

/** setup_scsitaskmgmt_handles: the notify and result handles of a request. */
function setup_scsitaskmgmt_handles(devdata: visorhba_devdata, w: TaskWaiter): void {
  w.notifyHandle = visorhba_idr_alloc(devdata, w);
  w.resultHandle = visorhba_idr_alloc(devdata, w);
}

/** cleanup_scsitaskmgmt_handles: the request is over; its timer and handles go. */
export function cleanup_scsitaskmgmt_handles(devdata: visorhba_devdata, w: TaskWaiter): void {
  w.done = true;
  w.cancelTimer?.();
  w.cancelTimer = undefined;
  devdata.idr.delete(w.notifyHandle);
  devdata.idr.delete(w.resultHandle);
}

function visorhba_taskmgmt_cmdrsp(tasktype: number, sdev: ScsiDevice, w: TaskWaiter): Cmdrsp {
  const m = new Cmdrsp();
  m.cmdtype = CMD.SCSITASKMGMT;
  m.setU32(TASKMGMT.tasktype, tasktype);
  m.setU32(TASKMGMT.vdest_channel, sdev.channel);
  m.setU32(TASKMGMT.vdest_id, sdev.id);
  m.setU32(TASKMGMT.vdest_lun, sdev.lun);
  m.setU64(TASKMGMT.handle, w.slot);
  m.setU64(TASKMGMT.notify_handle, w.notifyHandle);
  m.setU64(TASKMGMT.notifyresult_handle, w.resultHandle);
  return m;
}

/** The 45 s wait: no answer by then fails the request. */
function visorhba_taskmgmt_wait(devdata: visorhba_devdata, w: TaskWaiter, sdev: ScsiDevice): void {
  const dev = devdata.dev;
  const k = dev.kernel;
  const name = TASK_MGMT_NAMES[w.tasktype];
  w.cancelTimer = k.setTimer(dev, Math.ceil((TASKMGMT_WAIT_MS * k.hz) / 1000), `visorhba ${name} wait`, () => {
    w.cancelTimer = undefined;
    if (w.done) return;
    devdata.data.taskmgmt.timed_out++;
    dev.warn(`scsi ${sdev.hctl}: ${name} timed out after ${TASKMGMT_WAIT_MS / 1000} s`);
    del_scsipending_ent(devdata, w.slot);
    cleanup_scsitaskmgmt_handles(devdata, w);
    visorhba_refresh(devdata);
    w.finish(FAILED);
  });
}

/** forward_taskmgmt_command: send, then wait up to 45 s for any answer. */
export function forward_taskmgmt_command(devdata: visorhba_devdata, tasktype: number, sdev: ScsiDevice, finish: (rc: number) => void): void {
  const dev: VisorDevice = devdata.dev;
  const data = devdata.data;
  if (data.serverdown || data.serverchangingstate) return finish(FAILED);
  const w: TaskWaiter = { tasktype, slot: -1, notifyHandle: 0, resultHandle: 0, finish, done: false };
  const slot = add_scsipending_entry(devdata, { kind: 'taskmgmt', waiter: w });
  if (slot < 0) {
    data.taskmgmt.failed_to_send++;
    return finish(FAILED);
  }
  w.slot = slot;
  setup_scsitaskmgmt_handles(devdata, w);
  const m = visorhba_taskmgmt_cmdrsp(tasktype, sdev, w);
  if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) !== 0) {
    del_scsipending_ent(devdata, slot);
    cleanup_scsitaskmgmt_handles(devdata, w);
    data.taskmgmt.failed_to_send++;
    visorhba_refresh(devdata);
    return finish(FAILED);
  }
  data.taskmgmt.sent++;
  dev.info(`scsi ${sdev.hctl}: ${TASK_MGMT_NAMES[tasktype]} sent (slot ${slot}); waiting up to ${TASKMGMT_WAIT_MS / 1000} s`);
  visorhba_taskmgmt_wait(devdata, w, sdev);
  visorhba_refresh(devdata);
}

/** complete_taskmgmt_command: the waiter found through the IDR handles gets its answer. */
export function complete_taskmgmt_command(devdata: visorhba_devdata, notifyHandle: number, resultHandle: number, result: number): void {
  const w = devdata.idr.get(notifyHandle);
  const wr = devdata.idr.get(resultHandle);
  if (!w || w !== wr || w.done) {
    devdata.dev.warn(`task-management answer with unknown handles ${notifyHandle}/${resultHandle}; ignored`);
    return;
  }
  devdata.data.taskmgmt.answered++;
  cleanup_scsitaskmgmt_handles(devdata, w);
  devdata.dev.info(`${TASK_MGMT_NAMES[w.tasktype]} answered (result ${result}); any answer counts as success`);
  w.finish(SUCCESS);
}

/** eh_abort_handler: count the error against the LUN, then ABORT_TASK. */
export function visorhba_abort_handler(devdata: visorhba_devdata, cmd: ScsiCmnd, finish: (rc: number) => void): void {
  const vd = vdisk_info(devdata.data, cmd.channel, cmd.id, cmd.lun);
  if (vd.error_count < VISORHBA_ERROR_COUNT) vd.error_count++;
  else vd.ios_threshold = IOS_ERROR_THRESHOLD;
  forward_taskmgmt_command(devdata, TASK_MGMT.ABORT_TASK, cmd.sdev, finish);
}

export function visorhba_device_reset_handler(devdata: visorhba_devdata, sdev: ScsiDevice, finish: (rc: number) => void): void {
  forward_taskmgmt_command(devdata, TASK_MGMT.LUN_RESET, sdev, finish);
}

export function visorhba_bus_reset_handler(devdata: visorhba_devdata, sdev: ScsiDevice, finish: (rc: number) => void): void {
  forward_taskmgmt_command(devdata, TASK_MGMT.BUS_RESET, sdev, finish);
}

/** The host reset handler sends nothing and reports success. */
export function visorhba_host_reset_handler(_devdata: visorhba_devdata, _sdev: ScsiDevice, finish: (rc: number) => void): void {
  finish(SUCCESS);
}
