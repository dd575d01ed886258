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
 *
 * Shaped like the kernel module: module-level functions over a `visorhba_devdata`
 * per device. This file holds the visor_driver entry points and queuecommand; the
 * pending table and devdata are in visorhba/devdata.ts, task management in
 * visorhba/taskmgmt.ts, the response path in visorhba/response.ts.
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { GUIDS } from '../protocol/guid';
import { EIO } from '../protocol/errno';
import { CMD, Cmdrsp, IOCHAN_TO_IOPART, SCSI, SIZEOF_CMDRSP, UISCMDRSP_BYTES, VHBA_MAX, VISOR_CHANNEL_IS_POLLING } from './uiscmdrsp';
import { SCSI_MLQUEUE_DEVICE_BUSY, ScsiCmnd, ScsiHost, ScsiHostOps, ScsiHostTemplate, SUCCESS } from '../guest/scsihost';
import { makeResult, DID } from '../guest/scsi';
import { guestOf } from '../guest/kernel';
import {
  add_scsipending_entry,
  del_scsipending_ent,
  MAX_PENDING_REQUESTS,
  MAX_PHYS_INFO,
  Pending,
  visorhba_devdata,
  VisorhbaData,
  visorhba_get_devdata,
  visorhba_refresh,
  visorhba_set_devdata,
} from './visorhba/devdata';
import {
  cleanup_scsitaskmgmt_handles,
  visorhba_abort_handler,
  visorhba_bus_reset_handler,
  visorhba_device_reset_handler,
  visorhba_host_reset_handler,
} from './visorhba/taskmgmt';
import { drain_queue } from './visorhba/response';

export { MAX_PENDING_REQUESTS, TASKMGMT_WAIT_MS } from './visorhba/devdata';
export type { VdiskInfo, visorhba_devdata, VisorhbaData } from './visorhba/devdata';

const PAGE_SIZE = 4096;

/** The uiscmdrsp of a SCSI command: the slot is the handle, the SG list is gpi_list. */
function visorhba_scsi_cmdrsp(cmd: ScsiCmnd, slot: number): Cmdrsp {
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
  return m;
}

/** visorhba_queue_command: 0, or SCSI_MLQUEUE_DEVICE_BUSY when it cannot go out now. */
export function visorhba_queue_command(devdata: visorhba_devdata, cmd: ScsiCmnd): number {
  const data = devdata.data;
  if (data.serverdown || data.serverchangingstate) return SCSI_MLQUEUE_DEVICE_BUSY;
  const attempt = cmd.attempt;
  const slot = add_scsipending_entry(devdata, { kind: 'scsi', cmd, attempt });
  if (slot < 0) return SCSI_MLQUEUE_DEVICE_BUSY;
  if (cmd.sg.length > MAX_PHYS_INFO) {
    del_scsipending_ent(devdata, slot);
    return SCSI_MLQUEUE_DEVICE_BUSY;
  }
  const m = visorhba_scsi_cmdrsp(cmd, slot);
  if (devdata.dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) !== 0) {
    del_scsipending_ent(devdata, slot);
    return SCSI_MLQUEUE_DEVICE_BUSY;
  }
  cmd.hostScribble = slot;
  visorhba_refresh(devdata);
  return 0;
}

/** visorhba_serverdown: fail everything pending back (DID_RESET / task-management result 0). */
export function visorhba_serverdown(devdata: visorhba_devdata): void {
  const dev = devdata.dev;
  const data = devdata.data;
  data.serverchangingstate = true;
  if (data.polling) {
    dev.disableChannelInterrupts();
    data.polling = false;
    data.interrupts_disabled++;
  }
  let cmds = 0;
  let tms = 0;
  for (let slot = 0; slot < MAX_PENDING_REQUESTS; slot++) {
    const e = del_scsipending_ent(devdata, slot);
    if (!e) continue;
    if (e.kind === 'scsi') {
      cmds++;
      e.cmd.result = makeResult(DID.RESET, 0);
      e.cmd.sense.fill(0);
      devdata.scsihost.complete(e.cmd, e.attempt);
    } else {
      tms++;
      if (!e.waiter.done) {
        cleanup_scsitaskmgmt_handles(devdata, e.waiter);
        e.waiter.finish(SUCCESS);
      }
    }
  }
  if (cmds || tms) dev.info(`server down: ${cmds} pending command(s) failed back with DID_RESET, ${tms} task-management request(s) answered with result 0`);
  data.serverdown = true;
  data.serverchangingstate = false;
  visorhba_refresh(devdata);
}

/** vhba.max from the channel (offset 392); undefined when the channel cannot be read. */
function visorhba_read_max(dev: VisorDevice): VisorhbaData['max'] | undefined {
  const raw = new Uint8Array(VHBA_MAX.bytes);
  if (dev.channel.read(VHBA_MAX.max_channel, raw) !== 0) return undefined;
  const v = new DataView(raw.buffer);
  return {
    max_channel: v.getUint32(0, true),
    max_id: v.getUint32(4, true),
    max_lun: v.getUint32(8, true),
    cmd_per_lun: v.getUint32(12, true),
    max_io_size: v.getUint32(16, true),
  };
}

function visorhba_initial_data(max: VisorhbaData['max']): VisorhbaData {
  return {
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
}

/** visorhba_driver_template, sized from vhba.max. */
function visorhba_host_template(max: VisorhbaData['max']): ScsiHostTemplate {
  return {
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
  };
}

/** The template's entry points, bound to one device's devdata. */
function visorhba_host_ops(devdata: visorhba_devdata): ScsiHostOps {
  return {
    queueCommand: (cmd) => visorhba_queue_command(devdata, cmd),
    abort: (cmd, finish) => visorhba_abort_handler(devdata, cmd, finish),
    deviceReset: (sdev, finish) => visorhba_device_reset_handler(devdata, sdev, finish),
    busReset: (sdev, finish) => visorhba_bus_reset_handler(devdata, sdev, finish),
    hostReset: (sdev, finish) => visorhba_host_reset_handler(devdata, sdev, finish),
  };
}

export function visorhba_probe(dev: VisorDevice): number {
  const max = visorhba_read_max(dev);
  if (!max) {
    dev.err('cannot read vhba.max from the channel');
    return -EIO;
  }
  if (!max.max_id) dev.warn('vhba.max.max_id is 0: the scan will find no targets');
  const data = visorhba_initial_data(max);
  dev.driverData = data;
  const devdata = {
    dev,
    data,
    pending: new Array<Pending | undefined>(MAX_PENDING_REQUESTS).fill(undefined),
    idr: new Map(),
    idrNext: 1,
    rsp: new Uint8Array(UISCMDRSP_BYTES),
    cmdrsp: new Cmdrsp(new Uint8Array(SIZEOF_CMDRSP)),
  } as Omit<visorhba_devdata, 'scsihost'> as visorhba_devdata;
  const host = new ScsiHost(guestOf(dev).scsi, dev, visorhba_host_template(max), visorhba_host_ops(devdata));
  devdata.scsihost = host;
  visorhba_set_devdata(dev, devdata);
  data.max_buff_len = max.max_io_size;
  host.add();
  data.host = host.className;
  // features |= VISOR_CHANNEL_IS_POLLING
  const f = new Uint8Array(8);
  if (dev.channel.read(24, f) === 0) {
    f[0] |= VISOR_CHANNEL_IS_POLLING;
    dev.channel.write(24, f);
  }
  if (dev.enableChannelInterrupts() === 0) data.polling = true;
  host.scan();
  visorhba_refresh(devdata);
  return 0;
}

export function visorhba_remove(dev: VisorDevice): void {
  const devdata = visorhba_get_devdata(dev);
  if (!devdata) return;
  const data = devdata.data;
  if (data.polling) {
    dev.disableChannelInterrupts();
    data.polling = false;
  }
  for (const w of devdata.idr.values()) if (!w.done) cleanup_scsitaskmgmt_handles(devdata, w);
  for (let slot = 0; slot < MAX_PENDING_REQUESTS; slot++) devdata.pending[slot] = undefined;
  devdata.scsihost.remove();
  visorhba_set_devdata(dev, undefined);
  visorhba_refresh(devdata);
}

/** channel_interrupt (the bus core's poll): process_incoming_rsps drains queue 1. */
export function process_incoming_rsps(dev: VisorDevice): void {
  const devdata = visorhba_get_devdata(dev);
  if (!devdata) return;
  drain_queue(devdata);
}

export function visorhba_pause(dev: VisorDevice, complete: CompleteFunc): number {
  const devdata = visorhba_get_devdata(dev);
  const data = dev.driverData as VisorhbaData;
  if (devdata && !data.serverdown && !data.serverchangingstate) visorhba_serverdown(devdata);
  complete(0);
  return 0;
}

export function visorhba_resume(dev: VisorDevice, _complete: CompleteFunc): number {
  const devdata = visorhba_get_devdata(dev);
  if (!devdata) return -EIO;
  const data = devdata.data;
  if (data.serverdown && !data.serverchangingstate) data.serverchangingstate = true;
  if (!data.polling && dev.enableChannelInterrupts() === 0) data.polling = true;
  data.serverdown = false;
  data.serverchangingstate = false;
  data.resume_uncompleted++;
  dev.info('resumed; visorhba never calls complete_func on resume, so the Command partition gets no DEVICE_CHANGESTATE response for it');
  devdata.scsihost.run();
  visorhba_refresh(devdata);
  return 0;
}

/** The visor_driver of the module: what `driver load visorhba` registers. */
export function createVisorhba(): VisorDriver {
  return {
    name: 'visorhba',
    channelTypes: [{ guid: GUIDS.vhba, name: 'sparvhba', minBytes: 128, version: 2 }],
    probe: visorhba_probe,
    remove: visorhba_remove,
    channelInterrupt: process_incoming_rsps,
    pause: visorhba_pause,
    resume: visorhba_resume,
  };
}
