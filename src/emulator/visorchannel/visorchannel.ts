/**
 * A channel as the guest sees it (visorchannel, reference §2): a window on guest memory
 * at `physaddr`, sized by the header's `size` as read once at creation, with a cached
 * copy of the 128-byte header. Every access is bounds-checked against that size, and
 * the signal queues use the kernel's ring rules (first signal in slot 1, one slot
 * always empty, head/num_sent written after the data, tail/num_received after the copy).
 */
import { GuestMemory, Region, UnmappedError } from '../memory/guestmemory';
import { CH, SQ } from '../protocol/layout';
import { EAGAIN, EINVAL, EIO } from '../protocol/errno';
import { bytesToGuid } from '../protocol/guid';

export type ChannelOp = 'signalinsert' | 'signalremove' | 'read' | 'write';

/** Observes each channel operation after it happened (events for the debugger). */
export interface ChannelObserver {
  (ch: VisorChannel, op: ChannelOp, detail: { queue?: number; offset?: number; length?: number; result: number; slot?: number }): void;
}

const HEADER_BYTES = 128;
/** A signal queue header's fields the ring uses all lie in its first 76 bytes (tail ends there). */
const QUEUE_FIELDS_END = SQ.tail + 4;

export class VisorChannel {
  /** Cached copy of the channel header, taken at creation (plus the guest's own header writes). */
  readonly cachedHeader: Uint8Array;
  readonly nbytes: number;
  observer: ChannelObserver | undefined;
  /** Set by the bus core: a predicate that refuses access (e.g. driver paused). Returns an error text. */
  guard: (() => string | undefined) | undefined;
  onGuardViolation: ((message: string) => void) | undefined;

  private constructor(
    readonly memory: GuestMemory,
    readonly physaddr: number,
    /** The GUID given by the caller (the create message), not the header's chtype. */
    readonly guid: string,
    header: Uint8Array,
    readonly label: string,
  ) {
    this.cachedHeader = header;
    this.headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
    this.nbytes = readU64(header, CH.size);
  }

  /**
   * visorchannel_create: fails (returns an error string) when physaddr is 0, when the
   * header is not mapped, or when the header's size does not fit in mapped memory.
   */
  static create(memory: GuestMemory, physaddr: number, guid: string, label: string): VisorChannel | string {
    if (physaddr === 0) return 'channel address is 0';
    if (!memory.isMapped(physaddr, HEADER_BYTES)) return `no memory at 0x${physaddr.toString(16)}`;
    const header = memory.read(physaddr, HEADER_BYTES);
    const size = readU64(header, CH.size);
    if (size < HEADER_BYTES) return `channel header size ${size} is smaller than the header`;
    if (!memory.isMapped(physaddr, size)) return `channel size 0x${size.toString(16)} at 0x${physaddr.toString(16)} runs past mapped memory`;
    return new VisorChannel(memory, physaddr, guid, header, label);
  }

  get chSpaceOffset(): number {
    const v = this.headerView;
    return v.getUint32(CH.ch_space_offset, true) + v.getUint32(CH.ch_space_offset + 4, true) * 0x100000000;
  }

  /** DataView on the cached header (the same bytes as cachedHeader, for the hot path). */
  private readonly headerView: DataView;

  get partitionHandle(): number {
    return readU64(this.cachedHeader, CH.partition_handle);
  }

  /** visorchannel_set_clientpartition: the cached copy only. */
  setClientPartition(handle: number): void {
    writeU64(this.cachedHeader, CH.partition_handle, handle);
  }

  get zoneGuid(): string {
    return bytesToGuid(this.cachedHeader, CH.zone_guid);
  }

  get headerTypeGuid(): string {
    return bytesToGuid(this.cachedHeader, CH.chtype);
  }

  get versionId(): number {
    return readU32(this.cachedHeader, CH.version_id);
  }

  get signatureLow(): number {
    return readU32(this.cachedHeader, CH.signature);
  }

  get signatureHigh(): number {
    return readU32(this.cachedHeader, CH.signature + 4);
  }

  /** Queue header offset within the channel (computed as a C int, as the kernel does). */
  queueOffset(queue: number): number {
    return this.chSpaceOffset + queue * 128;
  }

  private checkGuard(): boolean {
    const g = this.guard?.();
    if (g) {
      this.onGuardViolation?.(g);
      return false;
    }
    return true;
  }

  private inRange(off: number, n: number): boolean {
    return Number.isSafeInteger(off) && off >= 0 && off <= 0x7fffffff && off + n <= this.nbytes;
  }

  /** visorchannel_read: 0 or -EIO. */
  read(offset: number, dst: Uint8Array, n = dst.length): number {
    let r = 0;
    if (!this.checkGuard()) r = -EIO;
    else if (!this.inRange(offset, n)) r = -EIO;
    else {
      try {
        this.memory.readInto(this.physaddr + offset, dst, 0, n);
      } catch (e) {
        if (!(e instanceof UnmappedError)) throw e;
        r = -EIO;
      }
    }
    this.observer?.(this, 'read', { offset, length: n, result: r });
    return r;
  }

  /** visorchannel_write: 0 or -EIO; header overlap also updates the cached copy. */
  write(offset: number, src: Uint8Array): number {
    const n = src.length;
    let r = 0;
    if (!this.checkGuard()) r = -EIO;
    else if (!this.inRange(offset, n)) r = -EIO;
    else {
      if (offset < HEADER_BYTES) {
        const k = Math.min(n, HEADER_BYTES - offset);
        this.cachedHeader.set(src.subarray(0, k), offset);
      }
      try {
        this.memory.write(this.physaddr + offset, src);
      } catch (e) {
        if (!(e instanceof UnmappedError)) throw e;
        r = -EIO;
      }
    }
    this.observer?.(this, 'write', { offset, length: n, result: r });
    return r;
  }

  /** The region holding the whole channel, cached while the memory layout is unchanged. */
  private region: Region | undefined;
  private regionVersion = -1;

  /** memory.pageSpan(addr, len) without a region lookup when the channel's region is known. */
  private span(addr: number, len: number): Uint8Array | undefined {
    const m = this.memory;
    if (this.regionVersion !== m.layoutVersion) {
      this.region = m.regionOf(this.physaddr, this.nbytes);
      this.regionVersion = m.layoutVersion;
    }
    return this.region ? m.pageSpanIn(this.region, addr, len) : m.pageSpan(addr, len);
  }

  /** A DataView on the last page span() returned (pages are never replaced while mapped). */
  private dvPage: Uint8Array | undefined;
  private dvView: DataView | undefined;

  private viewOf(p: Uint8Array): DataView {
    if (p !== this.dvPage) {
      this.dvPage = p;
      this.dvView = new DataView(p.buffer, p.byteOffset, p.byteLength);
    }
    return this.dvView!;
  }

  /** Header-derived queue geometry; undefined fields mean the access would fail. */
  private queueBase(queue: number): number {
    const cso = this.chSpaceOffset;
    if (cso < HEADER_BYTES) return -EINVAL;
    const qh = cso + queue * 128;
    if (!this.inRange(qh, 128)) return -EIO;
    return qh;
  }

  /**
   * visorchannel_signalinsert: copy `signal_size` bytes of `msg` into the next slot.
   * Returns 0, -EIO (full: num_overflows bumped; or out of range), or -EINVAL.
   */
  signalInsert(queue: number, msg: Uint8Array): number {
    // doInsert returns the slot it filled (>= 0) or a negative errno: no closure per call.
    const s = this.guard === undefined || this.checkGuard() ? this.doInsert(queue, msg) : -EIO;
    const r = s < 0 ? s : 0;
    if (this.observer) this.observer(this, 'signalinsert', { queue, result: r, slot: s < 0 ? undefined : s });
    return r;
  }

  private doInsert(queue: number, msg: Uint8Array): number {
    const qh = this.queueBase(queue);
    if (qh < 0) return qh;
    const m = this.memory;
    const a = this.physaddr + qh;
    try {
      let maxSlots: number, head: number, tail: number, signalSize: number, sigBase: number;
      // Fast path: the header fields up to `tail` in one written page, read in place (the
      // values are those the per-field reads below would return: nothing runs in between).
      const p = this.span(a, QUEUE_FIELDS_END);
      const o = m.spanOffset;
      if (p !== undefined) {
        const v = this.viewOf(p);
        maxSlots = v.getUint32(o + SQ.max_slots, true);
        if (maxSlots === 0) return -EINVAL;
        head = v.getUint32(o + SQ.head, true);
        tail = v.getUint32(o + SQ.tail, true);
        signalSize = v.getUint32(o + SQ.signal_size, true);
        sigBase = v.getUint32(o + SQ.sig_base_offset, true) + v.getUint32(o + SQ.sig_base_offset + 4, true) * 0x100000000;
      } else {
        maxSlots = m.readU32(a + SQ.max_slots);
        if (maxSlots === 0) return -EINVAL; // the guest would divide by zero; refuse instead
        head = m.readU32(a + SQ.head);
        tail = m.readU32(a + SQ.tail);
        signalSize = m.readU32(a + SQ.signal_size);
        sigBase = m.readU64(a + SQ.sig_base_offset);
      }
      // Indices outside the ring, or zero-byte slots: a corrupted header. The kernel would go
      // round the ring forever (head or tail is never reached); refuse it as out of range.
      if (head >= maxSlots || tail >= maxSlots || signalSize === 0) return -EIO;
      const newHead = (head + 1) % maxSlots;
      if (newHead === tail) {
        m.writeU64(a + SQ.num_overflows, m.readU64(a + SQ.num_overflows) + 1);
        return -EIO;
      }
      const slotOff = qh + sigBase + newHead * signalSize;
      if (!this.inRange(slotOff, signalSize)) return -EIO;
      let data: Uint8Array;
      if (msg.length === signalSize) data = msg;
      else if (msg.length > signalSize) data = msg.subarray(0, signalSize);
      else {
        data = new Uint8Array(signalSize);
        data.set(msg);
      }
      m.write(this.physaddr + slotOff, data);
      if (p !== undefined && !m.watching) {
        // No watcher, so no code ran since pageSpan: update the header in place (same bytes).
        const v = this.viewOf(p);
        const sent = v.getUint32(o + SQ.num_sent, true) + v.getUint32(o + SQ.num_sent + 4, true) * 0x100000000 + 1;
        v.setUint32(o + SQ.head, newHead, true);
        v.setUint32(o + SQ.num_sent, sent >>> 0, true);
        v.setUint32(o + SQ.num_sent + 4, Math.floor(sent / 0x100000000) >>> 0, true);
        return newHead;
      }
      const sent = m.readU64(a + SQ.num_sent) + 1;
      m.writeU32(a + SQ.head, newHead);
      m.writeU64(a + SQ.num_sent, sent);
      return newHead;
    } catch (e) {
      if (e instanceof UnmappedError) return -EIO;
      throw e;
    }
  }

  /**
   * visorchannel_signalremove: copy the next signal into `out` (up to out.length bytes).
   * Returns 0, -EAGAIN (empty), -EIO or -EINVAL.
   */
  signalRemove(queue: number, out: Uint8Array): number {
    // doRemove returns the slot it consumed (>= 0) or a negative errno.
    const s = this.guard === undefined || this.checkGuard() ? this.doRemove(queue, out) : -EIO;
    const r = s < 0 ? s : 0;
    if (this.observer) this.observer(this, 'signalremove', { queue, result: r, slot: s < 0 ? undefined : s });
    return r;
  }

  private doRemove(queue: number, out: Uint8Array): number {
    const qh = this.queueBase(queue);
    if (qh < 0) return qh;
    const m = this.memory;
    const a = this.physaddr + qh;
    try {
      let tail: number, maxSlots: number, signalSize: number, sigBase: number;
      const p = this.span(a, QUEUE_FIELDS_END);
      const o = m.spanOffset;
      if (p !== undefined) {
        // Fast path, as in doInsert.
        const v = this.viewOf(p);
        tail = v.getUint32(o + SQ.tail, true);
        if (v.getUint32(o + SQ.head, true) === tail) return -EAGAIN;
        maxSlots = v.getUint32(o + SQ.max_slots, true);
        if (maxSlots === 0) return -EINVAL;
        signalSize = v.getUint32(o + SQ.signal_size, true);
        sigBase = v.getUint32(o + SQ.sig_base_offset, true) + v.getUint32(o + SQ.sig_base_offset + 4, true) * 0x100000000;
        // As in doInsert: indices outside the ring or zero-byte slots are a corrupted header.
        if (v.getUint32(o + SQ.head, true) >= maxSlots || tail >= maxSlots || signalSize === 0) return -EIO;
      } else {
        const head = m.readU32(a + SQ.head);
        tail = m.readU32(a + SQ.tail);
        if (head === tail) return -EAGAIN;
        maxSlots = m.readU32(a + SQ.max_slots);
        if (maxSlots === 0) return -EINVAL;
        signalSize = m.readU32(a + SQ.signal_size);
        sigBase = m.readU64(a + SQ.sig_base_offset);
        if (head >= maxSlots || tail >= maxSlots || signalSize === 0) return -EIO;
      }
      const newTail = (tail + 1) % maxSlots;
      const slotOff = qh + sigBase + newTail * signalSize;
      if (!this.inRange(slotOff, signalSize)) return -EIO;
      const n = Math.min(signalSize, out.length);
      m.readInto(this.physaddr + slotOff, out, 0, n);
      if (p !== undefined && !m.watching) {
        const v = this.viewOf(p);
        const received = v.getUint32(o + SQ.num_received, true) + v.getUint32(o + SQ.num_received + 4, true) * 0x100000000 + 1;
        v.setUint32(o + SQ.tail, newTail, true);
        v.setUint32(o + SQ.num_received, received >>> 0, true);
        v.setUint32(o + SQ.num_received + 4, Math.floor(received / 0x100000000) >>> 0, true);
        return newTail;
      }
      const received = m.readU64(a + SQ.num_received) + 1;
      m.writeU32(a + SQ.tail, newTail);
      m.writeU64(a + SQ.num_received, received);
      return newTail;
    } catch (e) {
      if (e instanceof UnmappedError) return -EIO;
      throw e;
    }
  }

  /** visorchannel_signalempty: true also when the header cannot be read. */
  signalEmpty(queue: number): boolean {
    const qh = this.queueBase(queue);
    if (qh < 0) return true;
    try {
      const a = this.physaddr + qh;
      return this.memory.readU32(a + SQ.head) === this.memory.readU32(a + SQ.tail);
    } catch (e) {
      if (e instanceof UnmappedError) return true;
      throw e;
    }
  }
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

export function readU64(b: Uint8Array, o: number): number {
  return readU32(b, o) + readU32(b, o + 4) * 0x100000000;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function writeU64(b: Uint8Array, o: number, v: number): void {
  writeU32(b, o, v >>> 0);
  writeU32(b, o + 4, Math.floor(v / 0x100000000) >>> 0);
}
