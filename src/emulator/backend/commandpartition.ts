/**
 * The Command partition's side of the controlvm channel: it lays out channels in guest
 * memory, puts controlvm messages on the EVENT queue the guest reads, and collects the
 * guest's ACKs (ACK queue) and responses (REQUEST queue). It owns its own view of the
 * controlvm channel, separate from the guest's.
 */
import { GUEST_PHYS_LIMIT } from '../limits';
import { Engine } from '../engine/engine';
import { GuestMemory } from '../memory/guestmemory';
import { ControlvmMessage, FLAG, MSG, controlvmIdName } from '../protocol/controlvm';
import { CONTROLVM_CHANNEL_SIZE, CONTROLVM_QUEUE } from '../protocol/layout';
import { VisorChannel } from '../visorchannel/visorchannel';
import { defaultChannelBytes, defaultChannelVersion, initControlvmChannel, initDeviceChannel, initVbusChannel, vbusChannelSize } from './channelinit';
import { CONTROLVM_ID } from '../protocol/controlvm';
import { GUIDS } from '../protocol/guid';
import { CONTROLVM_CHANNEL } from '../protocol/layout';
import { statusName } from '../protocol/controlvm';

/** Where the controlvm channel lives, and where channel allocation starts. */
export const CONTROLVM_ADDR = 0x0f00_0000;
export const CHANNEL_BASE = 0x1000_0000;
/** How many sent messages the CP remembers to match ACKs and responses to (the oldest are forgotten). */
export const SENT_HISTORY = 4096;
/** The unmapped page after each channel (an overrun faults instead of reaching the next channel). */
const GUARD_BYTES = 4096;
/** Controlvm payloads (BUS_CONFIGURE parameters) live at this offset from the controlvm channel. */
export const PAYLOAD_OFFSET = 0x10_0000;
export const PAYLOAD_BYTES = 0x4_0000;

export interface BusCreateSpec {
  bus: number;
  bytes?: number;
  addr?: number;
  devCount?: number;
  zoneGuid?: string;
  instGuid: string;
}

export interface DeviceCreateSpec {
  bus: number;
  dev: number;
  typeGuid: string;
  instGuid: string;
  bytes?: number;
  addr?: number;
  zoneGuid?: string;
  partition?: number;
  version?: number;
  headerTypeGuid?: string;
}

export interface SentMessage {
  handle: number;
  id: number;
  acked: boolean;
  /** The ACKs read back from the ACK queue, as the guest wrote them. */
  acks: ControlvmMessage[];
  responses: ControlvmMessage[];
}

export class CommandPartition {
  readonly controlvm: VisorChannel;
  private nextHandle = 1;
  readonly sent = new Map<number, SentMessage>();
  readonly stats = { sent: 0, acks: 0, responses: 0, failed: 0, queueFull: 0 };
  lastResponse: ControlvmMessage | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly memory: GuestMemory,
  ) {
    memory.map(CONTROLVM_ADDR, CONTROLVM_CHANNEL_SIZE, 'controlvm');
    initControlvmChannel(memory, CONTROLVM_ADDR);
    memory.map(CONTROLVM_ADDR + PAYLOAD_OFFSET, PAYLOAD_BYTES, 'controlvm payload');
    memory.writeU64(CONTROLVM_ADDR + CONTROLVM_CHANNEL.event_payload_offset, PAYLOAD_OFFSET);
    memory.writeU32(CONTROLVM_ADDR + CONTROLVM_CHANNEL.event_payload_bytes, PAYLOAD_BYTES);
    const ch = VisorChannel.create(memory, CONTROLVM_ADDR, '2b3c2d10-7ef5-4ad8-b966-3448b7386b3d', 'controlvm (CP side)');
    if (typeof ch === 'string') throw new Error(ch);
    this.controlvm = ch;
  }

  /**
   * Reserve guest-physical memory for a channel; a guard page follows each one. The lowest
   * free range from CHANNEL_BASE is used (first fit), so space given back by release() is
   * used again: hot-plug churn never walks the channel space up into the DMA area. Until
   * something is released this lays channels out one after another, as a bump allocator would.
   */
  allocate(bytes: number, label: string, at?: number): number {
    if (!(bytes > 0)) throw new Error(`bytes=${bytes}: a channel needs at least one byte (it takes whole 4 KiB pages)`);
    const size = Math.ceil(bytes / 4096) * 4096;
    const addr = at ?? this.firstFit(size);
    if (!(addr + size <= GUEST_PHYS_LIMIT)) {
      const where = at !== undefined ? `addr=0x${at.toString(16)} with ${size} bytes` : `${size} bytes`;
      throw new Error(
        `${where} does not fit in the guest-physical address space (${Math.log2(GUEST_PHYS_LIMIT)} bits, below 0x${GUEST_PHYS_LIMIT.toString(16)})`,
      );
    }
    this.memory.map(addr, size, label);
    return addr;
  }

  /** Lowest CHANNEL_BASE-or-above address with `size` bytes free plus a free guard page on each side. */
  private firstFit(size: number): number {
    let cand = CHANNEL_BASE;
    for (const r of this.memory.listRegions()) {
      const end = r.base + r.size + GUARD_BYTES;
      if (end <= cand) continue;
      if (cand + size + GUARD_BYTES <= r.base) return cand;
      cand = Math.max(cand, end);
    }
    return cand;
  }

  release(addr: number): void {
    this.memory.unmap(addr);
  }

  /** A message with fresh handle and response_expected set. */
  message(id: number): ControlvmMessage {
    const m = new ControlvmMessage();
    m.setU32(MSG.id, id).setU32(MSG.message_size, 128).setU32(MSG.flags, FLAG.response_expected).setU64(MSG.message_handle, this.nextHandle++);
    return m;
  }

  /** Put a message on the EVENT queue. Returns the record, or an error text when the queue is full. */
  send(m: ControlvmMessage): SentMessage | string {
    const rc = this.controlvm.signalInsert(CONTROLVM_QUEUE.EVENT, m.bytes);
    if (rc < 0) {
      this.stats.queueFull++;
      return `controlvm EVENT queue is full (${rc}); ${controlvmIdName(m.id)} not sent`;
    }
    this.stats.sent++;
    const rec: SentMessage = { handle: m.u64(MSG.message_handle), id: m.id, acked: false, acks: [], responses: [] };
    this.sent.set(rec.handle, rec);
    // A bounded history: a long session must not keep every message it ever sent.
    if (this.sent.size > SENT_HISTORY) this.sent.delete(this.sent.keys().next().value as number);
    this.engine.emit('backend', 'controlvm', `CP sends ${m.describe()}`, { id: m.id, handle: rec.handle });
    return rec;
  }

  /** Drain the ACK and REQUEST queues (the guest's replies). */
  collect(): void {
    const buf = new Uint8Array(128);
    while (this.controlvm.signalRemove(CONTROLVM_QUEUE.ACK, buf) === 0) {
      const m = new ControlvmMessage(buf);
      this.stats.acks++;
      const rec = this.sent.get(m.u64(MSG.message_handle));
      if (rec) {
        rec.acked = true;
        rec.acks.push(m);
      }
    }
    while (this.controlvm.signalRemove(CONTROLVM_QUEUE.REQUEST, buf) === 0) {
      const m = new ControlvmMessage(buf);
      this.stats.responses++;
      if (m.failed) this.stats.failed++;
      this.lastResponse = m;
      const rec = this.sent.get(m.u64(MSG.message_handle));
      if (rec) rec.responses.push(m);
      this.engine.emit(
        'backend',
        'controlvm',
        `CP received response ${controlvmIdName(m.id)}${m.failed ? ` FAILED status ${m.completionStatus} (${statusName(m.completionStatus)})` : ` status ${m.completionStatus}`}`,
        { id: m.id, status: m.completionStatus, failed: m.failed },
      );
    }
  }

  isAcked(handle: number): boolean {
    this.collect();
    return this.sent.get(handle)?.acked ?? false;
  }

  // ---- the messages the scenario commands become -------------------------------------

  /** Lay out a vbus channel and build BUS_CREATE. */
  busCreate(spec: BusCreateSpec): { msg: ControlvmMessage; addr: number; bytes: number } {
    const bytes = spec.bytes ?? vbusChannelSize(spec.devCount ?? 64);
    const addr = this.allocate(bytes, `visorbus${spec.bus} channel`, spec.addr);
    if (bytes >= 768) initVbusChannel(this.memory, addr, bytes, spec.zoneGuid);
    const m = this.message(CONTROLVM_ID.BUS_CREATE);
    m.setU32(MSG.bus_no, spec.bus)
      .setU32(MSG.dev_count, spec.devCount ?? 0)
      .setU64(MSG.channel_addr, addr)
      .setU64(MSG.channel_bytes, bytes);
    m.setGuid(MSG.type_guid, GUIDS.vbus).setGuid(MSG.inst_guid, spec.instGuid);
    return { msg: m, addr, bytes };
  }

  /** BUS_CONFIGURE with a parameters payload carrying the partition name and GUID. */
  busConfigure(bus: number, handle: number, name?: string, partitionGuid?: string): ControlvmMessage {
    const m = this.message(CONTROLVM_ID.BUS_CONFIGURE);
    m.setU32(MSG.bus_no, bus).setU64(MSG.guest_handle, handle);
    if (name !== undefined || partitionGuid !== undefined) {
      const nameBytes = Buffer.from((name ?? '') + '\0', 'utf8');
      const payload = new ControlvmMessage(new Uint8Array(128)); // scratch for the 72-byte parameters header
      const total = 72 + nameBytes.length;
      payload.setU32(0, total).setU32(4, 72).setU32(40, 72).setU32(44, nameBytes.length);
      if (partitionGuid) payload.setGuid(48, partitionGuid);
      const buf = new Uint8Array(total);
      buf.set(payload.bytes.subarray(0, 72));
      buf.set(nameBytes, 72);
      this.memory.write(this.controlvm.physaddr + PAYLOAD_OFFSET, buf);
      m.setU64(MSG.payload_vm_offset, PAYLOAD_OFFSET).setU32(MSG.payload_bytes, total).setU32(MSG.payload_max_bytes, PAYLOAD_BYTES);
    }
    return m;
  }

  busMessage(id: number, bus: number): ControlvmMessage {
    return this.message(id).setU32(MSG.bus_no, bus);
  }

  /** Lay out a device channel and build DEVICE_CREATE. */
  deviceCreate(spec: DeviceCreateSpec): { msg: ControlvmMessage; addr: number; bytes: number } {
    const bytes = spec.bytes ?? defaultChannelBytes(spec.typeGuid);
    const addr = this.allocate(bytes, `vbus${spec.bus}:dev${spec.dev} channel`, spec.addr);
    initDeviceChannel(this.memory, addr, {
      typeGuid: spec.headerTypeGuid ?? spec.typeGuid,
      size: Math.ceil(bytes / 4096) * 4096,
      version: spec.version ?? defaultChannelVersion(spec.typeGuid),
      zoneGuid: spec.zoneGuid,
      partitionHandle: spec.partition,
    });
    const m = this.message(CONTROLVM_ID.DEVICE_CREATE);
    m.setU32(MSG.bus_no, spec.bus).setU32(MSG.dev_no, spec.dev).setU64(MSG.channel_addr, addr).setU64(MSG.channel_bytes, bytes);
    m.setGuid(MSG.type_guid, spec.typeGuid).setGuid(MSG.inst_guid, spec.instGuid);
    return { msg: m, addr, bytes };
  }

  deviceMessage(id: number, bus: number, dev: number): ControlvmMessage {
    return this.message(id).setU32(MSG.bus_no, bus).setU32(MSG.dev_no, dev);
  }

  changeState(bus: number, dev: number, state: number, physDevice = false): ControlvmMessage {
    const m = this.deviceMessage(CONTROLVM_ID.DEVICE_CHANGESTATE, bus, dev).setU16(MSG.cs_state, state);
    if (physDevice) m.setU32(MSG.cs_flags, 1);
    return m;
  }

  chipsetInit(features: number): ControlvmMessage {
    return this.message(CONTROLVM_ID.CHIPSET_INIT).setU32(MSG.init_features, features);
  }
}
