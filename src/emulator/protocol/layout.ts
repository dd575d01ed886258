/**
 * Byte layouts of the shared structures (protocol reference §1–§7), as field tables.
 * Everything is packed and little-endian. The tables drive both the model's accessors
 * and the debugger's decoders, so one table is the single source of each offset.
 */

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'guid' | 'bytes' | 'char';

export interface StructField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly type: FieldType;
  /** Whether the debugger lets the user change it (setVariable / inspector edit). */
  readonly writable?: boolean;
  /** Name of an enum in ENUMS used to display the value. */
  readonly enumName?: string;
}

export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly StructField[];
}

function layout(name: string, size: number, spec: [string, number, FieldType, Partial<StructField>?][]): StructLayout {
  let offset = 0;
  const fields: StructField[] = [];
  for (const [fname, fsize, type, extra] of spec) {
    fields.push({ name: fname, offset, size: fsize, type, writable: true, ...extra });
    offset += fsize;
  }
  if (offset !== size) throw new Error(`layout ${name}: fields add up to ${offset}, expected ${size}`);
  return { name, size, fields };
}

export function field(l: StructLayout, name: string): StructField {
  const f = l.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name} in ${l.name}`);
  return f;
}

/** `VISOR_CHANNEL_SIGNATURE`: "ECNL" as a u64 (bytes 45 43 4E 4C 00 00 00 00). */
export const VISOR_CHANNEL_SIGNATURE = 0x4c4e4345;

/** struct channel_header (128 bytes), §1. */
export const CHANNEL_HEADER = layout('channel_header', 128, [
  ['signature', 8, 'u64'],
  ['legacy_state', 4, 'u32'],
  ['header_size', 4, 'u32'],
  ['size', 8, 'u64'],
  ['features', 8, 'u64', { enumName: 'channel_features' }],
  ['chtype', 16, 'guid'],
  ['partition_handle', 8, 'u64'],
  ['handle', 8, 'u64'],
  ['ch_space_offset', 8, 'u64'],
  ['version_id', 4, 'u32'],
  ['partition_index', 4, 'u32'],
  ['zone_guid', 16, 'guid'],
  ['cli_str_offset', 4, 'u32'],
  ['cli_state_boot', 4, 'u32', { enumName: 'channel_clientstate' }],
  ['cmd_state_cli', 4, 'u32'],
  ['cli_state_os', 4, 'u32', { enumName: 'channel_clientstate' }],
  ['ch_characteristic', 4, 'u32'],
  ['cmd_state_srv', 4, 'u32'],
  ['srv_state', 4, 'u32', { enumName: 'channel_serverstate' }],
  ['cli_error_boot', 1, 'u8'],
  ['cli_error_os', 1, 'u8'],
  ['filler', 1, 'u8'],
  ['recover_channel', 1, 'u8'],
]);

/** struct signal_queue_header (128 bytes), §2.1. */
export const SIGNAL_QUEUE_HEADER = layout('signal_queue_header', 128, [
  ['version', 4, 'u32'],
  ['chtype', 4, 'u32'],
  ['size', 8, 'u64'],
  ['sig_base_offset', 8, 'u64'],
  ['features', 8, 'u64'],
  ['num_sent', 8, 'u64'],
  ['num_overflows', 8, 'u64'],
  ['signal_size', 4, 'u32'],
  ['max_slots', 4, 'u32'],
  ['max_signals', 4, 'u32'],
  ['head', 4, 'u32'],
  ['num_received', 8, 'u64'],
  ['tail', 4, 'u32'],
  ['reserved1', 4, 'u32'],
  ['reserved2', 8, 'u64'],
  ['client_queue', 8, 'u64'],
  ['num_irq_received', 8, 'u64'],
  ['num_empty', 8, 'u64'],
  ['errorflags', 4, 'u32'],
  ['filler', 12, 'bytes'],
]);

/** Offsets used on the hot path of signalinsert/signalremove. */
export const SQ = {
  size: 8,
  sig_base_offset: 16,
  num_sent: 32,
  num_overflows: 40,
  signal_size: 48,
  max_slots: 52,
  max_signals: 56,
  head: 60,
  num_received: 64,
  tail: 72,
} as const;

export const CH = {
  signature: 0,
  header_size: 12,
  size: 16,
  features: 24,
  chtype: 32,
  partition_handle: 48,
  ch_space_offset: 64,
  version_id: 72,
  zone_guid: 80,
  cli_str_offset: 96,
  srv_state: 120,
} as const;

/** Channel feature bits (§1). */
export const CHANNEL_FEATURES: Readonly<Record<number, string>> = {
  0x01: 'VISOR_CHANNEL_ENABLE_INTS',
  0x02: 'VISOR_DRIVER_ENABLES_INTS',
  0x08: 'VISOR_CHANNEL_IS_POLLING',
  0x10: 'VISOR_IOVM_OK_DRIVER_DISABLING_INTS',
  0x20: 'VISOR_DRIVER_DISABLES_INTS',
  0x40: 'VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING',
};

export const ENUMS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  channel_serverstate: { 0: 'CHANNELSRV_UNINITIALIZED', 1: 'CHANNELSRV_READY' },
  channel_clientstate: {
    0: 'CHANNELCLI_DETACHED',
    1: 'CHANNELCLI_DISABLED',
    2: 'CHANNELCLI_ATTACHING',
    3: 'CHANNELCLI_ATTACHED',
    4: 'CHANNELCLI_BUSY',
    5: 'CHANNELCLI_OWNED',
  },
};

/** struct visor_controlvm_channel (36608 bytes): the fields outside the common header, §3.2. */
export const CONTROLVM_CHANNEL_SIZE = 36608;
export const CONTROLVM_CHANNEL = {
  gp_controlvm: 128,
  request_payload_offset: 200,
  event_payload_offset: 208,
  request_payload_bytes: 216,
  event_payload_bytes: 220,
  message_bytes: 232,
  message_count: 236,
  saved_crash_message_count: 3014,
  saved_crash_message_offset: 3016,
  installation_error: 3020,
  installation_text_id: 3024,
  installation_remaining_steps: 3028,
  tool_action: 3030,
  efi_visor_ind: 3032,
  request_queue: 3072,
  response_queue: 3200,
  event_queue: 3328,
  event_ack_queue: 3456,
  request_msg: 3584,
  response_msg: 11776,
  event_msg: 19968,
  event_ack_msg: 28160,
  saved_crash_msg: 36352,
} as const;

/** Controlvm channel fields shown by the inspector beyond the header. */
export const CONTROLVM_EXTRA: readonly StructField[] = [
  { name: 'gp_controlvm', offset: 128, size: 8, type: 'u64' },
  { name: 'message_bytes', offset: 232, size: 4, type: 'u32' },
  { name: 'message_count', offset: 236, size: 4, type: 'u32' },
  { name: 'saved_crash_message_count', offset: 3014, size: 2, type: 'u16', writable: true },
  { name: 'saved_crash_message_offset', offset: 3016, size: 4, type: 'u32', writable: true },
  { name: 'installation_error', offset: 3020, size: 4, type: 'u32', writable: true },
  { name: 'installation_text_id', offset: 3024, size: 4, type: 'u32', writable: true },
  { name: 'installation_remaining_steps', offset: 3028, size: 2, type: 'u16', writable: true },
  { name: 'tool_action', offset: 3030, size: 1, type: 'u8', writable: true },
  { name: 'efi_visor_ind', offset: 3032, size: 8, type: 'u64', writable: true },
];

/** Controlvm queue indices and the guest's actual use of them (§3.3; roles reversed from the names). */
export const CONTROLVM_QUEUE = { REQUEST: 0, RESPONSE: 1, EVENT: 2, ACK: 3 } as const;
export const CONTROLVM_QUEUE_NAMES = ['REQUEST', 'RESPONSE', 'EVENT', 'ACK'];
export const CONTROLVM_MESSAGE_MAX = 64;
export const CONTROLVM_MESSAGE_SIZE = 128;

/** struct controlvm_message_header (48 bytes), §3.4. */
export const CONTROLVM_MESSAGE_HEADER = layout('controlvm_message_header', 48, [
  ['id', 4, 'u32', { enumName: 'controlvm_id' }],
  ['message_size', 4, 'u32'],
  ['segment_index', 4, 'u32'],
  ['completion_status', 4, 'u32'],
  ['flags', 4, 'u32'],
  ['reserved', 4, 'u32'],
  ['message_handle', 8, 'u64'],
  ['payload_vm_offset', 8, 'u64'],
  ['payload_max_bytes', 4, 'u32'],
  ['payload_bytes', 4, 'u32'],
]);

/** struct visor_vbus_channel pieces, §5.10. */
export const VBUS = {
  hdr_info: 128,
  chp_info: 256,
  bus_info: 512,
  dev_info: 768,
  headerinfo: { struct_bytes: 0, device_info_struct_bytes: 4, dev_info_count: 8, chp_info_offset: 12, bus_info_offset: 16, dev_info_offset: 20 },
  deviceinfo: { devtype: 0, drvname: 16, infostrs: 32, size: 256 },
  minBytes: 768,
} as const;

/** The IO channel (vhba/vnic) fixed part, §7.1. */
export const IO_CHANNEL = {
  cmd_q: 128,
  rsp_q: 256,
  vhba_wwnn: 384,
  vhba_max: 392,
  vnic_macaddr: 384,
  vnic_num_rcv_bufs: 390,
  vnic_mtu: 394,
  vnic_zone_guid: 398,
  client_string: 414,
  SIZEOF_PROTOCOL: 1472,
  SIZEOF_CMDRSP: 1216,
  UISCMDRSP_SIZE: 1185,
  MIN_IO_CHANNEL_SIZE: 159744,
  MIN_NUMSIGNALS: 64,
  MAX_NUMSIGNALS: 4096,
} as const;

/** Keyboard / mouse channels, §7.5. */
export const INPUT_CHANNEL = {
  n_input_reports: 128,
  flags: 132,
  x_res: 132,
  y_res: 134,
  queue: 136,
  reports: 264,
  size: 4096,
  report_size: 16,
  slots: 50,
} as const;

/** Round up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}
