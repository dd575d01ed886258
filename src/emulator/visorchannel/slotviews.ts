/**
 * Views on the guest pages a channel copies signals to and from. A ring copies to and from
 * the same few places (its slots) over and over; a fresh subarray for each copy was an
 * allocation per signal. The views are kept by guest address, `ENTRIES` of them (a slot's
 * address over the copy's length picks the entry, so consecutive slots do not collide).
 *
 * A view is only a shortcut, like QueueWindow: it is made on a page that exists, and pages
 * are never replaced while the memory layout keeps its version, so a view found for the same
 * address, length and layout version shows the same bytes the ordinary path would.
 */
import { GuestMemory, Region } from '../memory/guestmemory';

const ENTRIES = 64;

/** The entry for `n` bytes at `a`: consecutive slots get consecutive entries (a shift for the usual power-of-two signal sizes). */
function slotKey(a: number, n: number): number {
  return ((n & (n - 1)) === 0 ? a >>> (31 - Math.clz32(n)) : (a / n) >>> 0) & (ENTRIES - 1);
}

export class SlotViews {
  private readonly addr = new Float64Array(ENTRIES).fill(-1);
  private readonly views: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(ENTRIES).fill(undefined);
  private version = -1;

  /**
   * The common copy: `n` bytes at guest address `a`, inside region `r` (the channel's, at the
   * current layout version) and one allocated page. Goes straight to the page (the watcher
   * still hears of a write); false leaves anything else to the ordinary accessors.
   */
  copy(memory: GuestMemory, r: Region | undefined, a: number, buf: Uint8Array, n: number, write: boolean): boolean {
    if (r === undefined || n === 0 || n > buf.length) return false;
    const version = memory.layoutVersion;
    let v = this.get(a, n, version);
    if (v === undefined) {
      // One allocated page of the region holds the bytes; across a page or never written: the ordinary path.
      const page = memory.pageSpanIn(r, a, n);
      if (page === undefined) return false;
      v = page.subarray(memory.spanOffset, memory.spanOffset + n);
      this.put(a, n, version, v);
    }
    if (!write) buf.set(v);
    else {
      v.set(n === buf.length ? buf : buf.subarray(0, n));
      memory.notifyWrite(a, n);
    }
    return true;
  }

  /** The view of the `n` bytes at guest address `a` kept at layout version `version`, if any. */
  private get(a: number, n: number, version: number): Uint8Array | undefined {
    if (version !== this.version) return undefined;
    const k = slotKey(a, n);
    const v = this.views[k];
    return v !== undefined && this.addr[k] === a && v.length === n ? v : undefined;
  }

  /** Keep `view`, the `n` bytes at guest address `a` at layout version `version`. */
  private put(a: number, n: number, version: number, view: Uint8Array): void {
    if (version !== this.version) {
      this.addr.fill(-1);
      this.views.fill(undefined);
      this.version = version;
    }
    const k = slotKey(a, n);
    this.addr[k] = a;
    this.views[k] = view;
  }
}
