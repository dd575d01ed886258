/**
 * Stops: making one where the model is (its position, frames, level, JavaScript stack),
 * announcing it, and serving the session's requests while stopped until one resumes the
 * run; and when a step from a stop ends (see docs/design.md: next, stepIn, stepOut).
 */
import type { ScenarioRun } from '../../scenario/runner';
import { EmuEvent, Frame, THREAD } from '../../engine/events';
import type { WorkerRequest, WorkerState } from '../workerlink';
import type { Ctx, ResumeAction } from './requesttable';
import type { Link } from './link';
import type { Output } from './output';
import type { Journal } from './journal';
import type { Timeline } from './timeline';
import type { StackView } from './stackview';
import type { Role } from './standby';
import { innermostDriver, innermostDriverIndex } from './stack';
import { captureJsStack } from './jsstack';
import { settleAfterRun } from './heapsettle';
import type { Level, Pos, StopInfo, StopState } from './stopstate';

/** What stopping needs of the worker. */
export interface StopsHost {
  readonly link: Link;
  readonly out: Output;
  readonly journal: Journal;
  readonly timeline: Timeline;
  readonly stack: StackView;
  readonly inspector: { reset(): void };
  readonly run: ScenarioRun | undefined;
  readonly detached: boolean;
  /** When the model last started running (performance.now()). */
  readonly runningSince: number;
  role: Role;
  setState(s: WorkerState): void;
  handle(req: WorkerRequest, ctx: Ctx): ResumeAction | undefined;
}

export class Stops {
  /** The stop being served, if any. */
  current: StopState | undefined;
  private seq = 0;

  constructor(
    private readonly host: StopsHost,
    private readonly calls: { callN(act: Frame): number },
  ) {}

  make(info: StopInfo, ev: EmuEvent | undefined, frames: readonly Frame[], topLevel: boolean): StopState {
    const h = this.host;
    const emu = h.run!.emu;
    // A stop at an event is at that event, even when interventions applied there since emitted events of their own.
    const pos: Pos = ev ? { n: ev.n, w: 0 } : topLevel ? { n: emu.engine.log.count, w: 0 } : { n: emu.engine.log.count, w: h.journal.writeSeq };
    const copy = frames.slice();
    const di = innermostDriverIndex(copy);
    const atReturn = ev?.kind === 'return' && di === copy.length - 1;
    const level: Level = di >= 0 && !atReturn ? { kind: 'driver', act: copy[di], callN: this.calls.callN(copy[di]) } : { kind: 'line' };
    const threadId = ev ? ev.thread : copy.length ? copy[copy.length - 1].thread : THREAD.scenario;
    const activation = di >= 0 ? { act: copy[di], callN: this.calls.callN(copy[di]) } : undefined;
    const sum = h.journal.stopChecksum(emu.engine.log.checksum);
    return { ...info, id: ++this.seq, pos, ev, frames: copy, js: topLevel ? [] : captureJsStack(), threadId, level, activation, topLevel, sum };
  }

  announce(st: StopState, again = false): void {
    this.host.link.event('stopped', {
      reason: st.reason,
      description: st.description,
      threadId: st.threadId,
      allThreadsStopped: true,
      ...(st.text ? { text: st.text } : {}),
      ...(st.hitBreakpointIds?.length ? { hitBreakpointIds: st.hitBreakpointIds } : {}),
      ...(again ? { preserveFocusHint: false } : {}),
    });
  }

  /** Announce the stop, then serve requests until one resumes the run. */
  serve(st: StopState): ResumeAction {
    const h = this.host;
    h.out.endProgress();
    settleAfterRun(performance.now() - h.runningSince);
    this.current = st;
    h.journal.visit(st.pos, st.sum);
    h.timeline.noteStop(st);
    h.out.flushOutput();
    h.stack.announceThreads();
    h.setState('stopped');
    // A traveller's first stop is where it arrived (or the end, when its replay ran out first): it is live from here.
    if (h.role === 'traveller') h.role = 'live';
    if (h.role === 'standby') h.link.event('pool/parked', { pos: st.pos });
    else h.link.event('pool/stop', { pos: st.pos, lines: h.journal.recentLineStarts(st.pos.n, 4) });
    if (!h.detached) this.announce(st);
    h.out.changed('stopped');
    try {
      for (;;) {
        const req = h.link.next();
        const action = h.handle(req, 'stopped');
        if (action) return action;
      }
    } finally {
      this.current = undefined;
      h.inspector.reset();
      h.setState('running');
    }
  }

  /** A standby worker promoted where it is parked: the parked stop becomes the user's stop. */
  promoted(st: StopState): void {
    const h = this.host;
    h.stack.announceThreads();
    h.link.event('pool/stop', { pos: st.pos, lines: h.journal.recentLineStarts(st.pos.n, 4) });
    this.announce(st);
    h.out.changed('stopped');
  }
}

/** When a step from `st` ends (see docs/design.md: next, stepIn, stepOut). */
export function stepPredicate(step: 'next' | 'stepIn' | 'stepOut', st: StopState): (ev: EmuEvent, frames: readonly Frame[]) => boolean {
  const lvl = st.level;
  if (lvl.kind === 'line') {
    if (step === 'stepIn') return (ev) => ev.kind === 'call' || ev.kind === 'step';
    return (ev) => ev.kind === 'step';
  }
  const act = lvl.act;
  const inside = (frames: readonly Frame[]) => innermostDriver(frames) === act;
  switch (step) {
    case 'next':
      return (ev, frames) => ev.kind === 'step' || ((ev.kind === 'channel' || ev.kind === 'return') && inside(frames));
    case 'stepIn':
      return (ev, frames) =>
        ev.kind === 'step' || (ev.kind === 'call' && frames.includes(act)) || ((ev.kind === 'channel' || ev.kind === 'return') && inside(frames));
    case 'stepOut':
      return (ev, frames) => ev.kind === 'step' || (ev.kind === 'return' && frames[frames.length - 1] === act);
  }
}
