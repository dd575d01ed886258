/**
 * A channel as the guest sees it (visorchannel, reference §2): a window on guest memory
 * at `physaddr`, sized by the header's `size` as read once at creation, with a cached
 * copy of the 128-byte header. Every access is bounds-checked the kernel's way
 * (`offset + nbytes > nbytes` in unsigned 64-bit arithmetic), and the signal queues use
 * the kernel's ring rules and arithmetic on whatever the queue header holds (first
 * signal in slot 1, one slot always empty, `% max_slots`, offsets computed as a C int,
 * head/num_sent written after the data, tail/num_received after the copy). Where the
 * kernel would crash (a divide by zero, a copy outside the mapping) the operation
 * reports a kernel oops instead of touching anything.
 */
import { GuestMemory, Region, UnmappedError } from '../memory/guestmemory';
import { CH, SQ } from '../protocol/layout';
import { EAGAIN, EFAULT, EINVAL, EIO } from '../protocol/errno';
import { bytesToGuid } from '../protocol/guid';
import type { KernelOops, OopsKind, QueueHeaderValues } from '../kernel/oops';
import { QueueWindow } from './queuewindow';
import { SlotViews } from './slotviews';
import { classifyAccess, readU32, readU64, writeU64 } from './access';

export type ChannelOp = 'signalinsert' | 'signalremove' | 'read' | 'write';

/** Who uses this view of the channel: the guest kernel, or a service partition (back-end, Command partition). */
export type ChannelSide = 'guest' | 'server';

/** What a channel operation did. The observer gets one object per channel, refilled for each operation: read it during the call. */
export interface ChannelOpDetail {
  queue?: number;
  offset?: number;
  length?: number;
  result: number;
  slot?: number;
}

/** Observes each channel operation after it happened (events for the debugger), but an empty signalremove: it changed nothing. */
export interface ChannelObserver {
  (ch: VisorChannel, op: ChannelOp, detail: Readonly<ChannelOpDetail>): void;
}

const HEADER_BYTES = 128;

/** Removes that prove a lock-up on a ring with more slots than this (bounds the work before it is reported). */
const LOCKUP_REMOVES = 4096;

/** Thrown inside a ring operation where the kernel would oops; caught at the operation's edge. */
class Oops {
  constructor(
    readonly kind: OopsKind,
    readonly access?: { offset: number; length: number; write: boolean },
  ) {}
}

export class VisorChannel {
  /** Cached copy of the channel header, taken at creation (plus the guest's own header writes). */
  readonly cachedHeader: Uint8Array;
  readonly nbytes: number;
  observer: ChannelObserver | undefined;
  /**
   * Set by the bus core: a predicate that spots a misuse (e.g. driver paused) and returns its
   * text. The kernel has no such guard: the access still happens; the misuse is only reported.
   */
  guard: (() => string | undefined) | undefined;
  /** The device owning the channel: its misuse is touching it while paused, so the guard is asked only then. */
  owner: { readonly paused: boolean } | undefined;
  onGuardViolation: ((message: string) => void) | undefined;
  /** Set on the guest's channels: a kernel oops happened here. After the first, the channel is dead. */
  onOops: ((oops: KernelOops) => void) | undefined;
  /** The guest oopsed on this channel: its later operations fail with -EFAULT and touch nothing. */
  dead = false;
  /** Whether `q` holds the queue header values of the current ring operation (for an oops report). */
  private haveHeader = false;

  private constructor(
    readonly memory: GuestMemory,
    readonly physaddr: number,
    /** The GUID given by the caller (the create message), not the header's chtype. */
    readonly guid: string,
    header: Uint8Array,
    readonly label: string,
    /** 'guest': the kernel's ring arithmetic on whatever the header holds; 'server': a service partition that refuses a corrupted header. */
    readonly side: ChannelSide,
  ) {
    this.cachedHeader = header;
    this.headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
    this.nbytes = readU64(header, CH.size);
    this.headerChanged();
  }

  /**
   * visorchannel_create: fails (returns an error string) when physaddr is 0, when the
   * header is not mapped, or when the header's size does not fit in mapped memory. A size
   * below the header's 128 bytes is accepted, as the kernel does (visor_check_channel then
   * leaves the device unbound).
   */
  static create(memory: GuestMemory, physaddr: number, guid: string, label: string, side: ChannelSide = 'server'): VisorChannel | string {
    if (physaddr === 0) return 'channel address is 0';
    if (!memory.isMapped(physaddr, HEADER_BYTES)) return `no memory at 0x${physaddr.toString(16)}`;
    const header = memory.read(physaddr, HEADER_BYTES);
    const size = readU64(header, CH.size);
    if (size > HEADER_BYTES && !memory.isMapped(physaddr, size))
      return `channel size 0x${size.toString(16)} at 0x${physaddr.toString(16)} runs past mapped memory`;
    return new VisorChannel(memory, physaddr, guid, header, label, side);
  }

  get chSpaceOffset(): number {
    const v = this.headerView;
    return v.getUint32(CH.ch_space_offset, true) + v.getUint32(CH.ch_space_offset + 4, true) * 0x100000000;
  }

  /** ch_space_offset of the cached header as a number, kept with it (every ring operation reads it). */
  private cso = 0;
  private csoLow = 0;

  /** Re-read what the hot path keeps of the cached header after the header changed. */
  private headerChanged(): void {
    this.cso = this.chSpaceOffset;
    this.csoLow = this.headerView.getUint32(CH.ch_space_offset, true);
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

  /** sig_queue_offset: ch_space_offset + queue * 128, returned as a C int. */
  queueOffset(queue: number): number {
    return (this.csoLow + queue * 128) | 0;
  }

  /** Report a misuse the guard spots; the access goes ahead as in the kernel. */
  private checkGuard(): void {
    if (this.owner !== undefined && !this.owner.paused) return;
    const g = this.guard?.();
    if (g) this.onGuardViolation?.(g);
  }

  /** An oops on this channel: report it once (the guest's context is gone), then the channel is dead. */
  private oops(fn: string, o: Oops, queue?: number): number {
    if (this.onOops) {
      this.dead = true;
      const access = o.access ? { ...o.access, address: this.physaddr + o.access.offset } : undefined;
      this.onOops({ kind: o.kind, fn, channel: this.label, queue, access, header: this.haveHeader ? this.headerValues() : undefined });
    }
    return -EFAULT;
  }

  /** Copy in or out within the channel the kernel's way: -EIO when refused; an Oops when it would fault. */
  private copy(offset: number, buf: Uint8Array, n: number, write: boolean): number {
    const c = classifyAccess(offset, n, this.nbytes);
    if (c === 'eio') return -EIO;
    if (c === 'oops') throw new Oops('page fault', { offset, length: n, write });
    if ((this.views ??= new SlotViews()).copy(this.memory, this.regionNow(), this.physaddr + offset, buf, n, write)) return 0;
    try {
      if (write) this.memory.write(this.physaddr + offset, n === buf.length ? buf : buf.subarray(0, n));
      else this.memory.readInto(this.physaddr + offset, buf, 0, n);
    } catch (e) {
      if (e instanceof UnmappedError) throw new Oops('page fault', { offset, length: n, write });
      throw e;
    }
    return 0;
  }

  /** Views on the pages this channel copies to and from, made at its first copy. */
  private views: SlotViews | undefined;

  /** visorchannel_read: 0 or -EIO. */
  read(offset: number, dst: Uint8Array, n = dst.length): number {
    let r: number;
    if (this.dead) r = -EFAULT;
    else {
      this.checkGuard();
      try {
        r = this.copy(offset, dst, n, false);
      } catch (e) {
        if (!(e instanceof Oops)) throw e;
        this.haveHeader = false;
        r = this.oops('visorchannel_read', e);
      }
    }
    if (this.observer) this.observer(this, 'read', this.detailOf(undefined, offset, n, r, undefined));
    return r;
  }

  /** visorchannel_write: 0 or -EIO; header overlap also updates the cached copy. */
  write(offset: number, src: Uint8Array): number {
    const n = src.length;
    let r: number;
    if (this.dead) r = -EFAULT;
    else {
      this.checkGuard();
      if (offset >= 0 && offset < HEADER_BYTES && classifyAccess(offset, n, this.nbytes) === 'ok') {
        const k = Math.min(n, HEADER_BYTES - offset);
        this.cachedHeader.set(src.subarray(0, k), offset);
        this.headerChanged();
      }
      try {
        r = this.copy(offset, src, n, true);
      } catch (e) {
        if (!(e instanceof Oops)) throw e;
        this.haveHeader = false;
        r = this.oops('visorchannel_write', e);
      }
    }
    if (this.observer) this.observer(this, 'write', this.detailOf(undefined, offset, n, r, undefined));
    return r;
  }

  /** The observer's detail object, refilled for each operation (a poll allocates nothing). */
  private readonly detail: ChannelOpDetail = { queue: undefined, offset: undefined, length: undefined, result: 0, slot: undefined };

  private detailOf(
    queue: number | undefined,
    offset: number | undefined,
    length: number | undefined,
    result: number,
    slot: number | undefined,
  ): ChannelOpDetail {
    const d = this.detail;
    d.queue = queue;
    d.offset = offset;
    d.length = length;
    d.result = result;
    d.slot = slot;
    return d;
  }

  /** The region holding the whole channel, cached while the memory layout is unchanged. */
  private region: Region | undefined;
  private regionVersion = -1;

  private regionNow(): Region | undefined {
    const m = this.memory;
    if (this.regionVersion !== m.layoutVersion) {
      this.region = m.regionOf(this.physaddr, this.nbytes);
      this.regionVersion = m.layoutVersion;
    }
    return this.region;
  }

  /** Per queue: the window on its header fields, made once. */
  private readonly windows: QueueWindow[] = [];
  /** The window the current ring operation reads and writes through, when usable. */
  private win: QueueWindow | undefined;

  /** Queue header values of one ring operation, read as sig_read_header does. */
  private readonly q = { cso: 0, qh: 0, maxSlots: 0, head: 0, tail: 0, signalSize: 0, sigBaseLow: 0, sigBase: 0 };

  private headerValues(): QueueHeaderValues {
    const q = this.q;
    return { ch_space_offset: q.cso, sig_base_offset: q.sigBase, signal_size: q.signalSize, max_slots: q.maxSlots, head: q.head, tail: q.tail };
  }

  /**
   * sig_read_header: -EINVAL when the cached ch_space_offset is below 128, -EIO when the
   * 128-byte queue header is out of range; else fills `this.q` and returns 0.
   */
  private readHeader(queue: number): number {
    const cso = this.cso;
    if (cso < HEADER_BYTES) return -EINVAL;
    const qh = this.queueOffset(queue);
    // In range is the common case; classifyAccess decides the rest (refused, or the wrap-around oops).
    if (qh < 0 || qh + 128 > this.nbytes) {
      const c = classifyAccess(qh, 128, this.nbytes);
      if (c === 'eio') return -EIO;
      if (c === 'oops') throw new Oops('page fault', { offset: qh, length: 128, write: false });
    }
    const q = this.q;
    // A header that faults while it is read is not reported as read.
    this.haveHeader = false;
    q.cso = cso;
    q.qh = qh;
    const a = this.physaddr + qh;
    const w = (this.windows[queue] ??= new QueueWindow(this.memory));
    if (w.isAt(a) || w.attach(this.regionNow(), a)) {
      this.win = w;
      q.maxSlots = w.u32(SQ.max_slots);
      q.head = w.u32(SQ.head);
      q.tail = w.u32(SQ.tail);
      q.signalSize = w.u32(SQ.signal_size);
      q.sigBaseLow = w.u32(SQ.sig_base_offset);
      q.sigBase = w.u64(SQ.sig_base_offset);
    } else {
      this.win = undefined;
      this.readHeaderSlow(a, qh);
    }
    this.haveHeader = true;
    // A service partition is not the guest: it refuses a header it cannot go round safely.
    if (this.side === 'server') {
      if (q.maxSlots === 0) return -EINVAL;
      if (q.head >= q.maxSlots || q.tail >= q.maxSlots || q.signalSize === 0) return -EIO;
    }
    return 0;
  }

  /** The header fields through the ordinary accessors (across a page, or never written). */
  private readHeaderSlow(a: number, qh: number): void {
    const q = this.q;
    const m = this.memory;
    try {
      q.maxSlots = m.readU32(a + SQ.max_slots);
      q.head = m.readU32(a + SQ.head);
      q.tail = m.readU32(a + SQ.tail);
      q.signalSize = m.readU32(a + SQ.signal_size);
      q.sigBaseLow = m.readU32(a + SQ.sig_base_offset);
      q.sigBase = m.readU64(a + SQ.sig_base_offset);
    } catch (e) {
      if (e instanceof UnmappedError) throw new Oops('page fault', { offset: qh, length: 128, write: false });
      throw e;
    }
  }

  /** sig_data_offset: queue offset + sig_base_offset + slot * signal_size, in u32 arithmetic, returned as a C int. */
  private slotOffset(slot: number): number {
    const q = this.q;
    return (q.qh + q.sigBaseLow + (Math.imul(slot, q.signalSize) >>> 0)) | 0;
  }

  /** `(index + 1) % max_slots` in u32 arithmetic: max_slots 0 is the kernel's divide error. */
  private next(index: number): number {
    const max = this.q.maxSlots;
    if (max === 0) throw new Oops('divide error');
    // The same value as `% max`, without a floating-point remainder in the common case.
    const i1 = (index + 1) >>> 0;
    return i1 < max ? i1 : i1 % max;
  }

  /** The producer's (head, num_sent) or consumer's (tail, num_received) update, index first as the kernel writes them. */
  private publish(indexField: number, index: number, countField: number): number {
    this.writeField(indexField, index);
    this.incField64(countField);
    return index;
  }

  /** SIG_WRITE_FIELD: one header field (inside the queue header readHeader found in range). */
  private writeField(field: number, value: number): void {
    const w = this.win;
    if (w !== undefined) return w.set32(field, value);
    try {
      this.memory.writeU32(this.physaddr + this.q.qh + field, value);
    } catch (e) {
      if (e instanceof UnmappedError) throw new Oops('page fault', { offset: this.q.qh + field, length: 4, write: true });
      throw e;
    }
  }

  /** `field++` on a u64 counter of the header, as the kernel's u64 (exact past 2^53, wraps at 2^64), one 8-byte write. */
  private incField64(field: number): void {
    const w = this.win;
    if (w !== undefined) return w.inc64(field);
    const a = this.physaddr + this.q.qh + field;
    try {
      // Little-endian bytes, the carry up to the first one that does not wrap to 0.
      const b = this.memory.read(a, 8);
      for (let i = 0; i < 8; i++) {
        b[i] = (b[i] + 1) & 0xff;
        if (b[i] !== 0) break;
      }
      this.memory.write(a, b);
    } catch (e) {
      if (e instanceof UnmappedError) throw new Oops('page fault', { offset: this.q.qh + field, length: 8, write: true });
      throw e;
    }
  }

  /**
   * visorchannel_signalinsert: copy `signal_size` bytes of `msg` into the next slot.
   * Returns 0, -EIO (full: num_overflows bumped; or out of range), -EINVAL, or -EFAULT (oops).
   */
  signalInsert(queue: number, msg: Uint8Array): number {
    return this.ringOp('signalinsert', queue, msg);
  }

  /**
   * visorchannel_signalremove: copy the next signal into `out` (up to out.length bytes).
   * Returns 0, -EAGAIN (empty), -EIO, -EINVAL, or -EFAULT (oops).
   */
  signalRemove(queue: number, out: Uint8Array): number {
    return this.ringOp('signalremove', queue, out);
  }

  /** One ring operation with the guard, the oops and the observer around it (no closure per call). */
  private ringOp(op: 'signalinsert' | 'signalremove', queue: number, buf: Uint8Array): number {
    // doInsert/doRemove return the slot they used (>= 0) or a negative errno.
    let s: number;
    if (this.dead) s = -EFAULT;
    else {
      if (this.guard !== undefined) this.checkGuard();
      try {
        s = op === 'signalinsert' ? this.doInsert(queue, buf) : this.doRemove(queue, buf);
      } catch (e) {
        if (!(e instanceof Oops)) throw e;
        s = this.oops(`visorchannel_${op}`, e, queue);
      }
    }
    const r = s < 0 ? s : 0;
    if (this.observer !== undefined && r !== -EAGAIN) this.observer(this, op, this.detailOf(queue, undefined, undefined, r, s < 0 ? undefined : s));
    return r;
  }

  private doInsert(queue: number, msg: Uint8Array): number {
    let r = this.readHeader(queue);
    if (r < 0) return r;
    const q = this.q;
    const newHead = this.next(q.head);
    if (newHead === q.tail) {
      this.incField64(SQ.num_overflows);
      return -EIO;
    }
    const n = q.signalSize;
    let data = msg;
    if (msg.length < n) {
      // The kernel copies signal_size bytes from the caller's buffer whatever its length.
      data = new Uint8Array(n);
      data.set(msg);
    }
    r = this.copy(this.slotOffset(newHead), data, n, true);
    return r < 0 ? r : this.publish(SQ.head, newHead, SQ.num_sent);
  }

  /** Per queue: the head the last removes saw and how many succeeded since it last moved. */
  private readonly drained: { head: number; count: number }[] = [];

  /**
   * Going round a whole ring while its producer's head stays put cannot happen in a sane ring:
   * the head lies beyond max_slots and a drain-until-empty loop (every driver's, and the
   * chipset's) would spin for ever. The kernel locks up there; we report it as that.
   */
  private checkLockup(queue: number): void {
    const q = this.q;
    const d = (this.drained[queue] ??= { head: q.head, count: 0 });
    if (d.head !== q.head) {
      d.head = q.head;
      d.count = 0;
    }
    if (++d.count > Math.min(q.maxSlots, LOCKUP_REMOVES)) throw new Oops('soft lockup');
  }

  private doRemove(queue: number, out: Uint8Array): number {
    let r = this.readHeader(queue);
    if (r < 0) return r;
    const q = this.q;
    if (q.head === q.tail) return -EAGAIN;
    const newTail = this.next(q.tail);
    if (this.side === 'guest' && q.head >= q.maxSlots) this.checkLockup(queue);
    const off = this.slotOffset(newTail);
    // The kernel copies signal_size bytes into the caller's buffer; we copy what fits.
    const c = classifyAccess(off, q.signalSize, this.nbytes);
    if (c !== 'ok') {
      if (c === 'eio') return -EIO;
      throw new Oops('page fault', { offset: off, length: q.signalSize, write: false });
    }
    r = this.copy(off, out, Math.min(q.signalSize, out.length), false);
    return r < 0 ? r : this.publish(SQ.tail, newTail, SQ.num_received);
  }

  /** visorchannel_signalempty: true also when the header cannot be read. */
  signalEmpty(queue: number): boolean {
    if (this.dead) return true;
    try {
      if (this.readHeader(queue) < 0) return true;
    } catch (e) {
      if (!(e instanceof Oops)) throw e;
      this.oops('visorchannel_signalempty', e, queue);
      return true;
    }
    return this.q.head === this.q.tail;
  }
}
