/**
 * SCSI as the guest's SCSI mid-layer and the IO partition both speak it: command
 * opcodes, the Linux `scsi_cmnd->result` word (driver/host/msg/status bytes), fixed
 * format sense data, CDB builders and parsers, and the mid-layer's disposition of a
 * completed command (success, retry, or fail with an errno).
 */

export const OP = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SENSE_6: 0x1a,
  READ_CAPACITY_10: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  SYNCHRONIZE_CACHE_10: 0x35,
  READ_16: 0x88,
  WRITE_16: 0x8a,
  SYNCHRONIZE_CACHE_16: 0x91,
  SERVICE_ACTION_IN_16: 0x9e,
  REPORT_LUNS: 0xa0,
} as const;

/** SERVICE ACTION IN(16) service action for READ CAPACITY(16). */
export const SAI_READ_CAPACITY_16 = 0x10;

/** SCSI opcode names: the one table the kernel log and the debugger's decoders print. */
export const OP_NAMES: Readonly<Record<number, string>> = {
  0x00: 'TEST UNIT READY',
  0x03: 'REQUEST SENSE',
  0x08: 'READ(6)',
  0x0a: 'WRITE(6)',
  0x12: 'INQUIRY',
  0x1a: 'MODE SENSE(6)',
  0x1b: 'START STOP UNIT',
  0x1e: 'PREVENT ALLOW MEDIUM REMOVAL',
  0x25: 'READ CAPACITY(10)',
  0x28: 'READ(10)',
  0x2a: 'WRITE(10)',
  0x35: 'SYNCHRONIZE CACHE(10)',
  0x5a: 'MODE SENSE(10)',
  0x88: 'READ(16)',
  0x8a: 'WRITE(16)',
  0x91: 'SYNCHRONIZE CACHE(16)',
  0x9e: 'SERVICE ACTION IN(16)',
  0xa0: 'REPORT LUNS',
};

export function opName(op: number): string {
  return OP_NAMES[op] ?? `opcode 0x${op.toString(16).padStart(2, '0')}`;
}

/** SCSI status byte. */
export const SAM_STAT = { GOOD: 0x00, CHECK_CONDITION: 0x02, BUSY: 0x08, TASK_SET_FULL: 0x28 } as const;

/** Host byte of the Linux result (bits 16–23). */
export const DID = {
  OK: 0x00,
  NO_CONNECT: 0x01,
  BUS_BUSY: 0x02,
  TIME_OUT: 0x03,
  BAD_TARGET: 0x04,
  ABORT: 0x05,
  PARITY: 0x06,
  ERROR: 0x07,
  RESET: 0x08,
  BAD_INTR: 0x09,
  PASSTHROUGH: 0x0a,
  SOFT_ERROR: 0x0b,
  IMM_RETRY: 0x0c,
  REQUEUE: 0x0d,
} as const;

const DID_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DID).map(([k, v]) => [v, `DID_${k}`]));

/** Driver byte DRIVER_SENSE (bits 24–31): sense data is valid. */
export const DRIVER_SENSE = 0x08;

export const SENSE_KEY = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  ABORTED_COMMAND: 0xb,
} as const;

const SENSE_KEY_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SENSE_KEY).map(([k, v]) => [v, k.replace(/_/g, ' ')]));

/** Additional sense codes (ASC, ASCQ) the emulator uses. */
export const ASC = {
  WRITE_ERROR: [0x0c, 0x00],
  UNRECOVERED_READ_ERROR: [0x11, 0x00],
  INVALID_OPCODE: [0x20, 0x00],
  LBA_OUT_OF_RANGE: [0x21, 0x00],
  INVALID_FIELD_IN_CDB: [0x24, 0x00],
  LUN_NOT_SUPPORTED: [0x25, 0x00],
  WRITE_PROTECTED: [0x27, 0x00],
  INTERNAL_TARGET_FAILURE: [0x44, 0x00],
} as const satisfies Record<string, readonly [number, number]>;

const ASC_NAMES: Record<string, string> = {
  '12,0': 'write error',
  '17,0': 'unrecovered read error',
  '32,0': 'invalid command operation code',
  '33,0': 'logical block address out of range',
  '36,0': 'invalid field in cdb',
  '37,0': 'logical unit not supported',
  '39,0': 'write protected',
  '68,0': 'internal target failure',
};

/** The Linux result word. */
export function makeResult(host: number, status: number, driverSense = false): number {
  return ((driverSense ? DRIVER_SENSE : 0) * 0x1000000 + (host << 16) + (status & 0xff)) >>> 0;
}

export function hostByte(result: number): number {
  return (result >>> 16) & 0xff;
}

export function statusByte(result: number): number {
  return result & 0xff;
}

export function hostByteName(b: number): string {
  return DID_NAMES[b] ?? `0x${b.toString(16).padStart(2, '0')}`;
}

/** Fixed-format sense data (response code 0x70), 18 bytes. */
export function buildSense(key: number, asc: readonly [number, number], info?: number): Uint8Array {
  const s = new Uint8Array(18);
  s[0] = 0x70 | (info !== undefined ? 0x80 : 0);
  s[2] = key & 0x0f;
  if (info !== undefined) {
    const v = Math.min(info, 0xffffffff);
    s[3] = (v >>> 24) & 0xff;
    s[4] = (v >>> 16) & 0xff;
    s[5] = (v >>> 8) & 0xff;
    s[6] = v & 0xff;
  }
  s[7] = 10;
  s[12] = asc[0];
  s[13] = asc[1];
  return s;
}

export interface SenseInfo {
  key: number;
  asc: number;
  ascq: number;
}

/** Decode fixed (0x70/0x71) or descriptor (0x72/0x73) sense; undefined when not valid sense. */
export function parseSense(s: Uint8Array): SenseInfo | undefined {
  const code = s[0] & 0x7f;
  if (code === 0x70 || code === 0x71) return { key: s[2] & 0x0f, asc: s[12], ascq: s[13] };
  if (code === 0x72 || code === 0x73) return { key: s[1] & 0x0f, asc: s[2], ascq: s[3] };
  return undefined;
}

export function senseText(s: SenseInfo): string {
  const key = SENSE_KEY_NAMES[s.key] ?? `sense key 0x${s.key.toString(16)}`;
  const asc = ASC_NAMES[`${s.asc},${s.ascq}`] ?? `asc 0x${s.asc.toString(16)} ascq 0x${s.ascq.toString(16)}`;
  return `${key} (${asc})`;
}

// ---- CDB builders (the guest side) ----

export function cdbInquiry(allocLen: number, evpd = false, page = 0): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.INQUIRY;
  c[1] = evpd ? 1 : 0;
  c[2] = page;
  c[3] = (allocLen >> 8) & 0xff;
  c[4] = allocLen & 0xff;
  return c;
}

export function cdbTestUnitReady(): Uint8Array {
  return new Uint8Array(16);
}

export function cdbReportLuns(allocLen: number): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.REPORT_LUNS;
  writeBe32(c, 6, allocLen);
  return c;
}

export function cdbReadCapacity10(): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.READ_CAPACITY_10;
  return c;
}

export function cdbReadCapacity16(allocLen = 32): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.SERVICE_ACTION_IN_16;
  c[1] = SAI_READ_CAPACITY_16;
  writeBe32(c, 10, allocLen);
  return c;
}

export function cdbModeSense6(allocLen = 192): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.MODE_SENSE_6;
  c[2] = 0x3f; // all pages
  c[4] = allocLen & 0xff;
  return c;
}

/** READ/WRITE(10) when the range fits, else (16) — the way sd picks. */
export function cdbReadWrite(write: boolean, lba: number, blocks: number): Uint8Array {
  const c = new Uint8Array(16);
  if (lba + blocks <= 0xffffffff && blocks <= 0xffff) {
    c[0] = write ? OP.WRITE_10 : OP.READ_10;
    writeBe32(c, 2, lba);
    c[7] = (blocks >> 8) & 0xff;
    c[8] = blocks & 0xff;
  } else {
    c[0] = write ? OP.WRITE_16 : OP.READ_16;
    writeBe64(c, 2, lba);
    writeBe32(c, 10, blocks);
  }
  return c;
}

export function cdbSynchronizeCache(): Uint8Array {
  const c = new Uint8Array(16);
  c[0] = OP.SYNCHRONIZE_CACHE_10;
  return c;
}

// ---- CDB parsing (the IO partition side) ----

export interface RwCdb {
  write: boolean;
  lba: number;
  blocks: number;
}

/** READ/WRITE 6/10/16 -> range; undefined for other opcodes. */
export function parseRw(cdb: Uint8Array): RwCdb | undefined {
  switch (cdb[0]) {
    case OP.READ_6:
    case OP.WRITE_6: {
      const lba = ((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3];
      return { write: cdb[0] === OP.WRITE_6, lba, blocks: cdb[4] === 0 ? 256 : cdb[4] };
    }
    case OP.READ_10:
    case OP.WRITE_10:
      return { write: cdb[0] === OP.WRITE_10, lba: readBe32(cdb, 2), blocks: (cdb[7] << 8) | cdb[8] };
    case OP.READ_16:
    case OP.WRITE_16:
      return { write: cdb[0] === OP.WRITE_16, lba: readBe64(cdb, 2), blocks: readBe32(cdb, 10) };
    default:
      return undefined;
  }
}

export function readBe16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function readBe32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}

export function readBe64(b: Uint8Array, o: number): number {
  return readBe32(b, o) * 0x100000000 + readBe32(b, o + 4);
}

export function writeBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function writeBe64(b: Uint8Array, o: number, v: number): void {
  writeBe32(b, o, Math.floor(v / 0x100000000));
  writeBe32(b, o + 4, v >>> 0);
}

// ---- the mid-layer's view of a completion ----

export type Disposition =
  | { action: 'success' }
  /** `counted`: uses one of the command's retries (sd allows 5). */
  | { action: 'retry'; counted: boolean; why: string }
  | { action: 'fail'; errno: number; why: string };

const EIO = 5;

/**
 * What Linux's SCSI mid-layer and sd do with a completed command: DID_RESET is
 * retried without limit (a reset is never the command's fault), transient host errors
 * and UNIT ATTENTION / ABORTED COMMAND use up retries, medium and illegal-request
 * errors fail the request with -EIO at once.
 */
export function disposition(result: number, sense: Uint8Array | undefined): Disposition {
  if (result === 0) return { action: 'success' };
  const host = hostByte(result);
  switch (host) {
    case DID.OK:
      break;
    case DID.RESET:
      return { action: 'retry', counted: false, why: 'DID_RESET' };
    case DID.REQUEUE:
    case DID.IMM_RETRY:
      return { action: 'retry', counted: false, why: hostByteName(host) };
    case DID.ABORT:
    case DID.ERROR:
    case DID.BUS_BUSY:
    case DID.SOFT_ERROR:
    case DID.PARITY:
    case DID.TIME_OUT:
      return { action: 'retry', counted: true, why: hostByteName(host) };
    default:
      return { action: 'fail', errno: EIO, why: hostByteName(host) };
  }
  const status = statusByte(result);
  if (status === SAM_STAT.BUSY || status === SAM_STAT.TASK_SET_FULL) {
    return { action: 'retry', counted: true, why: status === SAM_STAT.BUSY ? 'BUSY' : 'TASK SET FULL' };
  }
  if (status !== SAM_STAT.CHECK_CONDITION) return { action: 'fail', errno: EIO, why: `status 0x${status.toString(16)}` };
  const s = sense ? parseSense(sense) : undefined;
  if (!s) return { action: 'fail', errno: EIO, why: 'CHECK CONDITION without sense' };
  switch (s.key) {
    case SENSE_KEY.NO_SENSE:
    case SENSE_KEY.RECOVERED_ERROR:
      return { action: 'success' };
    case SENSE_KEY.UNIT_ATTENTION:
    case SENSE_KEY.ABORTED_COMMAND:
      return { action: 'retry', counted: true, why: senseText(s) };
    default:
      return { action: 'fail', errno: EIO, why: senseText(s) };
  }
}
