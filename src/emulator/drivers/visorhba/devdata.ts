/**
 * visorhba's per-device state (struct visorhba_devdata) and the pending-request table
 * every other part of the driver shares: slot numbers are the handles the IO partition
 * echoes back, so adding, finding and deleting entries lives in one place.
 */
import type { VisorDevice } from '../../visorbus/driver';
import { Cmdrsp, TASK_MGMT_NAMES } from '../uiscmdrsp';
import type { ScsiCmnd, ScsiHost } from '../../guest/scsihost';
import { opName } from '../../guest/scsi';

/** MAX_PENDING_REQUESTS = 2 × MIN_NUMSIGNALS. */
export const MAX_PENDING_REQUESTS = 128;
/** The error handler's wait for a task-management answer. */
export const TASKMGMT_WAIT_MS = 45000;
export const VISORHBA_ERROR_COUNT = 30;
export const IOS_ERROR_THRESHOLD = 1000;
export const MAX_PHYS_INFO = 64;

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

/** A task-management request waiting for its answer (the kernel's wait queue + IDR entries). */
export interface TaskWaiter {
  tasktype: number;
  slot: number;
  notifyHandle: number;
  resultHandle: number;
  finish: (rc: number) => void;
  cancelTimer?: () => void;
  done: boolean;
}

/** struct scsipending: what a pending slot holds. */
export type Pending = { kind: 'scsi'; cmd: ScsiCmnd; attempt: number } | { kind: 'taskmgmt'; waiter: TaskWaiter };

/** struct visorhba_devdata: one per visor device. */
export interface visorhba_devdata {
  dev: VisorDevice;
  /** The state the debugger shows (dev.driverData). */
  data: VisorhbaData;
  scsihost: ScsiHost;
  pending: (Pending | undefined)[];
  /** The IDR of task-management handles. */
  idr: Map<number, TaskWaiter>;
  idrNext: number;
  /** The response buffer signal_remove fills. */
  rsp: Uint8Array;
  /** A 1216-byte work copy of the response being handled. */
  cmdrsp: Cmdrsp;
}

/** dev_get_drvdata: the devdata of a bound device (driverData stays the debugger's view). */
const drvdata = new WeakMap<VisorDevice, visorhba_devdata>();

export function visorhba_get_devdata(dev: VisorDevice): visorhba_devdata | undefined {
  return drvdata.get(dev);
}

export function visorhba_set_devdata(dev: VisorDevice, devdata: visorhba_devdata | undefined): void {
  if (devdata) drvdata.set(dev, devdata);
  else drvdata.delete(dev);
}

/** Bring the debugger's view up to date: the occupied slots and the host's summary. */
export function visorhba_refresh(devdata: visorhba_devdata): void {
  const data = devdata.data;
  const p: Record<string, string> = {};
  devdata.pending.forEach((e, i) => {
    if (!e) return;
    p[String(i)] =
      e.kind === 'scsi' ? `${opName(e.cmd.opcode)} #${e.cmd.serial} ${e.cmd.sdev.hctl}` : `${TASK_MGMT_NAMES[e.waiter.tasktype]} (task management)`;
  });
  data.pending = p;
  data.pending_count = Object.keys(p).length;
  data.scsi = devdata.scsihost.summary();
}

/** add_scsipending_entry: a free slot, searched round-robin from nextinsert; -1 when all are in use. */
export function add_scsipending_entry(devdata: visorhba_devdata, e: Pending): number {
  const data = devdata.data;
  let at = data.nextinsert;
  while (devdata.pending[at]) {
    at = (at + 1) % MAX_PENDING_REQUESTS;
    if (at === data.nextinsert) return -1;
  }
  devdata.pending[at] = e;
  data.nextinsert = (at + 1) % MAX_PENDING_REQUESTS;
  return at;
}

/** del_scsipending_ent: empty a slot and return what it held. */
export function del_scsipending_ent(devdata: visorhba_devdata, slot: number): Pending | undefined {
  if (slot < 0 || slot >= MAX_PENDING_REQUESTS) return undefined;
  const e = devdata.pending[slot];
  devdata.pending[slot] = undefined;
  return e;
}

/** The vdisk_info of a LUN, created on first use. */
export function vdisk_info(data: VisorhbaData, channel: number, id: number, lun: number): VdiskInfo {
  const key = `${channel}:${id}:${lun}`;
  let v = data.vdisks[key];
  if (!v) data.vdisks[key] = v = { error_count: 0, ios_threshold: 0 };
  return v;
}
