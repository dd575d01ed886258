/**
 * The stop hook and the write watcher: at every event boundary (and every watched memory
 * write) of the running model, the output and bookkeeping every event needs, then whether
 * to stop there (a breakpoint, a data breakpoint, a pause, the end of a step). Stopping
 * itself is the host's (controller.ts).
 */
import type { ScenarioRun } from '../../scenario/runner';
import type { VisorDriver } from '../../visorbus/driver';
import { printable } from '../../protocol/printable';
import { EmuEvent, Frame, threadName } from '../../engine/events';
import { formatEvent } from '../../host/report';
import type { WorkerRequest } from '../workerlink';
import type { LaunchArguments } from '../contract';
import type { Ctx, ResumeAction } from './requesttable';
import type { Link } from './link';
import type { BreakpointBook } from './breakpointbook';
import type { Journal, RunPlan } from './journal';
import type { Timeline } from './timeline';
import type { Role } from './standby';
import { markReplayed, Output } from './output';
import { wrapCallbacks } from './stack';
import { Mode, StopInfo } from './stopstate';
import { AbortRun, internalText } from './abortrun';

/** What the hook needs of the worker it serves. */
export interface HookHost {
  readonly link: Link;
  readonly out: Output;
  readonly book: BreakpointBook;
  readonly journal: Journal;
  readonly timeline: Timeline;
  readonly run: ScenarioRun | undefined;
  readonly opts: LaunchArguments | undefined;
  readonly role: Role;
  /** How the run goes on: the hook ends steps and "stop on entry". */
  mode: Mode;
  /** Set while a run is being abandoned: nothing more may happen in it. */
  readonly aborting: AbortRun | undefined;
  /** A plan asked for while running, carried out at the next boundary (once). */
  takeAbortAfterDrain(): RunPlan | undefined;
  abort(plan: RunPlan): never;
  handle(req: WorkerRequest, ctx: Ctx): ResumeAction | undefined;
  stopHere(info: StopInfo, ev: EmuEvent | undefined): void;
}

/** Output of an event seen for the first time: as it is (one function, not one per event). */
const asIs = (t: string): string => t;

export class EventHook {
  /** Internal errors already reported (once each). */
  private readonly warned = new Set<string>();
  /** The event number of each driver activation's `call` event. */
  private readonly callNs = new WeakMap<Frame, number>();

  constructor(private readonly host: HookHost) {}

  /** The `call` event number of a driver activation (-1: not seen). */
  callN(act: Frame): number {
    return this.callNs.get(act) ?? -1;
  }

  onEvent(ev: EmuEvent, frames: readonly Frame[]): void {
    if (this.host.aborting) throw this.host.aborting;
    try {
      this.eventBoundary(ev, frames);
    } catch (e) {
      if (e instanceof AbortRun) throw e;
      this.ownError(e);
    }
  }

  /** A bug in the debugger itself must not reach the model (a driver's caller would take it for the driver's). */
  private ownError(e: unknown): void {
    const key = `own:${e instanceof Error ? e.message : String(e)}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.host.out.output('stderr', `Internal error in the debug adapter (the run goes on): ${internalText(e)}\n`);
  }

  private eventBoundary(ev: EmuEvent, frames: readonly Frame[]): void {
    const h = this.host;
    this.common(ev, frames);
    if (h.journal.passive) return;
    h.timeline.note(ev, frames);
    h.journal.atEvent(ev);
    if (ev.kind === 'call') this.callNs.set(frames[frames.length - 1], ev.n);
    if (h.journal.replaying) {
      if (h.role === 'live' && h.link.pauseRequested()) return this.cancelReplay(ev);
      return h.journal.replayEvent(ev, frames);
    }
    if ((h.out.countEvent() & 255) === 0) h.out.tick();
    if (h.link.pending()) this.drainRunning();
    const plan = h.takeAbortAfterDrain();
    if (plan) h.abort(plan);
    if (h.mode.kind === 'free') return;
    this.decide(ev, frames);
  }

  /** What every event does, stopped or not: output, driver wrapping, bookkeeping. */
  private common(ev: EmuEvent, frames: readonly Frame[]): void {
    const h = this.host;
    if (h.journal.replaying) return;
    const line = frames.length && frames[0].kind === 'scenario' ? frames[0].line : undefined;
    const mark = h.journal.ranBefore(ev.n) ? markReplayed : asIs;
    if (h.opts?.trace) h.out.output('console', mark(`${formatEvent(ev, h.run!.emu.engine.clock.hz)}  [${threadName(ev.thread)}]\n`), line);
    // Kernel log lines are 'log' and 'error' events (Engine.klog); other events' data is not looked at.
    if ((ev.kind === 'log' || ev.kind === 'error') && typeof ev.data?.level === 'string') {
      const lines = h.run!.emu.engine.klogLines;
      const text = lines[lines.length - 1];
      if (text !== undefined) h.out.output(ev.data.level === 'err' ? 'stderr' : 'stdout', mark(printable(text) + '\n'), line);
    } else if (ev.kind === 'uevent') h.out.output('console', mark(`uevent: ${printable(ev.text)}\n`), line);
  }

  /** Record what a driver throws (its stack shows the throwing line); the model itself catches it. */
  wrapDriver(drv: VisorDriver): void {
    wrapCallbacks(drv, (e) => {
      if (!(e instanceof AbortRun)) this.host.book.noteThrow(e);
    });
  }

  onWrite(addr: number, len: number): void {
    const h = this.host;
    if (h.aborting || !h.run) return;
    if (h.journal.passive) {
      h.journal.collect(addr, len);
      return;
    }
    try {
      this.memoryWrite(addr, len);
    } catch (e) {
      if (e instanceof AbortRun) throw e;
      this.ownError(e);
    }
  }

  private memoryWrite(addr: number, len: number): void {
    const h = this.host;
    h.journal.writeSeq++;
    if (h.journal.replaying) return h.journal.replayWrite(addr, len);
    if (!h.book.dataBps.length || h.mode.kind === 'free') return;
    const hit = h.book.checkDataBps(addr, len, false);
    if (!hit) return;
    h.journal.noteHit({ n: h.run!.emu.engine.log.count, w: h.journal.writeSeq }, hit);
    h.stopHere(hit, undefined);
  }

  /** Requests that arrive while running are answered at the next event boundary. */
  private drainRunning(): void {
    for (;;) {
      const req = this.host.link.poll();
      if (!req) return;
      this.host.handle(req, 'running');
    }
  }

  private decide(ev: EmuEvent, frames: readonly Frame[]): void {
    const h = this.host;
    // The first line ends "stop on entry" even when a breakpoint there is the reason shown.
    const entry = h.mode.kind === 'entry' && ev.kind === 'step';
    if (entry) h.mode = { kind: 'continue' };
    const bp = h.book.checkBreakpoints(ev, frames, false);
    if (bp) {
      h.journal.noteHit({ n: ev.n, w: 0 }, bp);
      return h.stopHere(bp, ev);
    }
    if (h.link.pauseRequested()) {
      h.link.clearPause();
      return h.stopHere({ reason: 'pause', description: `Paused at ${eventText(ev)}` }, ev);
    }
    if (entry) return h.stopHere({ reason: 'entry', description: `Stopped on entry: ${ev.text}` }, ev);
    const m = h.mode;
    if (m.kind === 'step' && m.pred(ev, frames)) {
      h.mode = { kind: 'continue' };
      return h.stopHere({ reason: 'step', description: eventText(ev) }, ev);
    }
  }

  /** Pause (or cancel) while replaying in this worker: stop where the replay is. */
  private cancelReplay(ev: EmuEvent): void {
    this.host.link.clearPause();
    this.host.journal.cancelReplay({ n: ev.n, w: 0 });
    this.host.stopHere({ reason: 'pause', description: `Cancelled on the way back: stopped at event ${ev.n}` }, ev);
  }
}

export function eventText(ev: EmuEvent | undefined): string {
  if (!ev) return 'the end of the scenario';
  return `${ev.text} (event ${ev.n})`;
}
