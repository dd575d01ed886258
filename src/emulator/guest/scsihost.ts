/**
 * The guest's SCSI mid-layer for one `Scsi_Host`, with the parts of sd that matter:
 *
 * - dispatch: per-LUN FIFO queues, at most `cmdPerLun` commands per LUN and `canQueue`
 *   per host in the driver; a driver that answers "busy" gets the command back later
 *   (the queue is re-run 3 jiffies on, or when another command completes);
 * - completion: the disposition rules of scsi.ts — DID_RESET retried without limit,
 *   transient errors retried up to 5 times, medium / illegal-request errors fail with
 *   -EIO; a completion for an attempt that is no longer current (the command already
 *   timed out, was reset or re-issued) is ignored, as blk-mq ignores it;
 * - time-out and error handling: each issued command has a 30 s timer; on expiry the
 *   host enters recovery (no new commands), and once nothing else is in flight the
 *   error handler calls the driver's abort, then LUN reset, bus reset and host reset
 *   handlers until one succeeds; commands it recovers are retried, the rest fail and
 *   their LUN goes offline;
 * - scanning (scsi_scan_host): INQUIRY of LUN 0 on every target, REPORT LUNS (or a
 *   sequential scan), INQUIRY per LUN, and for disks sd's probe: TEST UNIT READY,
 *   READ CAPACITY(10) (then (16) when the disk is larger than 2 TiB), MODE SENSE(6)
 *   for write protection; each disk becomes a BlockDevice (/sys/block/sdX);
 * - block I/O: a request is split into commands of at most `maxSectors` and
 *   `sgTablesize` pages; data moves through guest DMA pages listed in the SG list.
 *
 * The driver (visorhba) supplies `ScsiHostOps`; it calls `complete(cmd, attempt)`.
 */
import { MAX_SCAN_LUNS, MAX_SCAN_TARGETS } from '../limits';
import type { VisorDevice } from '../visorbus/driver';
import { BlockDevice, BlockLayer, BlockRequest, BlockResult, SECTOR_SIZE } from './block';
import {
  cdbInquiry, cdbModeSense6, cdbReadCapacity10, cdbReadCapacity16, cdbReadWrite, cdbReportLuns, cdbSynchronizeCache,
  cdbTestUnitReady, disposition, DID, hostByteName, hostByte, makeResult, OP, opName, readBe32, readBe64,
} from './scsi';

export const SCSI_MLQUEUE_HOST_BUSY = 0x1055;
export const SCSI_MLQUEUE_DEVICE_BUSY = 0x1056;
export const SUCCESS = 0x2002;
export const FAILED = 0x2003;

/** UIS_DMA / dma_data_direction numbers. */
export const DMA = { BIDIRECTIONAL: 0, TO_DEVICE: 1, FROM_DEVICE: 2, NONE: 3 } as const;

const PAGE = 4096;
/** Pages a host keeps for reuse. */
const POOL_PAGES = 256;
const SCSI_SENSE_BUFFERSIZE = 96;
/** sd's default command time-out. */
export const SD_TIMEOUT_SECONDS = 30;
/** sd's retries for a request; scan commands get 3. */
const SD_MAX_RETRIES = 5;
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
    readonly host: ScsiHost,
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

const DEVICE_TYPES: Record<number, string> = { 0: 'Direct-Access', 5: 'CD-ROM', 0x0c: 'RAID', 0x1f: 'No Device' };

export class ScsiHost {
  readonly hostNo: number;
  readonly className: string;
  /** Real LUNs by "C:T:L". */
  readonly devices = new Map<string, ScsiDevice>();
  state: 'running' | 'recovery' | 'removed' = 'running';
  hostBusy = 0;
  scans = 0;
  scanInProgress = false;
  /** Commands the error handler owns. */
  private readonly ehQueue: ScsiCmnd[] = [];
  /** Commands the driver owns right now. */
  private readonly inflight = new Set<ScsiCmnd>();
  private ehRunning = false;
  private rescanPending = false;
  private scanWaiters: (() => void)[] = [];
  private serial = 0;
  private cancelRerun: (() => void) | undefined;
  private readonly kernelLog: (text: string) => void;
  private dmaPages = new Set<number>();
  /** Freed DMA pages kept for the next command (a slab, so I/O does not map and unmap memory each time). */
  private readonly pagePool: number[] = [];
  stats = { issued: 0, completed: 0, busyReturns: 0, retries: 0, timeouts: 0, aborts: 0, resets: 0, failed: 0, staleCompletions: 0 };

  constructor(
    /** The run's mid-layer, which lists the host while it is added. */
    private readonly midlayer: ScsiMidlayer,
    readonly dev: VisorDevice,
    readonly template: ScsiHostTemplate,
    private readonly ops: ScsiHostOps,
  ) {
    const k = dev.kernel;
    this.className = k.nextClassName('scsi_host', 'host');
    this.hostNo = Number(this.className.slice(4)) || 0;
    this.kernelLog = (t) => dev.info(t);
  }

  get owner(): string {
    return `${this.dev.busNo}:${this.dev.devNo}`;
  }

  /** scsi_add_host: publish /sys/class/scsi_host/hostN. */
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

  private removeDevice(sdev: ScsiDevice, why: string): void {
    sdev.state = 'deleted';
    for (const cmd of sdev.queue.splice(0)) this.finish(cmd, -6, why);
    if (sdev.disk) {
      sdev.disk.removed = true;
      this.midlayer.block.disks.delete(sdev.disk.name);
      this.dev.kernel.removeClassDevice('block', sdev.disk.name);
      sdev.disk = undefined;
    }
    this.devices.delete(`${sdev.channel}:${sdev.id}:${sdev.lun}`);
  }

  // ---------------------------------------------------------------- dispatch

  /** Build and queue a command; `onDone(cmd, errno, why)` runs once, after retries. */
  queue(sdev: ScsiDevice, cdb: Uint8Array, dataDir: number, bufflen: number, sg: SgEntry[], allowed: number, onDone: (cmd: ScsiCmnd, error: number, why: string) => void): ScsiCmnd {
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

  private rerunLater(): void {
    if (this.cancelRerun) return;
    const k = this.dev.kernel;
    const delay = Math.max(1, Math.ceil((BUSY_DELAY_MS * k.hz) / 1000));
    this.cancelRerun = k.setTimer(this.dev, delay, `scsi ${this.className} requeue`, () => {
      this.cancelRerun = undefined;
      this.run();
    });
  }

  private armTimer(cmd: ScsiCmnd): void {
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
      this.kernelLog(`scsi ${cmd.sdev.hctl}: ignoring completion of ${opName(cmd.opcode)} #${cmd.serial} (attempt ${attempt}): the command was already timed out, reset or re-issued`);
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

  private judge(cmd: ScsiCmnd): void {
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

  private requeue(cmd: ScsiCmnd): void {
    cmd.state = 'waiting';
    cmd.result = 0;
    cmd.sense.fill(0);
    if (cmd.sdev.state === 'deleted' || this.state === 'removed') return this.finish(cmd, -6, 'no such device');
    if (cmd.sdev.state === 'offline') return this.finish(cmd, -5, `${cmd.sdev.hctl} is offline`);
    cmd.sdev.queue.unshift(cmd);
  }

  private logFailure(cmd: ScsiCmnd, why: string): void {
    if (cmd.quiet) return;
    const tag = cmd.sdev.disk ? `sd ${cmd.sdev.hctl}: [${cmd.sdev.disk.name}]` : `scsi ${cmd.sdev.hctl}:`;
    this.dev.warn(`${tag} ${opName(cmd.opcode)} FAILED Result: hostbyte=${hostByteName(hostByte(cmd.result))} status=0x${(cmd.result & 0xff).toString(16)}: ${why}`);
  }

  private finish(cmd: ScsiCmnd, error: number, why: string): void {
    if (cmd.state === 'done') return;
    cmd.state = 'done';
    cmd.cancelTimer?.();
    cmd.cancelTimer = undefined;
    if (error) this.stats.failed++;
    cmd.onDone(cmd, error, why);
  }

  // ---------------------------------------------------------------- error handling

  private timedOut(cmd: ScsiCmnd): void {
    this.stats.timeouts++;
    this.inflight.delete(cmd);
    cmd.state = 'eh';
    cmd.sdev.busy--;
    this.hostBusy--;
    this.ehQueue.push(cmd);
    this.dev.warn(`scsi ${cmd.sdev.hctl}: ${opName(cmd.opcode)} #${cmd.serial} timed out after ${cmd.sdev.timeoutSeconds} s; waking the error handler`);
    if (this.state === 'running') this.state = 'recovery';
    this.tryStartEh();
  }

  private issuedCount(): number {
    return this.inflight.size;
  }

  /** The error handler runs once every command still in flight has completed or timed out. */
  private tryStartEh(): void {
    if (this.ehRunning || this.ehQueue.length === 0 || this.state === 'removed') return;
    if (this.issuedCount() > 0) return;
    this.ehRunning = true;
    this.ehStep();
  }

  private ehStep(): void {
    const cmd = this.ehQueue[0];
    if (!cmd || this.state === 'removed') {
      this.ehRunning = false;
      if (this.state === 'recovery') this.state = 'running';
      this.run();
      return;
    }
    const escalate = (level: number): void => {
      const steps: [string, (finish: (rc: number) => void) => void][] = [
        ['abort', (f) => this.ops.abort(cmd, f)],
        ['device reset', (f) => this.ops.deviceReset(cmd.sdev, f)],
        ['bus reset', (f) => this.ops.busReset(cmd.sdev, f)],
        ['host reset', (f) => this.ops.hostReset(cmd.sdev, f)],
      ];
      if (level >= steps.length) {
        // Nothing worked: the LUN goes offline and its commands fail.
        cmd.sdev.state = 'offline';
        this.dev.err(`scsi ${cmd.sdev.hctl}: Device offlined - not ready after error recovery`);
        for (const c of this.ehQueue.filter((x) => x.sdev === cmd.sdev)) {
          this.ehQueue.splice(this.ehQueue.indexOf(c), 1);
          this.finish(c, -5, 'device offlined after error recovery');
        }
        for (const c of cmd.sdev.queue.splice(0)) this.finish(c, -5, 'device offlined after error recovery');
        this.ehStep();
        return;
      }
      const [name, fn] = steps[level];
      this.dev.info(`scsi ${cmd.sdev.hctl}: error handler: ${name} for ${opName(cmd.opcode)} #${cmd.serial}`);
      if (level === 0) this.stats.aborts++;
      else this.stats.resets++;
      fn((rc) => {
        if (rc !== SUCCESS) {
          this.dev.warn(`scsi ${cmd.sdev.hctl}: error handler: ${name} failed`);
          escalate(level + 1);
          return;
        }
        // Recovered: the commands in the handler's scope are retried (or fail when out of retries).
        const inScope = (c: ScsiCmnd): boolean =>
          level === 0 ? c === cmd : level === 1 ? c.sdev === cmd.sdev : level === 2 ? c.channel === cmd.channel : true;
        for (const c of this.ehQueue.filter(inScope)) {
          this.ehQueue.splice(this.ehQueue.indexOf(c), 1);
          c.result = makeResult(level === 0 ? DID.ABORT : DID.RESET, 0);
          if (c.retries < c.allowed) {
            c.retries++;
            this.stats.retries++;
            this.requeue(c);
          } else {
            this.logFailure(c, 'timed out (out of retries)');
            this.finish(c, -5, 'timed out (out of retries)');
          }
        }
        this.ehStep();
      });
    };
    escalate(0);
  }

  // ---------------------------------------------------------------- scanning

  /** Probe-only devices of the scan in progress. */
  private scanDevices: ScsiDevice[] = [];

  /** Run `fn` once no scan is in progress (at once when none is): what `udevadm settle` waits for. */
  whenScanned(fn: () => void): void {
    if (!this.scanInProgress && !this.rescanPending) fn();
    else this.scanWaiters.push(fn);
  }

  /** scsi_scan_host: find every LUN; disks become block devices. */
  scan(done?: () => void): void {
    if (this.state === 'removed') return;
    if (this.scanInProgress) {
      this.rescanPending = true;
      return;
    }
    this.scans++;
    this.scanInProgress = true;
    const t = this.template;
    // The kernel walks every id up to max_id; the emulator stops at a bound and says so.
    const lastId = Math.min(t.maxId, MAX_SCAN_TARGETS);
    if (t.maxId > MAX_SCAN_TARGETS) this.kernelLog(`scsi ${this.className}: max_id ${t.maxId}: scanning targets 0…${MAX_SCAN_TARGETS - 1} only (the emulator's limit)`);
    let nextId = 0;
    const next = (): void => {
      if (nextId === t.thisId) nextId++;
      const id = nextId < lastId ? nextId++ : undefined;
      if (id === undefined) {
        this.scanInProgress = false;
        done?.();
        if (this.rescanPending) {
          this.rescanPending = false;
          this.scan();
          return;
        }
        for (const w of this.scanWaiters.splice(0)) w();
        return;
      }
      this.scanTarget(0, id, next);
    };
    next();
  }

  private probeDevice(channel: number, id: number, lun: number): ScsiDevice {
    const existing = this.devices.get(`${channel}:${id}:${lun}`);
    if (existing) return existing;
    const sdev = new ScsiDevice(this, channel, id, lun, 1);
    this.scanDevices.push(sdev);
    return sdev;
  }

  private dropProbe(sdev: ScsiDevice): void {
    const i = this.scanDevices.indexOf(sdev);
    if (i >= 0) this.scanDevices.splice(i, 1);
  }

  /** Run one internal command with a DMA bounce buffer; `cb(error, data)`. */
  private execute(sdev: ScsiDevice, cdb: Uint8Array, dataDir: number, len: number, cb: (error: number, data: Uint8Array, cmd: ScsiCmnd) => void): void {
    const bufs = this.allocPages(len);
    const c = this.queue(sdev, cdb, dataDir, len, bufs, SCAN_RETRIES, (cmd, error) => {
      const data = dataDir === DMA.FROM_DEVICE && !error ? this.gather(bufs, len) : new Uint8Array(0);
      this.freePages(bufs);
      cb(error, data, cmd);
    });
    c.quiet = true;
  }

  private scanTarget(channel: number, id: number, done: () => void): void {
    const lun0 = this.probeDevice(channel, id, 0);
    this.execute(lun0, cdbInquiry(36), DMA.FROM_DEVICE, 36, (err, data) => {
      if (err || data.length < 5) {
        if (lun0.scanning) this.dropProbe(lun0);
        done();
        return;
      }
      const pq = data[0] >> 5;
      if (pq !== 0 && pq !== 1) {
        if (lun0.scanning) this.dropProbe(lun0);
        done();
        return;
      }
      const afterLun0 = (): void => {
        // REPORT LUNS; on failure fall back to a sequential scan.
        // As sd's REPORT LUNS: room for max_scsi_luns entries, never for max_lun's 2^32.
        const alloc = 8 + 8 * Math.max(1, Math.min(this.template.maxLun, MAX_SCAN_LUNS));
        this.execute(lun0, cdbReportLuns(alloc), DMA.FROM_DEVICE, alloc, (rerr, rdata) => {
          if (lun0.scanning) this.dropProbe(lun0);
          let luns: number[];
          if (rerr || rdata.length < 8) {
            luns = [];
            // A sequential scan stops at max_scsi_luns, as the kernel's does.
            const last = Math.min(this.template.maxLun, MAX_SCAN_LUNS);
            if (this.template.maxLun > MAX_SCAN_LUNS) this.kernelLog(`scsi ${this.className}: max_lun ${this.template.maxLun}: sequential scan of ${channel}:${id} stops at LUN ${MAX_SCAN_LUNS - 1} (max_scsi_luns)`);
            for (let l = 1; l < last; l++) luns.push(l);
            this.scanLuns(channel, id, luns, true, done);
            return;
          }
          const listLen = readBe32(rdata, 0);
          luns = [];
          for (let o = 8; o + 8 <= Math.min(rdata.length, 8 + listLen); o += 8) {
            const l = ((rdata[o] & 0x3f) << 8) | rdata[o + 1];
            if (l !== 0 && l < this.template.maxLun) luns.push(l);
          }
          this.scanLuns(channel, id, luns, false, done);
        });
      };
      // A LUN found by an earlier scan is left as it is.
      if (pq === 0 && lun0.scanning) this.addLun(lun0, data, afterLun0);
      else afterLun0();
    });
  }

  private scanLuns(channel: number, id: number, luns: number[], sequential: boolean, done: () => void): void {
    const lun = luns.shift();
    if (lun === undefined) return done();
    const sdev = this.probeDevice(channel, id, lun);
    if (!sdev.scanning) return this.scanLuns(channel, id, luns, sequential, done);
    this.execute(sdev, cdbInquiry(36), DMA.FROM_DEVICE, 36, (err, data) => {
      if (err || data.length < 5 || data[0] >> 5 !== 0) {
        this.dropProbe(sdev);
        if (sequential) return done();
        return this.scanLuns(channel, id, luns, sequential, done);
      }
      this.addLun(sdev, data, () => this.scanLuns(channel, id, luns, sequential, done));
    });
  }

  /** scsi_add_lun, then sd_probe for a disk. */
  private addLun(sdev: ScsiDevice, inq: Uint8Array, done: () => void): void {
    const text = (a: number, b: number): string => String.fromCharCode(...inq.subarray(a, b)).replace(/\0/g, ' ');
    sdev.pdt = inq[0] & 0x1f;
    sdev.vendor = text(8, 16).padEnd(8);
    sdev.model = text(16, 32).padEnd(16);
    sdev.rev = text(32, 36).padEnd(4);
    sdev.scanning = false;
    sdev.queueDepth = this.template.cmdPerLun;
    this.dropProbe(sdev);
    this.devices.set(`${sdev.channel}:${sdev.id}:${sdev.lun}`, sdev);
    this.kernelLog(`scsi ${sdev.hctl}: ${(DEVICE_TYPES[sdev.pdt] ?? 'Unknown').padEnd(16)} ${sdev.vendor} ${sdev.model} ${sdev.rev} PQ: 0 ANSI: ${inq[2] & 7}`);
    if (sdev.pdt !== 0) return done();
    this.sdProbe(sdev, done);
  }

  private sdProbe(sdev: ScsiDevice, done: () => void): void {
    this.execute(sdev, cdbTestUnitReady(), DMA.NONE, 0, () => {
      this.execute(sdev, cdbReadCapacity10(), DMA.FROM_DEVICE, 8, (err, cap) => {
        if (err || cap.length < 8) {
          this.dev.warn(`sd ${sdev.hctl}: READ CAPACITY failed; no disk attached`);
          return done();
        }
        const last = readBe32(cap, 0);
        const blockLen = readBe32(cap, 4);
        if (last === 0xffffffff) {
          this.execute(sdev, cdbReadCapacity16(32), DMA.FROM_DEVICE, 32, (err16, c16) => {
            if (err16 || c16.length < 12) {
              this.dev.warn(`sd ${sdev.hctl}: READ CAPACITY(16) failed; no disk attached`);
              return done();
            }
            this.sdModeSense(sdev, readBe64(c16, 0) + 1, readBe32(c16, 8), done);
          });
          return;
        }
        this.sdModeSense(sdev, last + 1, blockLen, done);
      });
    });
  }

  private sdModeSense(sdev: ScsiDevice, blocks: number, blockLen: number, done: () => void): void {
    this.execute(sdev, cdbModeSense6(192), DMA.FROM_DEVICE, 192, (err, ms) => {
      const wp = !err && ms.length >= 3 && (ms[2] & 0x80) !== 0;
      this.attachDisk(sdev, (blocks * (blockLen || SECTOR_SIZE)) / SECTOR_SIZE, wp);
      done();
    });
  }

  private attachDisk(sdev: ScsiDevice, sectors: number, readOnly: boolean): void {
    const k = this.dev.kernel;
    const name = k.nextClassName('block', 'sd');
    const disk = new BlockDevice(name, this.owner, sdev.hctl, sdev.lun, sectors, readOnly, sdev.vendor, sdev.model, sdev.rev, (req, cb) => this.blockRequest(sdev, req, cb));
    sdev.disk = disk;
    this.midlayer.block.disks.set(name, disk);
    const t = this.template;
    k.addClassDevice(
      {
        cls: 'block',
        name,
        attrs: {
          size: () => `${disk.sectors}\n`,
          stat: () => disk.statText(),
          inflight: () => `${String(disk.stat.inFlight).padStart(8)} ${String(0).padStart(8)}\n`,
          ro: () => (disk.readOnly ? '1\n' : '0\n'),
          removable: () => '0\n',
          'device/vendor': () => `${sdev.vendor}\n`,
          'device/model': () => `${sdev.model}\n`,
          'device/rev': () => `${sdev.rev}\n`,
          'device/state': () => `${sdev.state === 'deleted' ? 'deleted' : sdev.state}\n`,
          'device/queue_depth': () => `${sdev.queueDepth}\n`,
          'device/timeout': () => `${sdev.timeoutSeconds}\n`,
          'device/scsi_disk_hctl': () => `${sdev.hctl}\n`,
          'queue/logical_block_size': () => `${SECTOR_SIZE}\n`,
          'queue/max_sectors_kb': () => `${Math.floor((t.maxSectors * SECTOR_SIZE) / 1024)}\n`,
          'queue/max_hw_sectors_kb': () => `${Math.floor((t.maxSectors * SECTOR_SIZE) / 1024)}\n`,
          'queue/max_segments': () => `${t.sgTablesize}\n`,
        },
        writers: {
          'device/timeout': (v: string) => {
            const n = Number(v.trim());
            if (!Number.isInteger(n) || n <= 0) throw new Error('EINVAL: timeout must be a positive number of seconds');
            sdev.timeoutSeconds = n;
          },
        },
      },
      this.dev,
    );
    const mb = (sectors * SECTOR_SIZE) / 1e6;
    this.kernelLog(`sd ${sdev.hctl}: [${name}] ${sectors} 512-byte logical blocks: (${mb.toFixed(2)} MB)`);
    if (readOnly) this.kernelLog(`sd ${sdev.hctl}: [${name}] Write Protect is on`);
    this.kernelLog(`sd ${sdev.hctl}: [${name}] Attached SCSI disk`);
  }

  // ---------------------------------------------------------------- block I/O

  private allocPages(len: number): SgEntry[] {
    const sg: SgEntry[] = [];
    const k = this.dev.kernel;
    for (let off = 0; off < len; off += PAGE) {
      const addr = this.pagePool.pop() ?? k.allocDma(PAGE, PAGE);
      this.dmaPages.add(addr);
      sg.push({ addr, len: Math.min(PAGE, len - off) });
    }
    return sg;
  }

  private freePages(sg: SgEntry[]): void {
    for (const e of sg) {
      if (!this.dmaPages.delete(e.addr)) continue;
      if (this.state !== 'removed' && this.pagePool.length < POOL_PAGES) this.pagePool.push(e.addr);
      else this.dev.kernel.freeDma(e.addr);
    }
  }

  private gather(sg: SgEntry[], len: number): Uint8Array {
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

  private scatter(sg: SgEntry[], data: Uint8Array): void {
    let off = 0;
    for (const e of sg) {
      const n = Math.min(e.len, data.length - off);
      if (n <= 0) break;
      this.dev.kernel.memory.write(e.addr, data.subarray(off, off + n));
      off += n;
    }
  }

  /** sd: turn a block request into SCSI commands (split by max_sectors / sg_tablesize). */
  private blockRequest(sdev: ScsiDevice, req: BlockRequest, cb: (r: BlockResult) => void): void {
    const k = this.dev.kernel;
    const result = (error: number, why: string, data?: Uint8Array): BlockResult => ({ op: req.op, lba: req.lba, sectors: req.sectors, error, why, data, jiffies: k.jiffies() });
    if (req.op === 'flush') {
      this.queue(sdev, cdbSynchronizeCache(), DMA.NONE, 0, [], SD_MAX_RETRIES, (_c, err, why) => cb(result(err, why)));
      return;
    }
    if (req.lba + req.sectors > (sdev.disk?.sectors ?? 0)) {
      // The block layer refuses I/O past the end of the device before it reaches sd.
      this.dev.warn(`${sdev.disk?.name ?? sdev.hctl}: attempt to access beyond end of device (sector ${req.lba}, ${req.sectors} sectors, size ${sdev.disk?.sectors ?? 0})`);
      cb(result(-5, 'beyond end of device'));
      return;
    }
    const write = req.op === 'write';
    const maxPerCmd = Math.max(1, Math.min(this.template.maxSectors, (this.template.sgTablesize * PAGE) / SECTOR_SIZE));
    const chunks: { lba: number; sectors: number; off: number }[] = [];
    for (let done = 0; done < req.sectors; done += maxPerCmd) {
      chunks.push({ lba: req.lba + done, sectors: Math.min(maxPerCmd, req.sectors - done), off: done * SECTOR_SIZE });
    }
    const out = write ? undefined : new Uint8Array(req.sectors * SECTOR_SIZE);
    let pending = chunks.length;
    let firstErr = 0;
    let firstWhy = '';
    for (const ch of chunks) {
      const len = ch.sectors * SECTOR_SIZE;
      const sg = this.allocPages(len);
      if (write && req.data) this.scatter(sg, req.data.subarray(ch.off, ch.off + len));
      this.queue(sdev, cdbReadWrite(write, ch.lba, ch.sectors), write ? DMA.TO_DEVICE : DMA.FROM_DEVICE, len, sg, SD_MAX_RETRIES, (_cmd, err, why) => {
        if (!err && out) out.set(this.gather(sg, len), ch.off);
        this.freePages(sg);
        if (err && !firstErr) {
          firstErr = err;
          firstWhy = why;
          this.dev.err(`blk_update_request: I/O error, dev ${sdev.disk?.name ?? sdev.hctl}, sector ${ch.lba} (${why})`);
        }
        if (--pending === 0) cb(result(firstErr, firstWhy, firstErr ? undefined : out));
      });
    }
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
