/**
 * Controlvm messages (reference §3.4–§3.8): a 48-byte header plus an 80-byte packet,
 * 128 bytes per queue slot. Encoders and decoders work on plain byte arrays.
 */
import { bytesToGuid, guidToBytes } from './guid';
import { errnoName } from './errno';

export const CONTROLVM_ID = {
  INVALID: 0,
  BUS_CREATE: 0x101,
  BUS_DESTROY: 0x102,
  BUS_CONFIGURE: 0x104,
  BUS_CHANGESTATE: 0x105,
  BUS_CHANGESTATE_EVENT: 0x106,
  DEVICE_CREATE: 0x201,
  DEVICE_DESTROY: 0x202,
  DEVICE_CONFIGURE: 0x203,
  DEVICE_CHANGESTATE: 0x204,
  DEVICE_CHANGESTATE_EVENT: 0x205,
  DEVICE_RECONFIGURE: 0x206,
  CHIPSET_INIT: 0x301,
  CHIPSET_STOP: 0x302,
  CHIPSET_READY: 0x304,
  CHIPSET_SELFTEST: 0x305,
} as const;

const ID_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CONTROLVM_ID).map(([k, v]) => [v, `CONTROLVM_${k}`]));

export function controlvmIdName(id: number): string {
  return ID_NAMES[id] ?? `0x${id.toString(16)}`;
}

export const CONTROLVM_RESP = {
  SUCCESS: 0,
  ALREADY_DONE: 1,
  IOREMAP_FAILED: 2,
  KMALLOC_FAILED: 3,
  ID_UNKNOWN: 4,
  ID_INVALID_FOR_CLIENT: 5,
  CLIENT_SWITCHCOUNT_NONZERO: 100,
  EXPECTED_CHIPSET_INIT: 101,
  ERROR_MAX_BUSES: 201,
  ERROR_MAX_DEVICES: 202,
  PAYLOAD_INVALID: 400,
  INITIATOR_PARAMETER_INVALID: 401,
  TARGET_PARAMETER_INVALID: 402,
  CLIENT_PARAMETER_INVALID: 403,
  BUS_INVALID: 500,
  DEVICE_INVALID: 501,
  CHANNEL_INVALID: 502,
  VIRTPCI_DRIVER_FAILURE: 604,
  VIRTPCI_DRIVER_CALLBACK_ERROR: 605,
  GENERIC_DRIVER_CALLBACK_ERROR: 606,
  ERROR_BUS_DEVICE_ATTACHED: 700,
  CHANNEL_TYPE_UNKNOWN: 800,
  CHANNEL_SIZE_TOO_SMALL: 801,
  CHIPSET_SHUTDOWN_FAILED: 1000,
  CHIPSET_SHUTDOWN_ALREADY_ACTIVE: 1001,
  CHIPSET_STOP_FAILED_BUS: 1100,
  CHIPSET_STOP_FAILED_SWITCH: 1101,
  DEVICE_UDEV_TIMEOUT: 1400,
} as const;

/** flags bits (u32 at message offset 16). */
export const FLAG = {
  failed: 1 << 0,
  response_expected: 1 << 1,
  server: 1 << 2,
  test_message: 1 << 3,
  partial_completion: 1 << 4,
  preserve: 1 << 5,
  writer_in_diag: 1 << 6,
} as const;

/** Segment states (u16 bitfield, §3.6). */
export const SEGMENT_STATE = {
  running: 0x00f7,
  paused: 0x0077,
  standby: 0x0073,
} as const;
export const SEG = { enabled: 1, active: 2, alive: 4, revoked: 8, allocated: 16, known: 32, ready: 64, operating: 128 } as const;

export const CHIPSET_FEATURE = { REPLY: 0x1, PARA_HOTPLUG: 0x2 } as const;

export const BUS_ROOT_DEVICE = 0xffffffff;

/** Absolute offsets inside a 128-byte message (header 48 + packet). */
export const MSG = {
  id: 0,
  message_size: 4,
  segment_index: 8,
  completion_status: 12,
  flags: 16,
  reserved: 20,
  message_handle: 24,
  payload_vm_offset: 32,
  payload_max_bytes: 40,
  payload_bytes: 44,
  packet: 48,
  // packet fields, absolute
  bus_no: 48,
  dev_no: 52,
  dev_count: 52,
  channel_addr: 56,
  channel_bytes: 64,
  type_guid: 72,
  inst_guid: 88,
  intr: 104,
  guest_handle: 56, // configure_bus
  recv_bus_irq_handle: 64,
  cs_state: 56, // device_change_state.state
  cs_flags: 58, // device_change_state.flags (phys_device = bit 0)
  init_bus_count: 48,
  init_switch_count: 52,
  init_features: 56,
  init_platform_number: 60,
  selftest_options: 48,
  selftest_test: 52,
} as const;

/** A decoded controlvm message: the header fields and the raw 128 bytes. */
export class ControlvmMessage {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  constructor(bytes?: Uint8Array) {
    this.bytes = bytes ? bytes.slice(0, 128) : new Uint8Array(128);
    if (this.bytes.length < 128) {
      const b = new Uint8Array(128);
      b.set(this.bytes);
      this.bytes = b;
    }
    this.dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, 128);
  }

  u16(o: number): number {
    return this.dv.getUint16(o, true);
  }
  u32(o: number): number {
    return this.dv.getUint32(o, true);
  }
  u64(o: number): number {
    return this.dv.getUint32(o, true) + this.dv.getUint32(o + 4, true) * 0x100000000;
  }
  setU16(o: number, v: number): this {
    this.dv.setUint16(o, v, true);
    return this;
  }
  setU32(o: number, v: number): this {
    this.dv.setUint32(o, v >>> 0, true);
    return this;
  }
  setU64(o: number, v: number): this {
    this.dv.setUint32(o, v >>> 0, true);
    this.dv.setUint32(o + 4, Math.floor(v / 0x100000000) >>> 0, true);
    return this;
  }
  guid(o: number): string {
    return bytesToGuid(this.bytes, o);
  }
  setGuid(o: number, g: string): this {
    this.bytes.set(guidToBytes(g), o);
    return this;
  }

  get id(): number {
    return this.u32(MSG.id);
  }
  get flags(): number {
    return this.u32(MSG.flags);
  }
  get completionStatus(): number {
    return this.u32(MSG.completion_status);
  }
  get responseExpected(): boolean {
    return (this.flags & FLAG.response_expected) !== 0;
  }
  get failed(): boolean {
    return (this.flags & FLAG.failed) !== 0;
  }
  get testMessage(): boolean {
    return (this.flags & FLAG.test_message) !== 0;
  }
  get busNo(): number {
    return this.u32(MSG.bus_no);
  }
  get devNo(): number {
    return this.u32(MSG.dev_no);
  }
  get payloadBytes(): number {
    return this.u32(MSG.payload_bytes);
  }
  get payloadOffset(): number {
    return this.u64(MSG.payload_vm_offset);
  }

  /** The 48-byte header with the three payload fields zeroed and an empty packet (ACK and response base). */
  headerCopy(): ControlvmMessage {
    const m = new ControlvmMessage();
    m.bytes.set(this.bytes.subarray(0, 48));
    m.setU64(MSG.payload_vm_offset, 0).setU32(MSG.payload_max_bytes, 0).setU32(MSG.payload_bytes, 0);
    return m;
  }

  /** One-line summary for traces and the debugger. */
  describe(): string {
    const id = this.id;
    const parts = [controlvmIdName(id)];
    const f = this.flags;
    if (f & FLAG.failed) parts.push(`failed status=${this.completionStatus}`);
    else if (this.completionStatus) parts.push(`status=${this.completionStatus}`);
    switch (id) {
      case CONTROLVM_ID.BUS_CREATE:
        parts.push(`bus=${this.busNo} addr=0x${this.u64(MSG.channel_addr).toString(16)}`);
        break;
      case CONTROLVM_ID.BUS_DESTROY:
      case CONTROLVM_ID.BUS_CONFIGURE:
        parts.push(`bus=${this.busNo}`);
        break;
      case CONTROLVM_ID.DEVICE_CREATE:
        parts.push(`dev=${this.busNo}:${this.devNo} addr=0x${this.u64(MSG.channel_addr).toString(16)} type=${this.guid(MSG.type_guid)}`);
        break;
      case CONTROLVM_ID.DEVICE_DESTROY:
      case CONTROLVM_ID.DEVICE_CONFIGURE:
        parts.push(`dev=${this.busNo}:${this.devNo}`);
        break;
      case CONTROLVM_ID.DEVICE_CHANGESTATE:
        parts.push(
          `dev=${this.busNo}:${this.devNo} state=0x${this.u16(MSG.cs_state).toString(16).padStart(4, '0')}${this.u32(MSG.cs_flags) & 1 ? ' phys_device' : ''}`,
        );
        break;
      case CONTROLVM_ID.CHIPSET_INIT:
        parts.push(`features=0x${this.u32(MSG.init_features).toString(16)}`);
        break;
    }
    if (f & FLAG.response_expected) parts.push('response_expected');
    if (f & FLAG.test_message) parts.push('test_message');
    return parts.join(' ');
  }
}

/** Name of a completion status as the guest produces it: CONTROLVM_RESP codes 1, 4, 400, 1400, else an errno. */
const RESP_NAMES: Record<number, string> = {
  [CONTROLVM_RESP.ALREADY_DONE]: 'CONTROLVM_RESP_ALREADY_DONE',
  [CONTROLVM_RESP.ID_UNKNOWN]: 'CONTROLVM_RESP_ID_UNKNOWN',
  [CONTROLVM_RESP.PAYLOAD_INVALID]: 'CONTROLVM_RESP_PAYLOAD_INVALID',
  [CONTROLVM_RESP.DEVICE_UDEV_TIMEOUT]: 'CONTROLVM_RESP_DEVICE_UDEV_TIMEOUT',
};

export function statusName(status: number): string {
  return RESP_NAMES[status] ?? errnoName(status);
}
