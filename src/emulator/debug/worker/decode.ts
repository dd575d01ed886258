/**
 * Decoders for what lives in channel memory, read straight from guest memory (never
 * through a VisorChannel, whose reads are model events): the channel header, the
 * type-specific fields, every signal queue and its pending signals — controlvm messages,
 * uiscmdrsp (vhba/vnic, protocol reference §7.2) and input reports (§7.5).
 */
import { Emulator } from '../../emulator';
import { GuestMemory, UnmappedError } from '../../memory/guestmemory';
import { readField } from '../../inspect/fields';
import { CHANNEL_HEADER, CONTROLVM_EXTRA, CONTROLVM_QUEUE_NAMES, SIGNAL_QUEUE_HEADER, StructField } from '../../protocol/layout';
import { GUIDS } from '../../protocol/guid';
import type { ChannelKind, ChannelTarget, ChannelView, Field, QueueView, SignalView } from './channelview';
import { decodeSignal } from './signals';
import { displayOf, num } from './fielddisplay';

export type { ChannelKind, ChannelTarget, ChannelView, Field, QueueView, SignalView } from './channelview';

export function hexRef(addr: number): string {
  return '0x' + addr.toString(16);
}

export function channelKind(typeGuid: string): ChannelKind {
  switch (typeGuid) {
    case GUIDS.controlvm:
      return 'controlvm';
    case GUIDS.vhba:
      return 'vhba';
    case GUIDS.vnic:
      return 'vnic';
    case GUIDS.keyboard:
      return 'keyboard';
    case GUIDS.mouse:
      return 'mouse';
    case GUIDS.vbus:
      return 'vbus';
    default:
      return 'generic';
  }
}

/** Parse "2:0", "vbus2:dev0", "2" (a bus) or "controlvm". */
export function parseDeviceId(text: string): { bus: number; dev?: number } | 'controlvm' | undefined {
  const t = text.trim();
  if (t === 'controlvm') return 'controlvm';
  let m = /^(\d+):(\d+)$/.exec(t) ?? /^vbus(\d+):dev(\d+)$/.exec(t);
  if (m) return { bus: Number(m[1]), dev: Number(m[2]) };
  m = /^(?:visorbus)?(\d+)$/.exec(t);
  if (m) return { bus: Number(m[1]) };
  return undefined;
}

/** Find a channel by device name; undefined when there is none. */
export function channelTarget(emu: Emulator, id: string): ChannelTarget | undefined {
  const p = parseDeviceId(id);
  if (!p) return undefined;
  if (p === 'controlvm') {
    const ch = emu.chipset.controlvm;
    return { id: 'controlvm', physaddr: ch.physaddr, nbytes: ch.nbytes, typeGuid: GUIDS.controlvm, typeName: 'controlvm' };
  }
  if (p.dev === undefined) {
    const b = emu.busDevice(p.bus);
    if (!b) return undefined;
    return { id: `${p.bus}`, physaddr: b.visorchannel.physaddr, nbytes: b.visorchannel.nbytes, typeGuid: b.channelTypeGuid, typeName: 'vbus', device: b };
  }
  const d = emu.device(p.bus, p.dev);
  if (d) return { id: d.id, physaddr: d.visorchannel.physaddr, nbytes: d.visorchannel.nbytes, typeGuid: d.channelTypeGuid, typeName: d.typeName, device: d };
  const bd = emu.backendDevices.get(`${p.bus}:${p.dev}`);
  if (bd && emu.memory.isMapped(bd.physaddr, 128)) {
    let nbytes = bd.nbytes;
    try {
      nbytes = emu.memory.readU64(bd.physaddr + 16) || bd.nbytes;
    } catch {
      /* keep the back-end's size */
    }
    return { id: bd.id, physaddr: bd.physaddr, nbytes, typeGuid: bd.typeGuid, typeName: '' };
  }
  return undefined;
}

// ---- single fields ------------------------------------------------------------------

export function fieldAt(mem: GuestMemory, chBase: number, base: number, f: StructField, nameOverride?: string): Field {
  const offset = base - chBase + f.offset;
  try {
    const v = readField(mem, base, f);
    return { name: nameOverride ?? f.name, offset, size: f.size, value: num(v), display: displayOf(f, v), writable: f.writable !== false, layout: f };
  } catch (e) {
    if (!(e instanceof UnmappedError)) throw e;
    return { name: nameOverride ?? f.name, offset, size: f.size, value: '', display: '<unmapped>', writable: false, layout: f };
  }
}

function F(name: string, offset: number, size: number, type: StructField['type'], extra: Partial<StructField> = {}): StructField {
  return { name, offset, size, type, writable: true, ...extra };
}

function RO(name: string, offset: number, size: number, type: StructField['type'], extra: Partial<StructField> = {}): StructField {
  return F(name, offset, size, type, { writable: false, ...extra });
}

// ---- type-specific fixed parts ---------------------------------------------------------

const VHBA_EXTRA = [
  F('wwnn1', 384, 4, 'u32'),
  F('wwnn2', 388, 4, 'u32'),
  F('max_channel', 392, 4, 'u32'),
  F('max_id', 396, 4, 'u32'),
  F('max_lun', 400, 4, 'u32'),
  F('cmd_per_lun', 404, 4, 'u32'),
  F('max_io_size', 408, 4, 'u32'),
  F('client_string', 414, 1024, 'char'),
];
const VNIC_EXTRA = [
  F('macaddr', 384, 6, 'bytes'),
  F('num_rcv_bufs', 390, 4, 'u32'),
  F('mtu', 394, 4, 'u32'),
  F('zone_guid', 398, 16, 'guid'),
  F('client_string', 414, 1024, 'char'),
];
const KEYBOARD_EXTRA = [F('n_input_reports', 128, 4, 'u32'), F('flags', 132, 4, 'u32')];
const MOUSE_EXTRA = [F('n_input_reports', 128, 4, 'u32'), F('x_res', 132, 2, 'u16'), F('y_res', 134, 2, 'u16')];
const VBUS_EXTRA = [
  F('struct_bytes', 128, 4, 'u32'),
  F('device_info_struct_bytes', 132, 4, 'u32'),
  F('dev_info_count', 136, 4, 'u32'),
  F('chp_info_offset', 140, 4, 'u32'),
  F('bus_info_offset', 144, 4, 'u32'),
  F('dev_info_offset', 148, 4, 'u32'),
  RO('chipset devtype', 256, 16, 'char'),
  RO('chipset drvname', 272, 16, 'char'),
  RO('bus devtype', 512, 16, 'char'),
  RO('bus drvname', 528, 16, 'char'),
];

export function extraLayout(kind: ChannelKind): readonly StructField[] {
  switch (kind) {
    case 'controlvm':
      return CONTROLVM_EXTRA.map((f) => ({ ...f, writable: f.writable ?? false }));
    case 'vhba':
      return VHBA_EXTRA;
    case 'vnic':
      return VNIC_EXTRA;
    case 'keyboard':
      return KEYBOARD_EXTRA;
    case 'mouse':
      return MOUSE_EXTRA;
    case 'vbus':
      return VBUS_EXTRA;
    default:
      return [];
  }
}

export function queueName(kind: ChannelKind, q: number): string {
  if (kind === 'controlvm') return `${CONTROLVM_QUEUE_NAMES[q] ?? 'queue'} (${q})`;
  if (kind === 'vhba' || kind === 'vnic') return `${q === 0 ? 'IOCHAN_TO_IOPART cmd_q' : q === 1 ? 'IOCHAN_FROM_IOPART rsp_q' : 'queue'} (${q})`;
  if (kind === 'keyboard' || kind === 'mouse') return `input reports (${q})`;
  return `queue ${q}`;
}

// ---- queues -----------------------------------------------------------------------------

export interface QueueGeometry {
  index: number;
  offset: number;
  head: number;
  tail: number;
  maxSlots: number;
  signalSize: number;
  sigBase: number;
  pending: number;
}

/** Queue header q of a channel (offset from ch_space_offset in memory), or undefined when it does not fit. */
export function queueGeometry(mem: GuestMemory, t: ChannelTarget, q: number): QueueGeometry | undefined {
  try {
    const cso = mem.readU64(t.physaddr + 64);
    if (cso < 128) return undefined;
    const off = cso + q * 128;
    if (off + 128 > t.nbytes || !mem.isMapped(t.physaddr + off, 128)) return undefined;
    const a = t.physaddr + off;
    const maxSlots = mem.readU32(a + 52);
    const signalSize = mem.readU32(a + 48);
    const head = mem.readU32(a + 60);
    const tail = mem.readU32(a + 72);
    const sigBase = mem.readU64(a + 16);
    const pending = maxSlots > 0 ? (((head - tail) % maxSlots) + maxSlots) % maxSlots : 0;
    return { index: q, offset: off, head, tail, maxSlots, signalSize, sigBase, pending };
  } catch (e) {
    if (e instanceof UnmappedError) return undefined;
    throw e;
  }
}

/** The queues a channel has: up to the first header that does not fit or is empty (at most 8). */
export function queuesOf(mem: GuestMemory, t: ChannelTarget): QueueGeometry[] {
  const out: QueueGeometry[] = [];
  for (let q = 0; q < 8; q++) {
    const g = queueGeometry(mem, t, q);
    if (!g || g.maxSlots === 0 || g.signalSize === 0) break;
    out.push(g);
  }
  return out;
}

/** Offsets (from the channel start) of the pending slots, oldest first. */
export function pendingSlots(g: QueueGeometry, max: number): { slot: number; offset: number }[] {
  const out: { slot: number; offset: number }[] = [];
  if (g.maxSlots === 0 || g.head >= g.maxSlots || g.tail >= g.maxSlots) return out;
  let s = g.tail;
  for (let i = 0; i < g.pending && out.length < max; i++) {
    s = (s + 1) % g.maxSlots;
    out.push({ slot: s, offset: g.offset + g.sigBase + s * g.signalSize });
  }
  return out;
}

export function decodeQueue(mem: GuestMemory, t: ChannelTarget, g: QueueGeometry, maxPending = 64): QueueView {
  const kind = channelKind(t.typeGuid);
  const fields = SIGNAL_QUEUE_HEADER.fields.map((f) => fieldAt(mem, t.physaddr, t.physaddr + g.offset, f));
  const pending: SignalView[] = [];
  for (const p of pendingSlots(g, maxPending)) pending.push(decodeSignal(mem, t, kind, p.slot, p.offset, g.signalSize));
  return {
    index: g.index,
    name: queueName(kind, g.index),
    offset: g.offset,
    fields,
    head: g.head,
    tail: g.tail,
    maxSlots: g.maxSlots,
    signalSize: g.signalSize,
    pendingCount: g.pending,
    pending,
  };
}

export function decodeChannel(emu: Emulator, t: ChannelTarget, maxPending = 64): ChannelView {
  const mem = emu.memory;
  const kind = channelKind(t.typeGuid);
  const header = CHANNEL_HEADER.fields.map((f) => fieldAt(mem, t.physaddr, t.physaddr, f));
  const extra = extraLayout(kind)
    .filter((f) => f.offset + f.size <= t.nbytes)
    .map((f) => fieldAt(mem, t.physaddr, t.physaddr, f));
  const queues = queuesOf(mem, t).map((g) => decodeQueue(mem, t, g, maxPending));
  return {
    device: t.id,
    physaddr: t.physaddr,
    nbytes: t.nbytes,
    memoryReference: hexRef(t.physaddr),
    typeGuid: t.typeGuid,
    typeName: t.typeName,
    header,
    extra,
    queues,
  };
}
