/**
 * The virtual clock: time is counted in jiffies at HZ ticks per second, and only moves
 * when the model asks it to. Timers fire in (due jiffy, arming order) order, so the
 * same scenario always runs its timers in the same order. No wall clock anywhere.
 */
import { MAX_HZ } from '../limits';

/** Default tick rate. With HZ = 1000 one jiffy is 1 ms; the kernel's polls are 1, 10 and 100 jiffies. */
export const DEFAULT_HZ = 1000;

export interface Timer {
  due: number;
  seq: number;
  thread: number;
  label: string;
  fn: () => void;
  cancelled: boolean;
  /** The frame the run loop shows while `fn` runs (built once per timer). */
  frame?: { kind: 'timer'; name: string; thread: number };
}

export class Clock {
  jiffies = 0;
  private heap: Timer[] = [];
  private seq = 0;

  constructor(readonly hz: number = DEFAULT_HZ) {
    if (!Number.isInteger(hz) || hz <= 0 || hz > MAX_HZ) throw new RangeError(`bad HZ ${hz} (1…${MAX_HZ})`);
  }

  msToJiffies(ms: number): number {
    return Math.ceil((ms * this.hz) / 1000);
  }

  jiffiesToMs(j: number): number {
    return (j * 1000) / this.hz;
  }

  /** Arm a one-shot timer `delay` jiffies from now. */
  schedule(delay: number, thread: number, label: string, fn: () => void): Timer {
    const t: Timer = { due: this.jiffies + Math.max(0, delay), seq: this.seq++, thread, label, fn, cancelled: false };
    this.push(t);
    return t;
  }

  /**
   * Arm a timer again `delay` jiffies from now, reusing its object (a periodic poll that
   * re-arms itself after each run). It must not be pending.
   */
  rearm(t: Timer, delay: number): Timer {
    t.due = this.jiffies + Math.max(0, delay);
    t.seq = this.seq++;
    t.cancelled = false;
    this.push(t);
    return t;
  }

  cancel(t: Timer | undefined): void {
    if (t) t.cancelled = true;
  }

  /** The next live timer's due jiffy, or undefined when none is armed. */
  nextDue(): number | undefined {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].due : undefined;
  }

  pendingTimers(): number {
    let n = 0;
    for (const t of this.heap) if (!t.cancelled) n++;
    return n;
  }

  /** Remove and return the earliest live timer due at or before `limit`. */
  popDue(limit: number): Timer | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.due > limit) return undefined;
    this.pop();
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  // Binary min-heap on (due, seq). Keys are unique (seq), so the pop order is fully
  // determined by them. Sifting moves a hole instead of swapping pairs: no allocation.
  private push(t: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p];
      if (!this.less(t, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = t;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    const n = h.length;
    if (!n) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}
