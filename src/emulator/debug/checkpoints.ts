/**
 * Checkpoints for time travel: standby model workers kept paused at earlier positions of
 * the history. The model is deterministic, so a worker that replays the same scenario
 * (with the same breakpoints and the same interventions at the same positions) to event n
 * is the model as it was at event n. Going back promotes the nearest standby worker at or
 * before the target: it runs forward at most the distance to the target, and the live
 * worker stays where it was until the promoted one arrives (so a cancelled trip changes
 * nothing). Standby workers are placed, while the user is stopped, at the positions a
 * user goes back to: the previous scenario lines and the previous stops. See
 * docs/design.md (Time travel).
 */
import { ModelHost } from './modelhost';
import { QuietTime } from './quiettime';
import type { Pos, PoolFound, PoolJournalEntry, PoolPlan, PoolSeen } from './workerlink';

interface Standby {
  host: ModelHost;
  /** The event it is parked at, or on its way to. */
  target: number;
  parked: boolean;
  /** Park requests (standby, advance) it has not parked for yet: only the last one's position counts. */
  moves: number;
  /** Set while it searches the history for a reverse-continue. */
  scouting?: (found: PoolFound | null) => void;
  /** Where its progress goes while it searches. */
  progress?: (event: string, body: unknown) => void;
  /** Called each time it parks where it was sent (a follower chases the next match). */
  onParked?: () => void;
}

/** What the pool needs from its session: a new worker, and launching it like the live one. */
export interface CheckpointHost {
  newHost(): ModelHost;
  launch(host: ModelHost): Promise<void>;
  /** Tell the user something about the checkpoints (Debug Console). */
  notice(text: string): void;
}

/**
 * Interventions every standby worker (and the pool) keeps a copy of: past this many bytes of
 * written data the checkpoints turn off for the session, and step back re-runs the scenario in
 * the live worker, whose journal alone holds them.
 */
export const MAX_MIRRORED_BYTES = 32 * 1024 * 1024;

/**
 * How long the user must stay at a stop before the checkpoints move behind it: a burst of
 * steps (a held F10, a script) is not slowed by placing checkpoints it walks past at once.
 */
export const CHECKPOINT_QUIET_MS = 100;

function entryBytes(e: PoolJournalEntry): number {
  const data = (e as { bytes?: { length?: number } }).bytes;
  return 64 + (typeof data?.length === 'number' ? data.length : 0);
}

export class Checkpoints {
  private standby: Standby[] = [];
  /** The breakpoint requests in the order the client sent them (a new worker replays them: same ids). */
  private readonly breakpointLog: { cmd: string; args: unknown }[] = [];
  /** The live run's interventions, as its journal has them. */
  private entries: PoolJournalEntry[] = [];
  /** Stop positions of the live run, most recent last (reverse-continue goes back to one of them). */
  private stops: number[] = [];
  private planning: Promise<void> = Promise.resolve();
  /** Turned off for the rest of the session (the interventions grew too large to copy). */
  off = false;
  private mirroredBytes = 0;
  /** Searches of the whole history under way (cancel ends them). */
  private readonly searches = new Set<() => void>();
  private disposed = false;
  /** How trips were made: from a checkpoint, by a new worker from the start, searches by a checkpoint. */
  readonly counts = { promoted: 0, fromStart: 0, scouted: 0 };
  private parkWaiters: (() => void)[] = [];
  /** The placement after the latest stop, waiting for the user to stay there. */
  private readonly quiet = new QuietTime(CHECKPOINT_QUIET_MS);

  constructor(
    private readonly host: CheckpointHost,
    /** How many standby workers at most (each holds a whole model). */
    readonly slots: number,
  ) {}

  /** A new worker, launched like the live one (its launch goes out at once; requests sent after it follow in order). */
  private launched(): { host: ModelHost; launched: Promise<void> } {
    const host = this.host.newHost();
    const launched = this.host.launch(host);
    launched.catch(() => undefined);
    return { host, launched };
  }

  /** Where the standby workers are or are going, now. */
  now(): { event: number; parked: boolean }[] {
    return this.standby.map((s) => ({ event: s.target, parked: s.parked })).sort((a, b) => b.event - a.event);
  }

  /** Where the standby workers are, once every one of them has parked (`visorbus/checkpoints`). */
  async settled(): Promise<{ event: number }[]> {
    this.quiet.flush();
    await this.planning;
    while (this.standby.some((s) => !s.parked && !s.scouting)) await new Promise<void>((r) => this.parkWaiters.push(r));
    return this.standby.map((s) => ({ event: s.target })).sort((a, b) => b.event - a.event);
  }

  private wakeParkWaiters(): void {
    const w = this.parkWaiters;
    this.parkWaiters = [];
    for (const f of w) f();
  }

  /** A set*Breakpoints request the live worker got: every standby worker gets it too. */
  breakpoints(cmd: string, args: unknown): void {
    this.breakpointLog.push({ cmd, args });
    for (const s of this.standby) s.host.request(cmd, args).catch(() => undefined);
  }

  /** An intervention the live worker journaled: standby workers repeat it at its position. */
  journaled(entry: PoolJournalEntry): void {
    if (this.off) return;
    this.mirroredBytes += entryBytes(entry);
    if (this.mirroredBytes > MAX_MIRRORED_BYTES) return this.turnOff();
    this.entries.push(entry);
    for (const s of this.standby) s.host.request('journal/append', { entry }).catch(() => undefined);
  }

  private turnOff(): void {
    this.off = true;
    this.quiet.cancel();
    this.entries = [];
    this.disposeAll();
    this.host.notice(
      `Checkpoints are off for this session: the memory written from the debugger holds more than ${MAX_MIRRORED_BYTES / 2 ** 20} MiB, too much to copy to each checkpoint. Step back re-runs the scenario from the start.\n`,
    );
  }

  /** A restart: the history is gone (and the checkpoints may be on again). */
  forget(): void {
    this.quiet.cancel();
    this.off = false;
    this.mirroredBytes = 0;
    this.entries = [];
    this.stops = [];
    this.disposeAll();
  }

  /**
   * The live worker stopped at `pos`: move standby workers to where the user may go back to,
   * once the user stays there, or at once after a trip back (`now`: the next step back, often
   * right after, needs them behind the new position).
   */
  liveStopped(pos: Pos, lines: number[], now = false): void {
    if (this.disposed || this.off || this.slots <= 0) return;
    if (this.stops[this.stops.length - 1] !== pos.n) this.stops.push(pos.n);
    if (this.stops.length > 64) this.stops.splice(0, this.stops.length - 64);
    const earlierStops = this.stops.filter((n) => n < pos.n).reverse();
    // The previous line first (stepBack), then the previous stop (reverse-continue), alternating.
    const wanted: number[] = [];
    for (let i = 0; wanted.length < this.slots && (i < lines.length || i < earlierStops.length); i++) {
      for (const n of [lines[i], earlierStops[i]]) if (n !== undefined && n > 0 && !wanted.includes(n) && wanted.length < this.slots) wanted.push(n);
    }
    this.quiet.after(() => {
      this.planning = this.planning.then(() => this.place(wanted)).catch(() => undefined);
    });
    if (now) this.quiet.flush();
  }

  private place(wanted: number[]): void {
    if (this.disposed) return;
    const free = new Set(this.standby.filter((s) => !s.scouting));
    for (const n of wanted) {
      const there = [...free].find((s) => s.target === n);
      if (there) {
        free.delete(there);
        continue;
      }
      // The nearest free worker before n moves up to it; otherwise a new one replays from the start.
      const from = [...free].filter((s) => s.target < n && !wanted.includes(s.target)).sort((a, b) => b.target - a.target)[0];
      if (from) {
        free.delete(from);
        this.advance(from, n);
      } else if (this.standby.length < this.slots) this.create(n);
    }
    // More than the slots (a follower that was not promoted): the unused ones go.
    for (const s of free) if (this.standby.length > this.slots) this.drop(s);
  }

  /** A standby worker moves up to event n (it replays only the distance) and parks there. */
  private advance(s: Standby, n: number): void {
    s.target = n;
    s.parked = false;
    s.moves++;
    s.host.request('pool/advance', { plan: gotoPlan({ n, w: 0 }) }).catch(() => this.drop(s));
  }

  /**
   * A new worker, launched like the live one, given the breakpoint requests in the client's
   * order and then `request`. All are sent at once, in order: a request sent later (a
   * promotion) reaches the worker after them. Resolves when all are answered.
   */
  private startWorker(host: ModelHost, launched: Promise<void>, cmd: string, args: unknown): Promise<unknown[]> {
    return Promise.all([launched, ...this.breakpointLog.map((b) => host.request(b.cmd, b.args)), host.request(cmd, args)]);
  }

  /** A new standby worker replays from the start to n. It counts as a checkpoint at once: a trip may pick it before it parks. */
  private create(n: number): Standby {
    const { host, launched } = this.launched();
    const s: Standby = { host, target: n, parked: false, moves: 1 };
    this.standby.push(s);
    host.attach({ event: (e, b) => this.standbyEvent(s, e, b), gone: () => this.drop(s) });
    this.startWorker(host, launched, 'pool/standby', { target: { n, w: 0 }, entries: this.entries }).catch(() => this.drop(s));
    return s;
  }

  private standbyEvent(s: Standby, event: string, body: unknown): void {
    if (event === 'pool/parked') {
      const at = (body as { pos: Pos }).pos.n;
      if (s.scouting) return;
      if (--s.moves > 0) return;
      s.moves = 0;
      // A worker that parked anywhere else (the run ended first) is no checkpoint.
      if (at !== s.target) this.drop(s);
      else s.parked = true;
      this.wakeParkWaiters();
      if (s.parked) s.onParked?.();
    } else if (event.startsWith('progress') && s.scouting) s.progress?.(event, body);
    else if (event === 'pool/scouted' && s.scouting) {
      const done = s.scouting;
      s.scouting = undefined;
      done((body as { found: PoolFound | null }).found);
    }
  }

  private drop(s: Standby): void {
    if (!this.standby.includes(s) && !s.host.alive) return;
    this.standby = this.standby.filter((x) => x !== s);
    s.scouting?.(null);
    void s.host.dispose();
    this.wakeParkWaiters();
  }

  /** The standby worker nearest before event n (inclusive), if any. */
  private nearest(n: number): Standby | undefined {
    return this.standby.filter((s) => !s.scouting && s.target <= n).sort((a, b) => b.target - a.target)[0];
  }

  /**
   * Search the history before `plan.limit` with the nearest standby worker: the last match
   * in its part of the history, or null (the match, if any, lies before it). Undefined when
   * no worker can search. The scout is spent: it ends at the limit.
   */
  async scout(
    plan: PoolPlan & { phase: 'find' },
    cancelled: () => boolean,
    progress: (event: string, body: unknown) => void,
  ): Promise<PoolFound | null | undefined> {
    const s = this.nearest(plan.limit.n - 1);
    if (!s) return undefined;
    this.counts.scouted++;
    const found = await new Promise<PoolFound | null>((resolve) => {
      s.scouting = resolve;
      s.progress = progress;
      s.host.request('pool/scout', { plan }).catch(() => this.drop(s));
    });
    this.drop(s);
    return cancelled() ? null : found;
  }

  /**
   * The worker that will carry out `plan` (a goto): the nearest standby worker at or before
   * its target, promoted; otherwise a new worker that replays from the start. It leaves the
   * pool; `arrived` tells the pool where the live run now is.
   */
  async traveller(plan: PoolPlan, listen: (host: ModelHost) => void, seen?: PoolSeen): Promise<ModelHost> {
    const target = plan.phase === 'goto' ? plan.target.n : -1;
    const s = target >= 0 ? this.nearest(target) : undefined;
    if (s) {
      this.standby = this.standby.filter((x) => x !== s);
      this.counts.promoted++;
      listen(s.host);
      await s.host.request('pool/promote', { plan, seen });
      return s.host;
    }
    const { host, launched } = this.launched();
    this.counts.fromStart++;
    try {
      listen(host);
      await this.startWorker(host, launched, 'pool/travel', { plan, entries: this.entries, seen });
    } catch (e) {
      void host.dispose();
      throw e;
    }
    return host;
  }

  /** A cancelled trip: searching workers stop. */
  cancelScouts(): void {
    for (const s of [...this.standby]) if (s.scouting) this.drop(s);
    for (const end of [...this.searches]) end();
  }

  /**
   * Search the whole history before `plan.limit` in one pass: a new worker replays from the
   * start reporting matches as it goes, and a follower (a new standby worker) moves up to
   * the latest one behind it, so that when the search ends the follower is at or just
   * before the last match (`traveller` then promotes it). Both run side by side.
   */
  searchFromStart(plan: PoolPlan & { phase: 'find' }, progress: (event: string, body: unknown) => void): Promise<PoolFound | null> {
    const { host, launched } = this.launched();
    let follower: Standby | undefined;
    let latest: PoolFound | undefined;
    const chase = (): void => {
      if (!latest) return;
      if (!follower) {
        follower = this.create(latest.pos.n);
        follower.onParked = chase;
      } else if (follower.parked && follower.target < latest.pos.n && this.standby.includes(follower)) this.advance(follower, latest.pos.n);
    };
    return new Promise<PoolFound | null>((resolve) => {
      const end = (found: PoolFound | null): void => {
        this.searches.delete(cancel);
        void host.dispose();
        resolve(found);
      };
      const cancel = (): void => {
        if (follower) this.drop(follower);
        end(null);
      };
      this.searches.add(cancel);
      this.counts.scouted++;
      host.attach({
        event: (e, b) => {
          if (e.startsWith('progress')) progress(e, b);
          else if (e === 'pool/match') {
            latest = (b as { found: PoolFound }).found;
            chase();
          } else if (e === 'pool/scouted') end((b as { found: PoolFound | null }).found);
        },
        gone: () => end(null),
      });
      this.startWorker(host, launched, 'pool/standby', { plan, entries: this.entries }).catch(() => end(null));
    });
  }

  /** A trip ended at `pos`: standby workers past it are of no use, the interventions after it are gone. */
  arrived(pos: Pos): void {
    // A placement still waiting was for the history the trip left.
    this.quiet.cancel();
    if (this.off) return;
    this.entries = this.entries.filter((e) => e.pos.n < pos.n || (e.pos.n === pos.n && e.pos.w <= pos.w));
    this.stops = this.stops.filter((n) => n <= pos.n);
    for (const s of [...this.standby]) {
      if (s.target > pos.n) this.drop(s);
      else s.host.request('journal/truncate', { pos }).catch(() => undefined);
    }
  }

  private disposeAll(): void {
    for (const s of [...this.standby]) this.drop(s);
  }

  dispose(): void {
    this.disposed = true;
    this.quiet.cancel();
    this.disposeAll();
  }

  /** Memory the standby workers hold (heap of each), for the benchmark and the status. */
  async memory(): Promise<number> {
    let bytes = 0;
    for (const s of this.standby) bytes += await s.host.heapBytes();
    return bytes;
  }
}

export function gotoPlan(target: Pos): PoolPlan {
  return { phase: 'goto', target, info: { reason: 'step', description: 'checkpoint' }, label: 'Checkpoint' };
}
