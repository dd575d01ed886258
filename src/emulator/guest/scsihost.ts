/**
 * The guest's SCSI mid-layer for one `Scsi_Host` (hosts.c): adding and removing the
 * host (/sys/class/scsi_host/hostN), the run's list of hosts, and a summary for the
 * debugger. The host is built in layers along the kernel's seams: scsi_lib.ts (command
 * dispatch and completion), scsi_error.ts (time-outs and error handling), sd.ts (the
 * disk driver), scsi_scan.ts (scanning and LUN discovery).
 *
 * The driver (visorhba) supplies `ScsiHostOps`; it calls `complete(cmd, attempt)`.
 */
import type { VisorDevice } from '../visorbus/driver';
import type { BlockLayer } from './block';
import { OP, opName } from './scsi';
import type { ScsiDevice, ScsiHostOps, ScsiHostTemplate } from './scsi_lib';
import { ScsiHostScan } from './scsi_scan';

export * from './scsi_lib';

/** The SCSI mid-layer of one run: its hosts by visor device ("2:0"); disks go to the block layer. */
export class ScsiMidlayer {
  readonly hosts = new Map<string, ScsiHost>();

  constructor(readonly block: BlockLayer) {}

  /** The SCSI host of a visor device ("2:0"). */
  hostOf(owner: string): ScsiHost | undefined {
    return this.hosts.get(owner);
  }

  all(): ScsiHost[] {
    return [...this.hosts.values()];
  }
}

export class ScsiHost extends ScsiHostScan {
  constructor(
    /** The run's mid-layer, which lists the host while it is added. */
    private readonly midlayer: ScsiMidlayer,
    dev: VisorDevice,
    template: ScsiHostTemplate,
    ops: ScsiHostOps,
  ) {
    super(midlayer.block, dev, template, ops);
  }

  add(): void {
    const t = this.template;
    this.dev.kernel.addClassDevice(
      {
        cls: 'scsi_host',
        name: this.className,
        attrs: {
          proc_name: () => `${t.procName ?? '(null)'}\n`,
          unique_id: () => `${this.hostNo}\n`,
          can_queue: () => `${t.canQueue}\n`,
          cmd_per_lun: () => `${t.cmdPerLun}\n`,
          sg_tablesize: () => `${t.sgTablesize}\n`,
          host_busy: () => `${this.hostBusy}\n`,
          state: () => `${this.state}\n`,
        },
        writers: {
          scan: (value: string) => {
            if (value.trim().split(/\s+/).length !== 3) throw new Error('EINVAL: write "- - -" (channel target lun) to scan');
            this.scan();
          },
        },
      },
      this.dev,
    );
    this.midlayer.hosts.set(this.owner, this);
    this.kernelLog(`scsi ${this.className}: ${t.name}`);
  }

  /** scsi_remove_host: every LUN goes away; whatever is still queued or in flight fails with -ENXIO. */
  remove(): void {
    if (this.state === 'removed') return;
    this.state = 'removed';
    this.cancelRerun?.();
    this.cancelRerun = undefined;
    for (const cmd of [...this.inflight]) {
      this.inflight.delete(cmd);
      this.dev.warn(`scsi ${cmd.sdev.hctl}: ${opName(cmd.opcode)} #${cmd.serial} was still in flight when the host went away; failing it with -ENXIO`);
      this.finish(cmd, -6, 'host removed');
    }
    for (const sdev of [...this.devices.values(), ...this.scanDevices]) this.removeDevice(sdev, 'host removed');
    for (const cmd of [...this.ehQueue]) this.finish(cmd, -6, 'host removed');
    this.ehQueue.length = 0;
    this.midlayer.hosts.delete(this.owner);
    this.dev.kernel.removeClassDevice('scsi_host', this.className);
    this.scanInProgress = false;
    this.rescanPending = false;
    for (const w of this.scanWaiters.splice(0)) w();
    for (const addr of this.pagePool.splice(0)) this.dev.kernel.freeDma(addr);
  }

  protected removeDevice(sdev: ScsiDevice, why: string): void {
    sdev.state = 'deleted';
    for (const cmd of sdev.queue.splice(0)) this.finish(cmd, -6, why);
    if (sdev.disk) {
      sdev.disk.removed = true;
      this.block.disks.delete(sdev.disk.name);
      this.dev.kernel.removeClassDevice('block', sdev.disk.name);
      sdev.disk = undefined;
    }
    this.devices.delete(`${sdev.channel}:${sdev.id}:${sdev.lun}`);
  }

  /** A plain summary for the debugger's Driver scope. */
  summary(): Record<string, string | number | boolean> {
    return {
      host: this.className,
      state: this.state,
      hostBusy: this.hostBusy,
      luns: [...this.devices.values()].map((d) => `${d.hctl}${d.disk ? ' ' + d.disk.name : ''}${d.state !== 'running' ? ' ' + d.state : ''}`).join(', '),
      waiting: [...this.devices.values(), ...this.scanDevices].reduce((n, d) => n + d.queue.length, 0),
      inErrorHandler: this.ehQueue.length,
      scanning: this.scanInProgress,
      ...Object.fromEntries(Object.entries(this.stats).map(([k, v]) => [`scsi_${k}`, v])),
    };
  }
}

/** The midlayer's internal op codes exported for drivers that special-case them. */
export { OP };
