/**
 * scsi_lib: the SCSI mid-layer's command path for one `Scsi_Host`.
 *
 * - dispatch: per-LUN FIFO queues, at most `cmdPerLun` commands per LUN and `canQueue`
 *   per host in the driver; a driver that answers "busy" gets the command back later
 *   (the queue is re-run 3 jiffies on, or when another command completes);
 * - completion: the disposition rules of scsi.ts — DID_RESET retried without limit,
 *   transient errors retried up to 5 times, medium / illegal-request errors fail with
 *   -EIO; a completion for an attempt that is no longer current (the command already
 *   timed out, was reset or re-issued) is ignored, as blk-mq ignores it;
 * - internal commands (scsi_execute) and the DMA pages the SG lists point at.
 *
 * A command that times out goes to the error handler (scsi_error.ts); scanning is
 * scsi_scan.ts, the disk driver sd.ts, and the host itself scsihost.ts. The pieces are
 * layers of one host class, each file one seam of the kernel's mid-layer.
 */
import type { VisorDevice } from '../visorbus/driver';
import type { BlockDevice, BlockLayer } from './block';
import { disposition, hostByteName, hostByte, opName } from './scsi';

export const SCSI_MLQUEUE_HOST_BUSY = 0x1055;
export const SCSI_MLQUEUE_DEVICE_BUSY = 0x1056;
export const SUCCESS = 0x2002;
export const FAILED = 0x2003;

/** UIS_DMA / dma_data_direction numbers. */
export const DMA = { BIDIRECTIONAL: 0, TO_DEVICE: 1, FROM_DEVICE: 2, NONE: 3 } as const;

export const PAGE = 4096;
/** Pages a host keeps for reuse. */
const POOL_PAGES = 256;
const SCSI_SENSE_BUFFERSIZE = 96;
/** sd's default command time-out. */
export const SD_TIMEOUT_SECONDS = 30;
/** sd's retries for a request; scan commands get 3. */
export const SD_MAX_RETRIES = 5;
const SCAN_RETRIES = 3;
/** Delay before re-running a queue the driver called busy (SCSI_QUEUE_DELAY, ms). */
const BUSY_DELAY_MS = 3;

export interface SgEntry {
  addr: number;
  len: number;
}

export type CmdState = 'waiting' | 'issued' | 'eh' | 'done';

/** struct scsi_cmnd as a driver sees it. */
export class ScsiCmnd {
  result = 0;
  readonly sense = new Uint8Array(SCSI_SENSE_BUFFERSIZE);
  /** Incremented each time the command is handed to the driver. */
  attempt = 0;
  retries = 0;
  state: CmdState = 'waiting';
  /** Internal commands of the scan and sd's probe fail without a kernel log line. */
  quiet = false;
  /** Driver-private (host_scribble): visorhba keeps its pending-slot number here. */
  hostScribble: number | undefined;
  /** @internal */
  cancelTimer: (() => void) | undefined;
  /** @internal */
  issuedAt = 0;

  constructor(
    readonly serial: number,
    readonly sdev: ScsiDevice,
    readonly cdb: Uint8Array,
    readonly dataDir: number,
    readonly bufflen: number,
    readonly sg: SgEntry[],
    readonly allowed: number,
    /** @internal */
    readonly onDone: (cmd: ScsiCmnd, error: number, why: string) => void,
  ) {}

  get channel(): number {
    return this.sdev.channel;
  }

  get id(): number {
    return this.sdev.id;
  }

  get lun(): number {
    return this.sdev.lun;
  }

  get opcode(): number {
    return this.cdb[0];
  }

  describe(): string {
    return `${opName(this.cdb[0])} #${this.serial} on ${this.sdev.hctl}`;
  }
}

/** struct scsi_device. */
export class ScsiDevice {
  /** Waiting commands, FIFO. */
  readonly queue: ScsiCmnd[] = [];
  /** Commands the driver owns. */
  busy = 0;
  state: 'running' | 'offline' | 'deleted' = 'running';
  vendor = '';
  model = '';
  rev = '';
  pdt = 0x1f;
  disk: BlockDevice | undefined;
  timeoutSeconds = SD_TIMEOUT_SECONDS;
  /** A probe-only device (scan) that is not (yet) a real LUN. */
  scanning = true;

  constructor(
    readonly host: ScsiHostLib,
    readonly channel: number,
    readonly id: number,
    readonly lun: number,
    public queueDepth: number,
  ) {}

  get hctl(): string {
    return `${this.host.hostNo}:${this.channel}:${this.id}:${this.lun}`;
  }
}

export interface ScsiHostTemplate {
  /** "Unisys Visor HBA" */
  name: string;
  /** The template's proc_name; null when it sets none (sysfs prints "(null)", as sprintf does). */
  procName: string | null;
  canQueue: number;
  thisId: number;
  cmdPerLun: number;
  sgTablesize: number;
  maxSectors: number;
  maxId: number;
  maxLun: number;
  maxChannel: number;
}

/** The driver's entry points (scsi_host_template ops). */
export interface ScsiHostOps {
  /** 0, SCSI_MLQUEUE_DEVICE_BUSY or SCSI_MLQUEUE_HOST_BUSY. */
  queueCommand(cmd: ScsiCmnd): number;
  abort(cmd: ScsiCmnd, finish: (rc: number) => void): void;
  deviceReset(sdev: ScsiDevice, finish: (rc: number) => void): void;
  busReset(sdev: ScsiDevice, finish: (rc: number) => void): void;
  hostReset(sdev: ScsiDevice, finish: (rc: number) => void): void;
}

/** The command path of a host; the error handler, sd, the scan and the host build on it. */
export abstract class ScsiHostLib {
  readonly hostNo: number;
  readonly className: string;
  /** Real LUNs by "C:T:L". */
  readonly devices = new Map<string, ScsiDevice>();
  state: 'running' | 'recovery' | 'removed' = 'running';
  hostBusy = 0;
  scans = 0;
  scanInProgress = false;
  /** Commands the error handler owns. */
  protected readonly ehQueue: ScsiCmnd[] = [];
  /** Commands the driver owns right now. */
  protected readonly inflight = new Set<ScsiCmnd>();
  protected ehRunning = false;
  protected rescanPending = false;
  protected scanWaiters: (() => void)[] = [];
  /** Probe-only devices of the scan in progress. */
  protected scanDevices: ScsiDevice[] = [];
  protected serial = 0;
  protected cancelRerun: (() => void) | undefined;
  protected readonly kernelLog: (text: string) => void;
  protected dmaPages = new Set<number>();
  /** Freed DMA pages kept for the next command (a slab, so I/O does not map and unmap memory each time). */
  protected readonly pagePool: number[] = [];
  stats = { issued: 0, completed: 0, busyReturns: 0, retries: 0, timeouts: 0, aborts: 0, resets: 0, failed: 0, staleCompletions: 0 };

  constructor(
    /** The run's block layer, where sd's disks go. */
    protected readonly block: BlockLayer,
    readonly dev: VisorDevice,
    readonly template: ScsiHostTemplate,
    protected readonly ops: ScsiHostOps,
  ) {
    const k = dev.kernel;
    this.className = k.nextClassName('scsi_host', 'host');
    this.hostNo = Number(this.className.slice(4)) || 0;
    this.kernelLog = (t) => dev.info(t);
  }

  get owner(): string {
    return `${this.dev.busNo}:${this.dev.devNo}`;
  }

  /** scsi_times_out: the error handler takes the command (scsi_error.ts). */
  protected abstract timedOut(cmd: ScsiCmnd): void;
  /** scsi_eh_wakeup: the error handler runs once nothing else is in flight. */
  protected abstract tryStartEh(): void;

  // ---------------------------------------------------------------- dispatch

  /** Build and queue a command; `onDone(cmd, errno, why)` runs once, after retries. */
  queue(
    sdev: ScsiDevice,
    cdb: Uint8Array,
    dataDir: number,
    bufflen: number,
    sg: SgEntry[],
    allowed: number,
    onDone: (cmd: ScsiCmnd, error: number, why: string) => void,
  ): ScsiCmnd {
    const cmd = new ScsiCmnd(++this.serial, sdev, cdb, dataDir, bufflen, sg, allowed, onDone);
    if (this.state === 'removed' || sdev.state === 'deleted') {
      this.finish(cmd, -6, 'no such device');
      return cmd;
    }
    if (sdev.state === 'offline') {
      this.finish(cmd, -6, `${sdev.hctl} is offline`);
      return cmd;
    }
    sdev.queue.push(cmd);
    this.run();
    return cmd;
  }

  /** Hand waiting commands to the driver while there is room. */
  run(): void {
    if (this.state !== 'running') return;
    const all = [...this.devices.values(), ...this.scanDevices];
    let progress = true;
    while (progress) {
      progress = false;
      for (const sdev of all) {
        if (this.state !== 'running') return;
        const cmd = sdev.queue[0];
        if (!cmd || sdev.busy >= sdev.queueDepth || this.hostBusy >= this.template.canQueue) continue;
        sdev.queue.shift();
        cmd.attempt++;
        cmd.state = 'issued';
        cmd.issuedAt = this.dev.kernel.jiffies();
        sdev.busy++;
        this.hostBusy++;
        const rc = this.ops.queueCommand(cmd);
        if (rc !== 0) {
          sdev.busy--;
          this.hostBusy--;
          cmd.state = 'waiting';
          sdev.queue.unshift(cmd);
          this.stats.busyReturns++;
          this.rerunLater();
          return;
        }
        this.stats.issued++;
        this.inflight.add(cmd);
        this.armTimer(cmd);
        progress = true;
      }
    }
  }

  protected rerunLater(): void {
    if (this.cancelRerun) return;
    const k = this.dev.kernel;
    const delay = Math.max(1, Math.ceil((BUSY_DELAY_MS * k.hz) / 1000));
    this.cancelRerun = k.setTimer(this.dev, delay, `scsi ${this.className} requeue`, () => {
      this.cancelRerun = undefined;
      this.run();
    });
  }

  protected armTimer(cmd: ScsiCmnd): void {
    const k = this.dev.kernel;
    const attempt = cmd.attempt;
    cmd.cancelTimer = k.setTimer(this.dev, cmd.sdev.timeoutSeconds * k.hz, `scsi ${cmd.describe()} timeout`, () => {
      cmd.cancelTimer = undefined;
      if (cmd.state === 'issued' && cmd.attempt === attempt) this.timedOut(cmd);
    });
  }

  /**
   * The driver finished `cmd` (result and sense set). A completion for an attempt
   * that is no longer current is ignored.
   */
  complete(cmd: ScsiCmnd, attempt: number): void {
    if (cmd.state !== 'issued' || cmd.attempt !== attempt) {
      this.stats.staleCompletions++;
      this.kernelLog(
        `scsi ${cmd.sdev.hctl}: ignoring completion of ${opName(cmd.opcode)} #${cmd.serial} (attempt ${attempt}): the command was already timed out, reset or re-issued`,
      );
      return;
    }
    cmd.cancelTimer?.();
    cmd.cancelTimer = undefined;
    this.inflight.delete(cmd);
    cmd.sdev.busy--;
    this.hostBusy--;
    this.stats.completed++;
    this.judge(cmd);
    this.tryStartEh();
    this.run();
  }

  protected judge(cmd: ScsiCmnd): void {
    const d = disposition(cmd.result, cmd.result !== 0 ? cmd.sense : undefined);
    if (d.action === 'success') return this.finish(cmd, 0, '');
    if (d.action === 'retry' && (!d.counted || cmd.retries < cmd.allowed)) {
      if (d.counted) cmd.retries++;
      this.stats.retries++;
      this.requeue(cmd);
      return;
    }
    const why = d.action === 'fail' ? d.why : `${d.why} (out of retries)`;
    this.logFailure(cmd, why);
    this.finish(cmd, d.action === 'fail' ? -d.errno : -5, why);
  }

  protected requeue(cmd: ScsiCmnd): void {
    cmd.state = 'waiting';
    cmd.result = 0;
    cmd.sense.fill(0);
    if (cmd.sdev.state === 'deleted' || this.state === 'removed') return this.finish(cmd, -6, 'no such device');
    if (cmd.sdev.state === 'offline') return this.finish(cmd, -5, `${cmd.sdev.hctl} is offline`);
    cmd.sdev.queue.unshift(cmd);
  }

  protected logFailure(cmd: ScsiCmnd, why: string): void {
    if (cmd.quiet) return;
    const tag = cmd.sdev.disk ? `sd ${cmd.sdev.hctl}: [${cmd.sdev.disk.name}]` : `scsi ${cmd.sdev.hctl}:`;
    this.dev.warn(
      `${tag} ${opName(cmd.opcode)} FAILED Result: hostbyte=${hostByteName(hostByte(cmd.result))} status=0x${(cmd.result & 0xff).toString(16)}: ${why}`,
    );
  }

  protected finish(cmd: ScsiCmnd, error: number, why: string): void {
    if (cmd.state === 'done') return;
    cmd.state = 'done';
    cmd.cancelTimer?.();
    cmd.cancelTimer = undefined;
    if (error) this.stats.failed++;
    cmd.onDone(cmd, error, why);
  }

  // ---------------------------------------------------------------- internal commands and DMA pages

  /** Run one internal command with a DMA bounce buffer; `cb(error, data)`. */
  protected execute(sdev: ScsiDevice, cdb: Uint8Array, dataDir: number, len: number, cb: (error: number, data: Uint8Array, cmd: ScsiCmnd) => void): void {
    const bufs = this.allocPages(len);
    const c = this.queue(sdev, cdb, dataDir, len, bufs, SCAN_RETRIES, (cmd, error) => {
      const data = dataDir === DMA.FROM_DEVICE && !error ? this.gather(bufs, len) : new Uint8Array(0);
      this.freePages(bufs);
      cb(error, data, cmd);
    });
    c.quiet = true;
  }

  protected allocPages(len: number): SgEntry[] {
    const sg: SgEntry[] = [];
    const k = this.dev.kernel;
    for (let off = 0; off < len; off += PAGE) {
      const addr = this.pagePool.pop() ?? k.allocDma(PAGE, PAGE);
      this.dmaPages.add(addr);
      sg.push({ addr, len: Math.min(PAGE, len - off) });
    }
    return sg;
  }

  protected freePages(sg: SgEntry[]): void {
    for (const e of sg) {
      if (!this.dmaPages.delete(e.addr)) continue;
      if (this.state !== 'removed' && this.pagePool.length < POOL_PAGES) this.pagePool.push(e.addr);
      else this.dev.kernel.freeDma(e.addr);
    }
  }

  protected gather(sg: SgEntry[], len: number): Uint8Array {
    const out = new Uint8Array(len);
    let off = 0;
    for (const e of sg) {
      const n = Math.min(e.len, len - off);
      if (n <= 0) break;
      this.dev.kernel.memory.readInto(e.addr, out, off, n);
      off += n;
    }
    return out;
  }

  protected scatter(sg: SgEntry[], data: Uint8Array): void {
    let off = 0;
    for (const e of sg) {
      const n = Math.min(e.len, data.length - off);
      if (n <= 0) break;
      this.dev.kernel.memory.write(e.addr, data.subarray(off, off + n));
      off += n;
    }
  }
}
