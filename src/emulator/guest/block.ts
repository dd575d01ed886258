/**
 * The guest's block layer as far as users see it: one `gendisk` per SCSI disk
 * (/sys/block/sdX) with its size, its `stat` counters in Linux's format, and the
 * results of the I/O a scenario asked the guest to do (`disk 2:0 read ...`). The
 * request path itself (CDBs, retries, time-outs) lives in the SCSI mid-layer
 * (scsihost.ts); a BlockDevice just counts and remembers.
 *
 * The block devices of one emulator run belong to its `BlockLayer` (guest/kernel.ts
 * owns one per run), so concurrent runs never see each other.
 */

export const SECTOR_SIZE = 512;

export type BlockOp = 'read' | 'write' | 'flush';

/** One request as a user issued it. */
export interface BlockRequest {
  op: BlockOp;
  /** In 512-byte sectors. */
  lba: number;
  sectors: number;
  /** Write data (sectors * 512 bytes). */
  data?: Uint8Array;
}

export interface BlockResult {
  op: BlockOp;
  lba: number;
  sectors: number;
  /** 0 or a negative errno. */
  error: number;
  /** Read data. */
  data?: Uint8Array;
  /** Why it failed, as the kernel would log it. */
  why?: string;
  jiffies: number;
}

/** /sys/block/sdX/stat fields (Linux Documentation/block/stat). */
export interface BlockStat {
  readIos: number;
  readMerges: number;
  readSectors: number;
  readTicks: number;
  writeIos: number;
  writeMerges: number;
  writeSectors: number;
  writeTicks: number;
  inFlight: number;
  ioTicks: number;
  timeInQueue: number;
}

/** Submits a request to the device's driver stack; `done` runs when it finished. */
export type BlockSubmit = (req: BlockRequest, done: (r: BlockResult) => void) => void;

export class BlockDevice {
  readonly stat: BlockStat = {
    readIos: 0,
    readMerges: 0,
    readSectors: 0,
    readTicks: 0,
    writeIos: 0,
    writeMerges: 0,
    writeSectors: 0,
    writeTicks: 0,
    inFlight: 0,
    ioTicks: 0,
    timeInQueue: 0,
  };
  /** Completed requests, newest last (the last 256). */
  readonly results: BlockResult[] = [];
  completed = 0;
  failed = 0;
  flushes = 0;
  lastRead: Uint8Array | undefined;
  lastError = 0;
  removed = false;

  constructor(
    /** "sda" */
    readonly name: string,
    /** The visor device it hangs off, "2:0". */
    readonly owner: string,
    /** Host:channel:id:lun, e.g. "0:0:0:1". */
    readonly hctl: string,
    readonly lun: number,
    public sectors: number,
    public readOnly: boolean,
    readonly vendor: string,
    readonly model: string,
    readonly rev: string,
    private readonly submitFn: BlockSubmit,
  ) {}

  /** Issue a request; the result is recorded and passed to `done`. */
  submit(req: BlockRequest, now: () => number, msPerJiffy: number, done?: (r: BlockResult) => void): void {
    if (this.removed) {
      const r: BlockResult = { op: req.op, lba: req.lba, sectors: req.sectors, error: -6, why: `${this.name} is gone (ENXIO)`, jiffies: now() };
      this.record(r);
      done?.(r);
      return;
    }
    const start = now();
    this.stat.inFlight++;
    this.submitFn(req, (r) => {
      this.stat.inFlight--;
      const ms = Math.round((now() - start) * msPerJiffy);
      if (req.op === 'read') {
        this.stat.readIos++;
        this.stat.readSectors += req.sectors;
        this.stat.readTicks += ms;
      } else if (req.op === 'write') {
        this.stat.writeIos++;
        this.stat.writeSectors += req.sectors;
        this.stat.writeTicks += ms;
      }
      this.stat.ioTicks += ms;
      this.stat.timeInQueue += ms;
      this.record(r);
      done?.(r);
    });
  }

  private record(r: BlockResult): void {
    if (r.op === 'flush') this.flushes++;
    if (r.error) {
      this.failed++;
      this.lastError = r.error;
    } else {
      this.completed++;
      if (r.op === 'read' && r.data) this.lastRead = r.data;
    }
    this.results.push(r);
    if (this.results.length > 256) this.results.shift();
  }

  /** The `stat` file: 11 fields, each right-aligned in 8 columns. */
  statText(): string {
    const s = this.stat;
    const f = [
      s.readIos,
      s.readMerges,
      s.readSectors,
      s.readTicks,
      s.writeIos,
      s.writeMerges,
      s.writeSectors,
      s.writeTicks,
      s.inFlight,
      s.ioTicks,
      s.timeInQueue,
    ];
    return f.map((n) => String(n).padStart(8)).join(' ') + '\n';
  }
}

/** sd's disk naming: sda … sdz, sdaa … sdzz, sdaaa … */
export function sdName(index: number): string {
  let s = '';
  let n = index;
  do {
    s = String.fromCharCode(0x61 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return 'sd' + s;
}

/** The block layer of one run: its disks (gendisks) by name. */
export class BlockLayer {
  readonly disks = new Map<string, BlockDevice>();

  /** The first unused sdX name. */
  nextDiskName(): string {
    for (let i = 0; ; i++) {
      const n = sdName(i);
      if (!this.disks.has(n)) return n;
    }
  }

  /** Disks of one visor device ("2:0"), by LUN. */
  disksOf(owner: string): BlockDevice[] {
    return [...this.disks.values()].filter((d) => d.owner === owner).sort((a, b) => a.lun - b.lun);
  }
}

/** Data as text for counters: bytes up to the first NUL, Latin-1. */
export function dataText(data: Uint8Array | undefined): string {
  if (!data) return '';
  let end = data.indexOf(0);
  if (end < 0) end = data.length;
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(data[i]);
  return s;
}
