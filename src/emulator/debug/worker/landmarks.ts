/**
 * The bounded store behind the timeline: one ring per landmark kind, each in event order.
 * A ring keeps the newest `capacity` landmarks of its kind and counts the ones it drops,
 * so a flood of one kind (scenario lines of a long loop) never pushes out the rare ones
 * (driver errors, failed expects), and memory stays flat however long the run is.
 */
import type { LandmarkKind } from '../contract';

/** One landmark as stored (the kind is the ring's). */
export interface Mark {
  n: number;
  jiffies: number;
  text: string;
  line: number | undefined;
  thread: number;
}

/** Landmarks of one kind, oldest first, at most `capacity` of them. */
class KindRing {
  private items: (Mark | undefined)[] = [];
  private head = 0;
  size = 0;
  seen = 0;
  dropped = 0;

  constructor(private readonly capacity: number) {}

  at(i: number): Mark {
    return this.items[(this.head + i) % this.capacity]!;
  }

  /** Append a landmark later than every kept one. */
  push(m: Mark): void {
    this.seen++;
    if (this.size < this.capacity) {
      this.items[(this.head + this.size) % this.capacity] = m;
      this.size++;
      return;
    }
    this.items[this.head] = m;
    this.head = (this.head + 1) % this.capacity;
    this.dropped++;
  }

  /** Index of the first kept landmark at or after event n. */
  lowerBound(n: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether event n lies in the span this ring still holds (older landmarks may have been dropped). */
  covers(n: number): boolean {
    return this.dropped === 0 || (this.size > 0 && this.at(0).n <= n);
  }

  find(n: number): Mark | undefined {
    const i = this.lowerBound(n);
    return i < this.size && this.at(i).n === n ? this.at(i) : undefined;
  }

  /** Insert at its place in event order (breakpoint hits found again after travelling back). */
  insert(m: Mark): void {
    if (this.find(m.n)) return;
    if (!this.size || this.at(this.size - 1).n < m.n) return this.push(m);
    const all = this.toArray();
    all.splice(this.lowerBound(m.n), 0, m);
    this.seen++;
    this.rebuild(all.length > this.capacity ? (this.dropped++, all.slice(1)) : all);
  }

  /** Forget the landmarks at or after event n (the history after n changed). */
  truncateFrom(n: number): void {
    const keep = this.lowerBound(n);
    for (let i = keep; i < this.size; i++) this.items[(this.head + i) % this.capacity] = undefined;
    this.seen -= this.size - keep;
    this.size = keep;
  }

  /** Take over another ring's contents and counts (a promoted worker adopting the history). */
  load(marks: Mark[], seen: number, dropped: number): void {
    this.rebuild(marks.slice(-this.capacity));
    this.seen = seen;
    this.dropped = dropped + Math.max(0, marks.length - this.capacity);
  }

  toArray(): Mark[] {
    const out: Mark[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.at(i));
    return out;
  }

  private rebuild(marks: Mark[]): void {
    this.items = marks.slice();
    this.head = 0;
    this.size = marks.length;
  }
}

export interface MarkOf extends Mark {
  kind: LandmarkKind;
}

/** A store's contents, as one worker hands them to another. */
export interface StoreDump {
  kinds: { kind: LandmarkKind; marks: Mark[]; seen: number; dropped: number }[];
}

export class LandmarkStore {
  private readonly rings = new Map<LandmarkKind, KindRing>();

  constructor(
    private readonly kinds: readonly LandmarkKind[],
    private readonly capacity: number,
  ) {
    this.clear();
  }

  clear(): void {
    for (const k of this.kinds) this.rings.set(k, new KindRing(this.capacity));
  }

  private ring(kind: LandmarkKind): KindRing {
    return this.rings.get(kind)!;
  }

  push(kind: LandmarkKind, m: Mark): void {
    this.ring(kind).push(m);
  }

  insert(kind: LandmarkKind, m: Mark): void {
    this.ring(kind).insert(m);
  }

  find(kind: LandmarkKind, n: number): Mark | undefined {
    return this.ring(kind).find(n);
  }

  covers(kind: LandmarkKind, n: number): boolean {
    return this.ring(kind).covers(n);
  }

  /** Any kept landmark at event n. */
  findAny(n: number): MarkOf | undefined {
    for (const [kind, r] of this.rings) {
      const m = r.find(n);
      if (m) return { ...m, kind };
    }
    return undefined;
  }

  truncateFrom(n: number): void {
    for (const r of this.rings.values()) r.truncateFrom(n);
  }

  dump(): StoreDump {
    return { kinds: [...this.rings].map(([kind, r]) => ({ kind, marks: r.toArray(), seen: r.seen, dropped: r.dropped })) };
  }

  load(d: StoreDump): void {
    this.clear();
    for (const k of d.kinds) this.rings.get(k.kind)?.load(k.marks, k.seen, k.dropped);
  }

  get kept(): number {
    let s = 0;
    for (const r of this.rings.values()) s += r.size;
    return s;
  }

  get dropped(): number {
    let s = 0;
    for (const r of this.rings.values()) s += r.dropped;
    return s;
  }

  seen(): Record<LandmarkKind, number> {
    const out = {} as Record<LandmarkKind, number>;
    for (const [k, r] of this.rings) out[k] = r.seen;
    return out;
  }

  /** The kept landmarks of `kinds` that pass `keep`, merged in event order. */
  select(kinds: readonly LandmarkKind[], keep: (m: Mark) => boolean): MarkOf[] {
    const lists = kinds.map((kind) =>
      this.ring(kind)
        .toArray()
        .filter(keep)
        .map((m) => ({ ...m, kind })),
    );
    const out: MarkOf[] = [];
    const idx = lists.map(() => 0);
    for (;;) {
      let best = -1;
      for (let i = 0; i < lists.length; i++) if (idx[i] < lists[i].length && (best < 0 || lists[i][idx[i]].n < lists[best][idx[best]].n)) best = i;
      if (best < 0) return out;
      out.push(lists[best][idx[best]++]);
    }
  }
}
