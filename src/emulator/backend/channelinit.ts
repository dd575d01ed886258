/**
 * How the service side lays out a new channel in guest memory before announcing it
 * (the server-side conventions of reference §2.2, §3.3, §5.10, §7.1, §7.5). The guest
 * reads these headers once at creation, so they must be complete before the create
 * message is queued.
 */
import { GuestMemory } from '../memory/guestmemory';
import { CH, CONTROLVM_CHANNEL, CONTROLVM_CHANNEL_SIZE, INPUT_CHANNEL, IO_CHANNEL, SQ, VBUS, VISOR_CHANNEL_SIGNATURE, roundUp } from '../protocol/layout';
import { GUIDS, guidToBytes, NULL_GUID } from '../protocol/guid';

export interface HeaderSpec {
  typeGuid: string;
  size: number;
  version: number;
  chSpaceOffset: number;
  zoneGuid?: string;
  partitionHandle?: number;
  /** Signature override (corruption tests); default VISOR_CHANNEL_SIGNATURE. */
  signature?: number;
  cliStrOffset?: number;
}

export function writeChannelHeader(mem: GuestMemory, addr: number, h: HeaderSpec): void {
  mem.writeU64(addr + CH.signature, h.signature ?? VISOR_CHANNEL_SIGNATURE);
  mem.writeU32(addr + CH.header_size, 128);
  mem.writeU64(addr + CH.size, h.size);
  mem.write(addr + CH.chtype, guidToBytes(h.typeGuid));
  mem.writeU64(addr + 48, h.partitionHandle ?? 0);
  mem.writeU64(addr + CH.ch_space_offset, h.chSpaceOffset);
  mem.writeU32(addr + CH.version_id, h.version);
  mem.write(addr + CH.zone_guid, guidToBytes(h.zoneGuid ?? NULL_GUID));
  if (h.cliStrOffset) mem.writeU32(addr + CH.cli_str_offset, h.cliStrOffset);
}

/** spar_signal_init: a queue header at `qhAddr` whose slots start `sigBase` bytes after it. */
export function writeQueueHeader(mem: GuestMemory, qhAddr: number, slots: number, signalSize: number, sigBase: number, version = 0, chtype = 0): void {
  mem.fill(qhAddr, 128, 0);
  mem.writeU32(qhAddr + 0, version);
  mem.writeU32(qhAddr + 4, chtype);
  mem.writeU64(qhAddr + SQ.size, slots * signalSize);
  mem.writeU64(qhAddr + SQ.sig_base_offset, sigBase);
  mem.writeU32(qhAddr + SQ.signal_size, signalSize);
  mem.writeU32(qhAddr + SQ.max_slots, slots);
  mem.writeU32(qhAddr + SQ.max_signals, slots - 1);
}

/** The controlvm channel (36608 bytes): four 64-slot queues of 128-byte messages at 3072 (§3.3). */
export function initControlvmChannel(mem: GuestMemory, addr: number): void {
  writeChannelHeader(mem, addr, { typeGuid: GUIDS.controlvm, size: CONTROLVM_CHANNEL_SIZE, version: 1, chSpaceOffset: 3072 });
  mem.writeU64(addr + CONTROLVM_CHANNEL.gp_controlvm, addr);
  mem.writeU32(addr + CONTROLVM_CHANNEL.message_bytes, 128);
  mem.writeU32(addr + CONTROLVM_CHANNEL.message_count, 64);
  mem.writeU16(addr + CONTROLVM_CHANNEL.saved_crash_message_count, 2);
  mem.writeU32(addr + CONTROLVM_CHANNEL.saved_crash_message_offset, CONTROLVM_CHANNEL.saved_crash_msg);
  const arrays = [CONTROLVM_CHANNEL.request_msg, CONTROLVM_CHANNEL.response_msg, CONTROLVM_CHANNEL.event_msg, CONTROLVM_CHANNEL.event_ack_msg];
  arrays.forEach((arr, q) => {
    const qh = 3072 + q * 128;
    writeQueueHeader(mem, addr + qh, 64, 128, arr - qh);
  });
}

/** A vbus (bus) channel: header, header info, room for `devices` device-info records (§5.10). */
export function vbusChannelSize(devices: number): number {
  return roundUp(VBUS.dev_info + Math.max(devices, 1) * 256, 4096);
}

export function initVbusChannel(mem: GuestMemory, addr: number, size: number, zoneGuid?: string, partitionHandle?: number): void {
  writeChannelHeader(mem, addr, { typeGuid: GUIDS.vbus, size, version: 1, chSpaceOffset: 0, zoneGuid, partitionHandle });
  const hi = addr + VBUS.hdr_info;
  mem.writeU32(hi + VBUS.headerinfo.struct_bytes, 128);
  mem.writeU32(hi + VBUS.headerinfo.device_info_struct_bytes, 256);
  mem.writeU32(hi + VBUS.headerinfo.dev_info_count, Math.floor((size - VBUS.dev_info) / 256));
  mem.writeU32(hi + VBUS.headerinfo.chp_info_offset, VBUS.chp_info - VBUS.hdr_info);
  mem.writeU32(hi + VBUS.headerinfo.bus_info_offset, VBUS.bus_info - VBUS.hdr_info);
  mem.writeU32(hi + VBUS.headerinfo.dev_info_offset, VBUS.dev_info - VBUS.hdr_info);
}

/** An IO channel (vhba / vnic), old server init (§7.1): two queues of 1216-byte slots. */
export function ioChannelSlots(size: number): number {
  return Math.floor((size - IO_CHANNEL.SIZEOF_PROTOCOL) / 2 / IO_CHANNEL.SIZEOF_CMDRSP);
}

export function initIoChannel(mem: GuestMemory, addr: number, h: Omit<HeaderSpec, 'chSpaceOffset'>): void {
  const size = roundUp(h.size, 4096);
  writeChannelHeader(mem, addr, { ...h, size, chSpaceOffset: 128 });
  const slots = ioChannelSlots(size);
  const qsize = slots * IO_CHANNEL.SIZEOF_CMDRSP;
  writeQueueHeader(mem, addr + IO_CHANNEL.cmd_q, slots, IO_CHANNEL.SIZEOF_CMDRSP, IO_CHANNEL.SIZEOF_PROTOCOL - 128);
  writeQueueHeader(mem, addr + IO_CHANNEL.rsp_q, slots, IO_CHANNEL.SIZEOF_CMDRSP, IO_CHANNEL.SIZEOF_PROTOCOL + qsize - 256);
}

/** Keyboard / mouse channel (§7.5): one 50-slot queue of 16-byte reports at 136. */
export function initInputChannel(mem: GuestMemory, addr: number, h: Omit<HeaderSpec, 'chSpaceOffset'>, xres = 0, yres = 0): void {
  writeChannelHeader(mem, addr, { ...h, chSpaceOffset: INPUT_CHANNEL.queue });
  mem.writeU32(addr + INPUT_CHANNEL.n_input_reports, INPUT_CHANNEL.slots);
  if (h.typeGuid === GUIDS.mouse) {
    mem.writeU16(addr + INPUT_CHANNEL.x_res, xres);
    mem.writeU16(addr + INPUT_CHANNEL.y_res, yres);
  }
  writeQueueHeader(mem, addr + INPUT_CHANNEL.queue, INPUT_CHANNEL.slots, INPUT_CHANNEL.report_size, 128);
}

/** Default channel size per type when the scenario gives none. */
export function defaultChannelBytes(typeGuid: string): number {
  switch (typeGuid) {
    case GUIDS.vhba:
    case GUIDS.vnic:
      return IO_CHANNEL.MIN_IO_CHANNEL_SIZE;
    case GUIDS.keyboard:
    case GUIDS.mouse:
      return INPUT_CHANNEL.size;
    default:
      return 0x10000;
  }
}

/** Expected header version per type (§1 "Version IDs"). */
export function defaultChannelVersion(typeGuid: string): number {
  switch (typeGuid) {
    case GUIDS.vhba:
    case GUIDS.vnic:
      return 2;
    default:
      return 1;
  }
}

/**
 * Lay out a device channel of any type. Unknown types get a header and two 64-slot
 * queues of 128-byte signals at 128, so user drivers have queues to play with.
 */
export function initDeviceChannel(mem: GuestMemory, addr: number, h: Omit<HeaderSpec, 'chSpaceOffset'>): void {
  switch (h.typeGuid) {
    case GUIDS.vhba:
    case GUIDS.vnic:
      if (h.size >= IO_CHANNEL.SIZEOF_PROTOCOL + 2 * IO_CHANNEL.SIZEOF_CMDRSP * 2) return initIoChannel(mem, addr, h);
      break;
    case GUIDS.keyboard:
    case GUIDS.mouse:
      if (h.size >= INPUT_CHANNEL.size) return initInputChannel(mem, addr, h);
      break;
  }
  writeChannelHeader(mem, addr, { ...h, chSpaceOffset: 128 });
  const slots = 64;
  if (h.size >= 384 + 2 * slots * 128) {
    writeQueueHeader(mem, addr + 128, slots, 128, 384 - 128);
    writeQueueHeader(mem, addr + 256, slots, 128, 384 + slots * 128 - 256);
  }
}
