/**
 * The timeline of a run: the landmarks of its history (scenario lines, controlvm responses,
 * probes, pauses/resumes, failures, breakpoint hits), recorded from the controller's event
 * hook as the run first reaches them, paged out by `visorbus/timeline`, and the plan that
 * `visorbus/goto` carries out to travel to one of them. Types of the requests and events are
 * in ../contract.ts; the store and what it drops are in landmarks.ts. See docs/design.md.
 */
import type { ScenarioRun } from '../../scenario/runner';
import type { EmuEvent, Frame } from '../../engine/events';
import type { GotoArguments, LandmarkKind, Landmark, TimelineArguments, TimelineEventBody, TimelineResponseBody } from '../contract';
import type { Link } from './link';
import type { RunPlan } from './journal';
import { exceptionFiltersOf } from './breakpoints';
import { LandmarkStore, Mark, StoreDump } from './landmarks';
import { StopState, UserError } from './stopstate';

/** Every kind, in the order the timeline lists them (the record makes the list complete). */
const KIND_ORDER: Record<LandmarkKind, number> = {
  line: 0,
  controlvm: 1,
  probe: 2,
  pauseResume: 3,
  interruptFailure: 4,
  driverError: 5,
  breakpoint: 6,
  expect: 7,
};
export const LANDMARK_KINDS = Object.keys(KIND_ORDER) as LandmarkKind[];

/** Landmarks kept of each kind (the newest); about 100 bytes each. */
export const KIND_CAPACITY = 10000;
const MAX_PAGE = 1000;
/** At most one `visorbus/timeline` event per this many ms while running. */
const NOTICE_MS = 500;
const STOP_REASONS = new Set(['breakpoint', 'function breakpoint', 'data breakpoint', 'exception']);

/** The landmark an event is, if any. */
export function landmarkKind(ev: EmuEvent, frames: readonly Frame[]): LandmarkKind | undefined {
  switch (ev.kind) {
    case 'step':
      return 'line';
    case 'response':
      return 'controlvm';
    case 'call': {
      const cb = ev.data?.callback;
      if (cb === 'probe') return 'probe';
      return cb === 'pause' || cb === 'resume' ? 'pauseResume' : undefined;
    }
    case 'error':
      if (ev.data?.category === 'expect') return 'expect';
      if (ev.data?.category === 'controlvm' || ev.data?.category === 'overflow') return undefined;
      return exceptionFiltersOf(ev, frames).includes('channelInterrupt') ? 'interruptFailure' : 'driverError';
    case 'return':
    case 'complete':
    case 'channel': {
      const f = exceptionFiltersOf(ev, frames);
      if (f.includes('channelInterrupt')) return 'interruptFailure';
      return f.length ? 'driverError' : undefined;
    }
    default:
      return undefined;
  }
}

/** What the timeline needs from the session (the controller). */
/** The recorded history a worker hands to the one that takes over from it. */
export interface TimelineHandOver {
  store: StoreDump;
  reached: number;
  firstLine: number | undefined;
}

export interface TimelineHost {
  readonly link: Link;
  readonly run: ScenarioRun | undefined;
  readonly detached: boolean;
}

export class Timeline {
  private readonly store: LandmarkStore;
  /** The furthest event the run has reached: later events are new history, earlier ones a replay. */
  private reached = 0;
  private firstLine: number | undefined;
  private unannounced = false;
  private lastNotice = 0;

  constructor(
    private readonly host: TimelineHost,
    capacity = KIND_CAPACITY,
  ) {
    this.store = new LandmarkStore(LANDMARK_KINDS, capacity);
  }

  /** A new scenario or a restart: the history starts again. */
  reset(): void {
    this.store.clear();
    this.reached = 0;
    this.firstLine = undefined;
    this.unannounced = true;
  }

  /** Every event that is not the debugger's own (one call from the hook). */
  note(ev: EmuEvent, frames: readonly Frame[]): void {
    const kind = landmarkKind(ev, frames);
    if (ev.n > this.reached) {
      this.reached = ev.n;
      if (kind) this.add(kind, ev, frames);
      return;
    }
    // Again through history already recorded (a replay, or running on after travelling
    // back): the same landmarks come back unless an intervention changed the course.
    if (!kind || !this.store.covers(kind, ev.n)) return;
    const had = this.store.find(kind, ev.n);
    if (had && had.text === ev.text) return;
    this.store.truncateFrom(ev.n);
    this.reached = ev.n;
    this.add(kind, ev, frames);
  }

  /** A stop: breakpoint hits are landmarks too. */
  noteStop(st: StopState): void {
    if (!STOP_REASONS.has(st.reason) || !this.host.run) return;
    const line = st.frames.find((f) => f.kind === 'scenario')?.line;
    this.store.insert('breakpoint', { n: st.pos.n, jiffies: this.host.run.emu.engine.jiffies, text: st.description, line, thread: st.threadId });
    this.unannounced = true;
  }

  private add(kind: LandmarkKind, ev: EmuEvent, frames: readonly Frame[]): void {
    if (kind === 'line') this.firstLine ??= ev.n;
    const line = frames.length && frames[0].kind === 'scenario' ? frames[0].line : undefined;
    const m: Mark = { n: ev.n, jiffies: ev.jiffies, text: ev.text, line, thread: ev.thread };
    this.store.push(kind, m);
    this.unannounced = true;
  }

  /** While running (every few hundred events): tell the client about new landmarks, throttled. */
  tick(now: number): void {
    if (!this.unannounced || now - this.lastNotice < NOTICE_MS || this.host.detached) return;
    this.unannounced = false;
    this.lastNotice = now;
    const body: TimelineEventBody = { total: this.store.kept, reached: this.reached };
    this.host.link.event('visorbus/timeline', body);
  }

  /** The recorded history, for the worker that takes over from this one (a trip through checkpoints). */
  handOver(): TimelineHandOver {
    return { store: this.store.dump(), reached: this.reached, firstLine: this.firstLine };
  }

  /** Take over the history a previous worker recorded: it reaches further than this one has run. */
  adopt(d: TimelineHandOver): void {
    if (!d.store || typeof d.reached !== 'number' || d.reached < this.reached) return;
    this.store.load(d.store);
    this.reached = d.reached;
    this.firstLine = d.firstLine;
    this.unannounced = true;
    this.lastNotice = 0;
    this.tick(Date.now());
  }

  /** `visorbus/timeline`: one page of the landmarks, oldest first. */
  page(args: TimelineArguments): TimelineResponseBody {
    const start = args.start ?? 0;
    const count = args.count ?? 200;
    if (!Number.isInteger(start) || start < 0) throw new UserError(`visorbus/timeline: "start" must be a whole number >= 0, not ${JSON.stringify(args.start)}`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_PAGE)
      throw new UserError(`visorbus/timeline: "count" must be a whole number from 1 to ${MAX_PAGE}, not ${JSON.stringify(args.count)}`);
    if (args.text !== undefined && typeof args.text !== 'string')
      throw new UserError(`visorbus/timeline: "text" must be a string, not ${JSON.stringify(args.text)}`);
    const kinds = this.kindsOf(args.filter);
    const needle = args.text?.toLowerCase();
    const all = this.store.select(kinds, needle ? (m) => m.text.toLowerCase().includes(needle) : () => true);
    const landmarks = all.slice(start, start + count).map((m) => this.present(m, m.kind));
    return { total: all.length, start, landmarks, seen: this.store.seen(), dropped: this.store.dropped, reached: this.reached };
  }

  private kindsOf(filter: unknown): LandmarkKind[] {
    if (filter === undefined) return LANDMARK_KINDS;
    if (!Array.isArray(filter)) throw new UserError(`visorbus/timeline: "filter" must be an array of landmark kinds (${LANDMARK_KINDS.join(', ')})`);
    for (const k of filter) {
      if (typeof k !== 'string' || !(k in KIND_ORDER))
        throw new UserError(`visorbus/timeline: unknown landmark kind ${JSON.stringify(k)} in "filter" (kinds: ${LANDMARK_KINDS.join(', ')})`);
    }
    return LANDMARK_KINDS.filter((k) => filter.includes(k));
  }

  private present(m: Mark, kind: LandmarkKind): Landmark {
    const clock = this.host.run?.emu.engine.clock;
    const ms = clock ? clock.jiffiesToMs(m.jiffies) : 0;
    return { event: m.n, kind, jiffies: m.jiffies, ms, text: m.text, ...(m.line !== undefined ? { line: m.line } : {}), threadId: m.thread };
  }

  /** `visorbus/goto`: a replay that stops at the event (before or after the current position). */
  gotoPlan(a: GotoArguments): RunPlan {
    const n: unknown = a.event;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new UserError(`visorbus/goto: "event" must be an event number, not ${JSON.stringify(n)}`);
    const first = this.firstLine;
    if (first === undefined || n < first || n > this.reached) {
      throw new UserError(
        `visorbus/goto: event ${n} is outside the recorded history (${first === undefined ? 'no scenario line has run yet' : `events ${first} to ${this.reached}`})`,
      );
    }
    const mark = this.store.findAny(n);
    return {
      build: true,
      mode: { kind: 'continue' },
      replay: {
        phase: 'goto',
        target: { n, w: 0 },
        info: { reason: 'goto', description: `Went to event ${n}${mark ? `: ${mark.text}` : ''}` },
        label: `Go to event ${n}`,
      },
    };
  }
}
