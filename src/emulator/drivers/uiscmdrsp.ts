/**
 * `struct uiscmdrsp` (iochannel.h, reference §7.2): the 1185-byte message both IO
 * channel queues carry, one per 1216-byte slot (SIZEOF_CMDRSP). visorhba uses the
 * `scsi` and `scsitaskmgmt` members, visornic the `net` member; the IO partition
 * back-ends decode the same bytes. Everything is packed and little-endian.
 *
 * Offsets below are absolute within the message (cmdtype is byte 0, the union starts
 * at byte 1), as computed by the reference from packed replicas of the final headers.
 */
import { IO_CHANNEL } from '../protocol/layout';

export const SIZEOF_CMDRSP = IO_CHANNEL.SIZEOF_CMDRSP; // 1216
export const UISCMDRSP_BYTES = IO_CHANNEL.UISCMDRSP_SIZE; // 1185

/** Queue numbers of an IO channel. */
export const IOCHAN_TO_IOPART = 0;
export const IOCHAN_FROM_IOPART = 1;

/** `cmdtype` values. */
export const CMD = {
  SCSI: 1,
  NET: 2,
  SCSITASKMGMT: 3,
  NOTIFYGUEST: 4,
} as const;

/** uiscmdrsp_scsi field offsets. */
export const SCSI = {
  handle: 1,
  cmnd: 9,
  cmnd_len: 16,
  bufflen: 25,
  guest_phys_entries: 29,
  gpi_list: 31,
  gpi_entry: 16,
  max_gpi: 64,
  data_dir: 1055,
  vdest_channel: 1059,
  vdest_id: 1063,
  vdest_lun: 1067,
  linuxstat: 1071,
  scsistat: 1075,
  addlstat: 1076,
  sensebuf: 1077,
  sensebuf_len: 64,
  vdisk: 1141,
  no_disk_result: 1149,
} as const;

/** Guest-private trailer (never interpreted by the peer). */
export const TRAILER = { private_data: 1153, next: 1161, activeQ_next: 1169, activeQ_prev: 1177 } as const;

/** uiscmdrsp_scsitaskmgmt field offsets. */
export const TASKMGMT = {
  tasktype: 1,
  vdest_channel: 5,
  vdest_id: 9,
  vdest_lun: 13,
  handle: 17,
  notify_handle: 25,
  notifyresult_handle: 33,
  result: 41,
} as const;

export const TASK_MGMT = { ABORT_TASK: 1, BUS_RESET: 2, LUN_RESET: 3, TARGET_RESET: 4 } as const;
export const TASK_MGMT_NAMES: Readonly<Record<number, string>> = { 1: 'ABORT_TASK', 2: 'BUS_RESET', 3: 'LUN_RESET', 4: 'TARGET_RESET' };
export const TASK_MGMT_FAILED = 0;
export const TASK_MGMT_SUCCESS = 1;

/** uiscmdrsp_disknotify field offsets. */
export const DISKNOTIFY = { add: 1, v_hba: 2, channel: 10, id: 14, lun: 18 } as const;

/** `data_dir` (UIS_DMA_*; same numbers as Linux's enum dma_data_direction). */
export const UIS_DMA = { BIDIRECTIONAL: 0, TO_DEVICE: 1, FROM_DEVICE: 2, NONE: 3 } as const;

/** `addlstat` values (old list). */
export const ADDL = { RESET: 1, TIMEOUT: 2, INTERNAL_ERROR: 3, SEL_TIMEOUT: 4, CMD_TIMEOUT: 5, BAD_TARGET: 6, RETRY: 7 } as const;

/** uiscmdrsp_net field offsets. */
export const NET = {
  type: 1,
  buf: 5,
  // rcvpost
  rcvpost_pi_pfn: 13,
  rcvpost_pi_off: 21,
  rcvpost_pi_len: 23,
  rcvpost_unique_num: 25,
  // rcv
  rcv_done_len: 13,
  rcv_numrcvbufs: 17,
  rcv_rcvbuf: 18,
  rcv_unique_num: 58,
  rcv_rcvs_dropped_delta: 66,
  // xmt
  xmt_len: 13,
  xmt_num_frags: 17,
  xmt_frags: 21,
  phys_info_size: 12,
  xmt_ethhdr: 789,
  // lincsum, final (inner struct not packed, 20 bytes)
  lincsum_valid: 803,
  lincsum_hrawoffv: 804,
  lincsum_nhrawoffv: 805,
  lincsum_protocol: 807,
  lincsum_csum: 811,
  lincsum_hrawoff: 815,
  lincsum_nhrawoff: 819,
  // xmtdone
  xmtdone_result: 13,
  // enbdis
  enbdis_context: 13,
  enbdis_enable: 21,
  // macaddr
  macaddr_context: 13,
  macaddr_mac: 21,
} as const;

/** enum net_types. */
export const NET_TYPE = {
  RCV_POST: 0,
  RCV: 1,
  XMIT: 2,
  XMIT_DONE: 3,
  RCV_ENBDIS: 4,
  RCV_ENBDIS_ACK: 5,
  RCV_PROMISC: 6,
  CONNECT_STATUS: 7,
  MACADDR: 8,
  MACADDR_ACK: 9,
} as const;

export const NET_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'NET_RCV_POST',
  1: 'NET_RCV',
  2: 'NET_XMIT',
  3: 'NET_XMIT_DONE',
  4: 'NET_RCV_ENBDIS',
  5: 'NET_RCV_ENBDIS_ACK',
  6: 'NET_RCV_PROMISC',
  7: 'NET_CONNECT_STATUS',
  8: 'NET_MACADDR',
  9: 'NET_MACADDR_ACK',
};

/**
 * At most this many signals are taken off one queue in one go. A real guest would loop
 * forever on a queue whose head/tail were corrupted (head >= max_slots never equals the
 * cycling tail); the model stops, logs, and goes on at the next poll.
 */
export const DRAIN_LIMIT = 4096;

export const RCVPOST_BUF_SIZE = 4032;
export const MAX_NET_RCV_CHAIN = 5;
export const VISOR_ETH_MAX_MTU = 16384;
export const ETH_HLEN = 14;
export const ETH_MIN_PACKET_SIZE = 60;
export const MAX_PHYS_INFO = 64;
export const PI_PAGE_SIZE = 0x1000;
export const PI_PAGE_MASK = 0x0fff;

/** Channel feature bits the IO drivers set at probe (reference §1). */
export const VISOR_CHANNEL_IS_POLLING = 0x08;
export const VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING = 0x40;

/** Channel offsets of the vhba / vnic configuration (reference §7.1). */
export const VHBA_MAX = { max_channel: 392, max_id: 396, max_lun: 400, cmd_per_lun: 404, max_io_size: 408, bytes: 20 } as const;
export const VHBA_WWNN = 384;
export const VNIC = { macaddr: 384, num_rcv_bufs: 390, mtu: 394, zone_guid: 398 } as const;

/**
 * One message buffer with little-endian accessors. u64 cookies (the guest's opaque
 * pointers) are bigint so they survive the round trip bit for bit.
 */
export class Cmdrsp {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes?: Uint8Array) {
    this.bytes = bytes ?? new Uint8Array(SIZEOF_CMDRSP);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  clear(): this {
    this.bytes.fill(0);
    return this;
  }

  /** A copy (1216 bytes). */
  clone(): Cmdrsp {
    return new Cmdrsp(Uint8Array.from(this.bytes));
  }

  get cmdtype(): number {
    return this.bytes[0];
  }

  set cmdtype(v: number) {
    this.bytes[0] = v;
  }

  u8(off: number): number {
    return this.bytes[off];
  }

  setU8(off: number, v: number): void {
    this.bytes[off] = v & 0xff;
  }

  u16(off: number): number {
    return this.view.getUint16(off, true);
  }

  setU16(off: number, v: number): void {
    this.view.setUint16(off, v & 0xffff, true);
  }

  u32(off: number): number {
    return this.view.getUint32(off, true);
  }

  setU32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0, true);
  }

  i32(off: number): number {
    return this.view.getInt32(off, true);
  }

  setI32(off: number, v: number): void {
    this.view.setInt32(off, v | 0, true);
  }

  u64(off: number): bigint {
    return this.view.getBigUint64(off, true);
  }

  setU64(off: number, v: bigint | number): void {
    this.view.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
  }

  /** u64 as a number (addresses, handles < 2^53). */
  u64n(off: number): number {
    return Number(this.u64(off));
  }

  slice(off: number, len: number): Uint8Array {
    return this.bytes.slice(off, off + len);
  }

  set(off: number, data: Uint8Array): void {
    this.bytes.set(data, off);
  }
}

/** Hex text of a cookie, as the debugger shows kernel pointers. */
export function hexCookie(v: bigint): string {
  return '0x' + v.toString(16);
}
