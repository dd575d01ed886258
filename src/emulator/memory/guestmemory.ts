/**
 * Guest-physical memory: sparse, little-endian, addressed by guest-physical address.
 * Memory exists only inside mapped regions (channels, guest buffers); an access that
 * touches an unmapped byte fails with UnmappedError, which the debugger reports as
 * unreadable. Each region stores 4 KiB pages allocated on first write, so a topology
 * of 10,000 large channels costs only the pages actually written.
 */

export const PAGE_SIZE = 4096;
const PAGE_SHIFT = 12;

export class UnmappedError extends Error {
  constructor(
    readonly address: number,
    readonly length: number,
  ) {
    super(`guest-physical range 0x${address.toString(16)}+${length} is not mapped`);
  }
}

export interface Region {
  readonly base: number;
  readonly size: number;
  readonly label: string;
  /** pages[i] covers [base + i*4096, base + (i+1)*4096); undefined = never written (reads as zero). */
  readonly pages: (Uint8Array | undefined)[];
}

/** Watches writes (data breakpoints, memory events). Called after the bytes changed. */
export type WriteWatcher = (address: number, length: number) => void;

export class GuestMemory {
  private regions: Region[] = []; // sorted by base, non-overlapping
  private last: Region | undefined;
  private watcher: WriteWatcher | undefined;

  /** Map [base, base+size). Overlapping an existing region is an error. */
  map(base: number, size: number, label: string): Region {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`bad region 0x${base.toString(16)}+${size}`);
    }
    const end = base + size;
    // Regions are sorted and disjoint: find the insertion point by binary search (the first
    // region with a higher base); only its predecessor and it can overlap the new one, and
    // the predecessor is the first overlapping region in address order.
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rs[mid].base <= base) lo = mid + 1;
      else hi = mid;
    }
    for (const r of [rs[lo - 1], rs[lo]]) {
      if (r && base < r.base + r.size && r.base < end) {
        throw new RangeError(`region ${label} 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${r.label} at 0x${r.base.toString(16)}`);
      }
    }
    const region: Region = { base, size, label, pages: new Array(Math.ceil(size / PAGE_SIZE)) };
    if (lo === rs.length) rs.push(region);
    else rs.splice(lo, 0, region);
    return region;
  }

  unmap(base: number): void {
    this.regions = this.regions.filter((r) => r.base !== base);
    this.last = undefined;
    this.unmaps++;
  }

  private unmaps = 0;

  /**
   * Changes whenever a region is unmapped. A Region found while it had a given value stays
   * mapped (with the same pages) as long as it keeps that value, so hot paths may cache it.
   */
  get layoutVersion(): number {
    return this.unmaps;
  }

  listRegions(): readonly Region[] {
    return this.regions;
  }

  setWriteWatcher(w: WriteWatcher | undefined): void {
    this.watcher = w;
  }

  /** The region holding [addr, addr+len) entirely, or undefined. */
  regionOf(addr: number, len = 1): Region | undefined {
    const l = this.last;
    if (l && addr >= l.base && addr + len <= l.base + l.size) return l;
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.regions[mid];
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else {
        if (addr + len > r.base + r.size) return undefined;
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /**
   * Hot-path access to a small structure (a signal queue header) in region `r`, found by
   * regionOf() at the current layoutVersion: the allocated page that holds all of
   * [addr, addr+len), with the offset of `addr` in it left in `spanOffset`. Undefined when the
   * range leaves the region, crosses a page, or was never written (reads as zero).
   */
  pageSpanIn(r: Region, addr: number, len: number): Uint8Array | undefined {
    const o = addr - r.base;
    if (o < 0 || o + len > r.size) return undefined;
    const po = o & (PAGE_SIZE - 1);
    if (po + len > PAGE_SIZE) return undefined;
    const page = r.pages[o >>> PAGE_SHIFT];
    if (!page) return undefined;
    this.spanOffset = po;
    return page;
  }

  /** Offset in the page returned by the last successful pageSpanIn(). */
  spanOffset = 0;

  /** Tell the write watcher about bytes a hot path wrote through a cached page. */
  notifyWrite(addr: number, len: number): void {
    if (this.watcher) this.watcher(addr, len);
  }

  isMapped(addr: number, len: number): boolean {
    return this.regionOf(addr, len) !== undefined;
  }

  private need(addr: number, len: number): Region {
    const r = this.regionOf(addr, len);
    if (!r) throw new UnmappedError(addr, len);
    return r;
  }

  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(addr, out);
    return out;
  }

  readInto(addr: number, out: Uint8Array, outOffset = 0, len = out.length - outOffset): void {
    const r = this.need(addr, len);
    let off = addr - r.base;
    const po0 = off & (PAGE_SIZE - 1);
    if (len > 0 && po0 + len <= PAGE_SIZE) {
      // Fast path: one page.
      const page = r.pages[off >>> PAGE_SHIFT];
      if (page) out.set(len === PAGE_SIZE ? page : page.subarray(po0, po0 + len), outOffset);
      else out.fill(0, outOffset, outOffset + len);
      return;
    }
    let done = 0;
    while (done < len) {
      const pi = off >>> PAGE_SHIFT;
      const po = off & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - po, len - done);
      const page = r.pages[pi];
      if (page) out.set(page.subarray(po, po + n), outOffset + done);
      else out.fill(0, outOffset + done, outOffset + done + n);
      done += n;
      off += n;
    }
  }

  write(addr: number, data: Uint8Array): void {
    const len = data.length;
    const r = this.need(addr, len);
    let off = addr - r.base;
    const po0 = off & (PAGE_SIZE - 1);
    if (len > 0 && po0 + len <= PAGE_SIZE) {
      // Fast path: the bytes lie within one page (every signal of up to 4 KiB in an aligned slot).
      const pi = off >>> PAGE_SHIFT;
      let page = r.pages[pi];
      if (!page) page = r.pages[pi] = new Uint8Array(PAGE_SIZE);
      page.set(data, po0);
      if (this.watcher) this.watcher(addr, len);
      return;
    }
    let done = 0;
    while (done < len) {
      const pi = off >>> PAGE_SHIFT;
      const po = off & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - po, len - done);
      let page = r.pages[pi];
      if (!page) page = r.pages[pi] = new Uint8Array(PAGE_SIZE);
      page.set(data.subarray(done, done + n), po);
      done += n;
      off += n;
    }
    if (this.watcher) this.watcher(addr, len);
  }

  fill(addr: number, len: number, value = 0): void {
    this.write(addr, new Uint8Array(len).fill(value));
  }

  // Scalar accessors. Fast path: the value lies within one page.
  private byteAt(r: Region, off: number): number {
    const page = r.pages[off >>> PAGE_SHIFT];
    return page ? page[off & (PAGE_SIZE - 1)] : 0;
  }

  readU8(addr: number): number {
    const r = this.need(addr, 1);
    return this.byteAt(r, addr - r.base);
  }

  readU16(addr: number): number {
    const r = this.need(addr, 2);
    const o = addr - r.base;
    return this.byteAt(r, o) | (this.byteAt(r, o + 1) << 8);
  }

  readU32(addr: number): number {
    const r = this.need(addr, 4);
    const o = addr - r.base;
    const page = r.pages[o >>> PAGE_SHIFT];
    const po = o & (PAGE_SIZE - 1);
    if (po <= PAGE_SIZE - 4) {
      if (!page) return 0;
      return (page[po] | (page[po + 1] << 8) | (page[po + 2] << 16)) + page[po + 3] * 0x1000000;
    }
    return (this.byteAt(r, o) | (this.byteAt(r, o + 1) << 8) | (this.byteAt(r, o + 2) << 16)) + this.byteAt(r, o + 3) * 0x1000000;
  }

  /** u64 as a JS number; exact below 2^53 (counters, addresses). Use readU64Big for full range. */
  readU64(addr: number): number {
    const r = this.regionOf(addr, 8);
    if (r) {
      // Fast path: all 8 bytes mapped and within one page.
      const o = addr - r.base;
      const po = o & (PAGE_SIZE - 1);
      if (po <= PAGE_SIZE - 8) {
        const page = r.pages[o >>> PAGE_SHIFT];
        if (!page) return 0;
        return (
          (page[po] | (page[po + 1] << 8) | (page[po + 2] << 16)) +
          page[po + 3] * 0x1000000 +
          ((page[po + 4] | (page[po + 5] << 8) | (page[po + 6] << 16)) + page[po + 7] * 0x1000000) * 0x100000000
        );
      }
    }
    return this.readU32(addr) + this.readU32(addr + 4) * 0x100000000;
  }

  readU64Big(addr: number): bigint {
    return BigInt(this.readU32(addr)) | (BigInt(this.readU32(addr + 4)) << 32n);
  }

  writeU8(addr: number, v: number): void {
    this.write(addr, Uint8Array.of(v & 0xff));
  }

  writeU16(addr: number, v: number): void {
    this.write(addr, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }

  writeU32(addr: number, v: number): void {
    const r = this.need(addr, 4);
    const o = addr - r.base;
    const po = o & (PAGE_SIZE - 1);
    if (po <= PAGE_SIZE - 4) {
      const pi = o >>> PAGE_SHIFT;
      let page = r.pages[pi];
      if (!page) page = r.pages[pi] = new Uint8Array(PAGE_SIZE);
      page[po] = v & 0xff;
      page[po + 1] = (v >>> 8) & 0xff;
      page[po + 2] = (v >>> 16) & 0xff;
      page[po + 3] = (v >>> 24) & 0xff;
      if (this.watcher) this.watcher(addr, 4);
      return;
    }
    this.write(addr, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  }

  writeU64(addr: number, v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
      // Fast path for counters and addresses: no BigInt, no temporary buffer.
      const r = this.need(addr, 8);
      const o = addr - r.base;
      const po = o & (PAGE_SIZE - 1);
      if (po <= PAGE_SIZE - 8) {
        const pi = o >>> PAGE_SHIFT;
        let page = r.pages[pi];
        if (!page) page = r.pages[pi] = new Uint8Array(PAGE_SIZE);
        const lo = v >>> 0;
        const hi = Math.floor(v / 0x100000000) >>> 0;
        page[po] = lo & 0xff;
        page[po + 1] = (lo >>> 8) & 0xff;
        page[po + 2] = (lo >>> 16) & 0xff;
        page[po + 3] = lo >>> 24;
        page[po + 4] = hi & 0xff;
        page[po + 5] = (hi >>> 8) & 0xff;
        page[po + 6] = (hi >>> 16) & 0xff;
        page[po + 7] = hi >>> 24;
        if (this.watcher) this.watcher(addr, 8);
        return;
      }
    }
    const big = BigInt.asUintN(64, BigInt(v));
    const lo = Number(big & 0xffffffffn);
    const hi = Number(big >> 32n);
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, lo, true);
    dv.setUint32(4, hi, true);
    this.write(addr, b);
  }

  /** Total bytes of pages actually allocated (for memory benchmarks). */
  residentBytes(): number {
    let n = 0;
    for (const r of this.regions) for (const p of r.pages) if (p) n += PAGE_SIZE;
    return n;
  }
}
