/**
 * The virtual clock: time is counted in jiffies at HZ ticks per second, and only moves
 * when the model asks it to. Timers fire in (due jiffy, arming order) order, so the
 * same scenario always runs its timers in the same order. No wall clock anywhere.
 */

/** Default tick rate. With HZ = 1000 one jiffy is 1 ms; the kernel's polls are 1, 10 and 100 jiffies. */
export const DEFAULT_HZ = 1000;

export interface Timer {
  due: number;
  seq: number;
  thread: number;
  label: string;
  fn: () => void;
  cancelled: boolean;
}

export class Clock {
  jiffies = 0;
  private heap: Timer[] = [];
  private seq = 0;

  constructor(readonly hz: number = DEFAULT_HZ) {
    if (!Number.isInteger(hz) || hz <= 0) throw new RangeError(`bad HZ ${hz}`);
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

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
