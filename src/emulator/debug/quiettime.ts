/**
 * Quiet time: work that waits until the user has stopped stepping. Moving the checkpoints
 * after every stop costs as much as the step itself, on the same few cores; while the user
 * steps in quick succession that work only delays the next step. So the latest request
 * waits until no new one has come for `ms`, and only the latest one runs (a burst of steps
 * moves the checkpoints once, after it). `flush` runs it now (someone waits for the result);
 * `cancel` drops it (the history it was for is gone).
 */

/** The timer functions (the tests give their own clock). */
export interface QuietTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: QuietTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class QuietTime {
  private pending: (() => void) | undefined;
  private handle: unknown;

  constructor(
    readonly ms: number,
    private readonly timers: QuietTimers = REAL_TIMERS,
  ) {}

  /** Run `work` once nothing new has come for `ms` (it replaces any work still waiting). */
  after(work: () => void): void {
    this.cancel();
    if (this.ms <= 0) return work();
    this.pending = work;
    this.handle = this.timers.set(() => this.flush(), this.ms);
  }

  /** Run the waiting work now, if any. */
  flush(): void {
    const work = this.pending;
    this.cancel();
    work?.();
  }

  /** Drop the waiting work. */
  cancel(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
    this.pending = undefined;
  }

  get waiting(): boolean {
    return this.pending !== undefined;
  }
}
