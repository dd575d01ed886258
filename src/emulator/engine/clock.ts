/**
 * The virtual clock: time is counted in jiffies at HZ ticks per second, and only moves
 * when the model asks it to. Timers fire in (due jiffy, arming order) order, so the
 * same scenario always runs its timers in the same order. No wall clock anywhere.
 *
 * Pending timers sit in one bucket per due jiffy (a calendar queue). Arming order is the
 * order of `seq`, which only grows, so appending to a bucket keeps it sorted: arming and
 * firing cost the same with 16,000 periodic polls as with 16. Only the distinct due
 * jiffies (a handful: the poll periods) are kept in a small heap.
 */
import { MAX_HZ } from '../limits';

/** Default tick rate. With HZ = 1000 one jiffy is 1 ms; the kernel's polls are 1, 10 and 100 jiffies. */
export const DEFAULT_HZ = 1000;

export interface Timer {
  due: number;
  seq: number;
  thread: number;
  label: string;
  /** Called with `arg`: a periodic poll shares one function among its timers instead of a closure each. */
  fn(arg?: unknown): void;
  arg: unknown;
  cancelled: boolean;
  /** The frame the run loop shows while `fn` runs (built once per timer). */
  frame?: { kind: 'timer'; name: string; thread: number };
}

export class Clock {
  jiffies = 0;
  private seq = 0;
  /** Pending timers by due jiffy; each bucket in arming order from `first`. */
  private readonly buckets = new Map<number, Bucket>();
  /** The due jiffies that have a bucket, as a binary min-heap. */
  private readonly dues: number[] = [];
  /** Emptied buckets, reused so that a steady poll allocates nothing. */
  private readonly spare: Bucket[] = [];

  constructor(readonly hz: number = DEFAULT_HZ) {
    if (!Number.isInteger(hz) || hz <= 0 || hz > MAX_HZ) throw new RangeError(`bad HZ ${hz} (1…${MAX_HZ})`);
  }

  msToJiffies(ms: number): number {
    return Math.ceil((ms * this.hz) / 1000);
  }

  jiffiesToMs(j: number): number {
    return (j * 1000) / this.hz;
  }

  /** Arm a one-shot timer `delay` jiffies from now; it runs `fn(arg)`. */
  schedule<A>(delay: number, thread: number, label: string, fn: (arg: A) => void, arg?: A): Timer {
    return this.rearm(this.timer(thread, label, fn, arg), delay);
  }

  /**
   * A timer that is not armed yet (`rearm` arms it). Made ahead of use, many at a time, the
   * timers of a periodic poll lie together in memory, which its run through them rewards.
   */
  timer<A>(thread: number, label: string, fn: (arg: A) => void, arg?: A): Timer {
    return { due: 0, seq: 0, thread, label, fn, arg, cancelled: true };
  }

  /**
   * Arm a timer again `delay` jiffies from now, reusing its object (a periodic poll that
   * re-arms itself after each run). It must not be pending.
   */
  rearm(t: Timer, delay: number): Timer {
    t.due = this.jiffies + Math.max(0, delay);
    t.seq = this.seq++;
    t.cancelled = false;
    this.add(t);
    return t;
  }

  cancel(t: Timer | undefined): void {
    if (t) t.cancelled = true;
  }

  /** The next live timer's due jiffy, or undefined when none is armed. */
  nextDue(): number | undefined {
    const b = this.firstLive();
    return b ? b.due : undefined;
  }

  pendingTimers(): number {
    let n = 0;
    for (const b of this.buckets.values()) for (let i = b.first; i < b.n; i++) if (!b.timers[i].cancelled) n++;
    return n;
  }

  /** Remove and return the earliest live timer due at or before `limit`. */
  popDue(limit: number): Timer | undefined {
    const b = this.firstLive();
    if (!b || b.due > limit) return undefined;
    const t = b.timers[b.first];
    b.timers[b.first++] = undefined as unknown as Timer;
    return t;
  }

  /** The bucket of the earliest due jiffy, its cancelled timers at the front dropped; emptied buckets retired. */
  private firstLive(): Bucket | undefined {
    for (;;) {
      if (this.dues.length === 0) return undefined;
      const b = this.buckets.get(this.dues[0])!;
      while (b.first < b.n && b.timers[b.first].cancelled) b.timers[b.first++] = undefined as unknown as Timer;
      if (b.first < b.n) return b;
      this.retire(b);
    }
  }

  private add(t: Timer): void {
    let b = this.buckets.get(t.due);
    if (!b) {
      b = this.spare.pop() ?? { due: 0, timers: [], first: 0, n: 0 };
      b.due = t.due;
      this.buckets.set(t.due, b);
      heapPush(this.dues, t.due);
    }
    b.timers[b.n++] = t;
  }

  private retire(b: Bucket): void {
    this.buckets.delete(b.due);
    heapPop(this.dues);
    // Every entry was taken (and cleared) on the way: the array keeps its room for the next due jiffy.
    b.n = 0;
    b.first = 0;
    this.spare.push(b);
  }
}

interface Bucket {
  due: number;
  /** The bucket's timers are timers[first..n). */
  timers: Timer[];
  first: number;
  n: number;
}

// A binary min-heap of distinct numbers, sifting a hole instead of swapping pairs.
function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= v) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): void {
  const last = h.pop()!;
  const n = h.length;
  if (!n) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
}
