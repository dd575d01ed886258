/**
 * A signal queue header's fields seen through the one guest page that holds them: the
 * DataView is made once and reused by every ring operation on that queue, so a poll reads
 * `head`/`tail` with two loads instead of a region lookup and a byte walk per field.
 *
 * The window is only a shortcut. It is valid while the memory layout is unchanged (pages are
 * never replaced while their region is mapped) and when the fields lie in one page that has
 * been written; otherwise `attach` says no and the caller takes the ordinary accessors. Writes
 * through the window tell the memory's watcher, so data breakpoints and memory events see
 * exactly the writes the ordinary path would have made.
 */
import { GuestMemory, Region } from '../memory/guestmemory';
import { SQ } from '../protocol/layout';

/** Every header field the ring uses lies in the header's first 76 bytes (tail ends there). */
export const QUEUE_FIELDS_END = SQ.tail + 4;

export class QueueWindow {
  private dv: DataView | undefined;
  private o = 0;
  private addr = -1;
  private version = -1;

  constructor(private readonly memory: GuestMemory) {}

  /** Whether the window already shows the header at guest address `a` (and still may). */
  isAt(a: number): boolean {
    return this.addr === a && this.dv !== undefined && this.version === this.memory.layoutVersion;
  }

  /** Point the window at the queue header at guest address `a` inside region `r`; false when it cannot be used. */
  attach(r: Region | undefined, a: number): boolean {
    const m = this.memory;
    this.dv = undefined;
    // A header across pages, or never written (reads as zero), is left to the ordinary path.
    const page = r === undefined ? undefined : m.pageSpanIn(r, a, QUEUE_FIELDS_END);
    if (page === undefined) return false;
    this.dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.o = m.spanOffset;
    this.addr = a;
    this.version = m.layoutVersion;
    return true;
  }

  u32(field: number): number {
    return this.dv!.getUint32(this.o + field, true);
  }

  /** u64 as a JS number (counters and offsets; exact below 2^53). */
  u64(field: number): number {
    const dv = this.dv!;
    return dv.getUint32(this.o + field, true) + dv.getUint32(this.o + field + 4, true) * 0x100000000;
  }

  set32(field: number, v: number): void {
    this.dv!.setUint32(this.o + field, v >>> 0, true);
    this.memory.notifyWrite(this.addr + field, 4);
  }

  /** `field++` on a u64 counter, in place (the high word only on a carry), as one 8-byte write. */
  inc64(field: number): void {
    const dv = this.dv!;
    const o = this.o + field;
    const lo = dv.getUint32(o, true);
    if (lo !== 0xffffffff) dv.setUint32(o, lo + 1, true);
    else {
      dv.setUint32(o, 0, true);
      dv.setUint32(o + 4, (dv.getUint32(o + 4, true) + 1) >>> 0, true);
    }
    this.memory.notifyWrite(this.addr + field, 8);
  }
}
