/**
 * The worker's stop controller: owns the run and its mode, and serves the session's
 * requests: at the top level, between two events, and while stopped, with the model's
 * whole call context still on the JavaScript stack. Step-back and reverse-continue
 * re-execute the same scenario from the start (deterministic) and stop at the earlier
 * position; see docs/design.md.
 *
 * It coordinates; the parts keep their own state: eventhook.ts (whether to stop at an
 * event or a write), stops.ts (a stop and serving it), runsetup.ts (opening a run),
 * breakpointbook.ts (breakpoints), journal.ts (positions, interventions, replay plans),
 * stackview.ts (threads, frames, sources), output.ts (console output, progress, change
 * events). Each reaches the session through a narrow host interface this class implements.
 */
import * as path from 'node:path';
import { ScenarioRun } from '../../scenario/runner';
import type { Scenario } from '../../scenario/ast';
import { formatDiagnostic } from '../../scenario/parser';
import type { Emulator } from '../../emulator';
import type { EmuEvent } from '../../engine/events';
import type { ClientInfo, WorkerRequest, WorkerState } from '../workerlink';
import type { LaunchArguments } from '../contract';
import type { AttachClientResult, LaunchResult } from '../requests';
import { Ctx, Handler, handlerOf, RequestTable, Resume, ResumeAction } from './requesttable';
import { Link } from './link';
import { requestError } from './requesterror';
import { Inspector } from './inspect';
import { Views } from './views';
import { ReplConsole } from './console';
import { Mode, Pos, StopInfo, StopState, UserError } from './stopstate';
import { Output } from './output';
import { StackView } from './stackview';
import { BreakpointBook } from './breakpointbook';
import { Found, Journal, JournalEntry, RunPlan } from './journal';
import { MoveArgs, Role, StandbyRole, StartArgs } from './standby';
import { Timeline } from './timeline';
import { AbortRun, internalText } from './abortrun';
import { EventHook } from './eventhook';
import { Stops, stepPredicate } from './stops';
import { disposeRun, normalizeOpts, openRun, readScenario, startRun } from './runsetup';
import { AT_END_MESSAGE, endStopInfo, faultStopInfo, lastLineFrames, runSummary } from './endofrun';

export class Controller {
  // ---- session -------------------------------------------------------------------------
  client: ClientInfo = {};
  opts: LaunchArguments | undefined;
  scenario: Scenario | undefined;
  run: ScenarioRun | undefined;
  state: WorkerState = 'idle';
  readonly inspector: Inspector;
  readonly views: Views;
  readonly repl: ReplConsole;
  readonly out: Output;
  readonly stack: StackView;
  readonly book: BreakpointBook;
  readonly journal: Journal;
  readonly timeline: Timeline;

  // ---- execution ------------------------------------------------------------------------
  mode: Mode = { kind: 'continue' };
  aborting: AbortRun | undefined;
  private abortAfterDrain: RunPlan | undefined;
  private faults = 0;
  detached = false;
  /**
   * live: the session's model. standby: a checkpoint kept paused at an earlier position,
   * silent. traveller: a standby (or new) worker on its way to a target; it becomes live
   * when it arrives. See docs/design.md (Time travel).
   */
  role: Role = 'live';
  readonly standby: StandbyRole;
  private readonly table: RequestTable = this.requestTable();
  private readonly hook = new EventHook(this);
  private readonly stops = new Stops(this, this.hook);

  constructor(readonly link: Link) {
    this.out = new Output(this);
    this.stack = new StackView(this);
    this.book = new BreakpointBook(this, this.out, this.stack);
    this.journal = new Journal(this, this.out, this.book);
    this.timeline = new Timeline(this);
    this.standby = new StandbyRole(this);
    this.out.onTick((now) => this.timeline.tick(now));
    this.inspector = new Inspector(this);
    this.views = new Views(this);
    this.repl = new ReplConsole(this);
  }

  /** The stop being served, if any. */
  get stop(): StopState | undefined {
    return this.stops.current;
  }

  get emu(): Emulator {
    if (!this.run) throw new UserError('no scenario is loaded: send launch first');
    return this.run.emu;
  }

  // ---- main loop -------------------------------------------------------------------------------

  /** Serve requests forever (the worker's top level). */
  serveForever(): never {
    for (;;) {
      const req = this.link.next();
      const action = this.handle(req, 'top');
      if (action) this.resumeFromTop(action);
    }
  }

  private respond(req: WorkerRequest, body?: unknown): void {
    this.link.post({ type: 'response', id: req.id, ok: true, body });
  }

  private fail(req: WorkerRequest, e: unknown): void {
    const { message, showUser } = requestError(e);
    this.link.post({ type: 'response', id: req.id, ok: false, error: message, showUser });
  }

  /** When the model last started running (performance.now()): a stop after a long run settles the heap. */
  runningSince = 0;

  setState(s: WorkerState): void {
    if (s === 'running' && this.state !== 'running') this.runningSince = performance.now();
    if (this.state === s) return;
    this.state = s;
    this.link.post({ type: 'state', state: s });
  }

  /**
   * Handle one request. `ctx` is where the worker is: at its top level (idle, ended),
   * stopped inside the model, or running (between two events). Returns a resume action
   * for the caller to carry out (after the response has been sent).
   */
  handle(req: WorkerRequest, ctx: Ctx): ResumeAction | undefined {
    try {
      const handler = handlerOf(this.table, req.cmd);
      if (!handler) throw new UserError(`unknown request '${req.cmd}'`);
      const result = handler(req.args ?? {}, ctx, (body) => this.respond(req, body));
      if (result instanceof Resume) return result.action;
      this.respond(req, result);
      return undefined;
    } catch (e) {
      this.fail(req, e);
      return undefined;
    }
  }

  /** Every request the worker serves (requests.ts), by command. */
  private requestTable(): RequestTable {
    const changesBreakpoints =
      <A, B>(fn: (a: A) => B) =>
      (a: A): B => {
        this.journal.breakpointsChanged(this.here());
        return fn(a);
      };
    const resume =
      <K extends 'continue' | 'next' | 'stepIn' | 'stepOut' | 'stepBack' | 'reverseContinue'>(cmd: K): Handler<K> =>
      (a, ctx, answer) =>
        new Resume(this.resumeRequest(cmd, a, ctx, answer));
    return {
      initialize: (a) => void (this.client = a),
      launch: (a) => this.launch(a),
      configurationDone: (a, ctx, answer) => new Resume(this.configurationDone(a.noDebug === true, ctx, answer)),
      attachClient: () => this.attachClient(),
      resendStop: (_a, _ctx, answer) => {
        answer(undefined);
        if (this.stop) this.stops.announce(this.stop, true);
        return new Resume(undefined);
      },
      detach: (a, ctx, answer) => new Resume(this.detach(answer, ctx, a.suspend === true)),
      setBreakpoints: changesBreakpoints((a) => this.book.setBreakpoints(a)),
      breakpointLocations: (a) => this.book.breakpointLocations(a),
      setFunctionBreakpoints: changesBreakpoints((a) => this.book.setFunctionBreakpoints(a)),
      setExceptionBreakpoints: changesBreakpoints((a) => this.book.setExceptionBreakpoints(a)),
      dataBreakpointInfo: (a) => this.inspector.dataBreakpointInfo(a),
      setDataBreakpoints: changesBreakpoints((a) => this.book.setDataBreakpoints(a)),
      continue: resume('continue'),
      next: resume('next'),
      stepIn: resume('stepIn'),
      stepOut: resume('stepOut'),
      stepBack: resume('stepBack'),
      reverseContinue: resume('reverseContinue'),
      pause: (_a, ctx) => this.pause(ctx),
      restart: (a, ctx, answer) => new Resume(this.restart(answer, ctx, a)),
      shutdown: (_a, _ctx, answer) => this.shutdown(answer),
      threads: () => ({ threads: this.stack.threads() }),
      stackTrace: (a) => this.stack.stackTrace(a),
      scopes: (a) => this.inspector.scopes(a),
      variables: (a) => this.inspector.variables(a),
      setVariable: (a) => this.inspector.setVariable(a),
      setExpression: (a) => this.inspector.setExpression(a),
      exceptionInfo: () => this.stack.exceptionInfo(),
      source: (a) => this.stack.source(a),
      loadedSources: () => ({ sources: this.stack.loadedSources() }),
      evaluate: (a) => this.repl.evaluate(a),
      completions: (a) => this.repl.completions(a),
      readMemory: (a) => this.inspector.readMemory(a),
      writeMemory: (a) => this.inspector.writeMemory(a),
      'visorbus/topology': () => this.views.topology(),
      'visorbus/devices': (a) => this.views.devices(a),
      'visorbus/sysfs': (a) => this.views.sysfs(a),
      'visorbus/sysfsWrite': (a) => this.views.sysfsWrite(a),
      'visorbus/channel': (a) => this.views.channel(a),
      'visorbus/deviceAction': (a) => this.views.deviceAction(a),
      'visorbus/timeline': (a) => this.timeline.page(a),
      'visorbus/goto': (a, ctx, answer) => new Resume(this.travel('visorbus/goto', answer, ctx, this.timeline.gotoPlan(a))),
      'pool/timelineHandOver': () => this.timeline.handOver(),
      'pool/timelineAdopt': (a) => void this.timeline.adopt(a),
      'pool/plan': (a) => this.standby.plan(a),
      'pool/standby': (a, ctx, answer) => this.startRole('pool/standby', ctx, a, answer),
      'pool/travel': (a, ctx, answer) => this.startRole('pool/travel', ctx, a, answer),
      'pool/advance': (a, ctx, answer) => this.moveRole('pool/advance', ctx, a, answer),
      'pool/promote': (a, ctx, answer) => this.moveRole('pool/promote', ctx, a, answer),
      'pool/scout': (a, ctx, answer) => this.moveRole('pool/scout', ctx, a, answer),
      'pool/memory': () => this.standby.memory(),
      'journal/append': (a) => void this.journal.append(a.entry as JournalEntry, this.here()),
      'journal/truncate': (a) => void this.journal.truncate(a.pos),
    };
  }

  private configurationDone(noDebug: boolean, ctx: Ctx, answer: (body: undefined) => void): ResumeAction | undefined {
    answer(undefined);
    if (ctx !== 'top' || this.state !== 'idle' || !this.run) return undefined;
    this.detached = false;
    const mode: Mode = noDebug ? { kind: 'free' } : this.opts?.stopOnEntry ? { kind: 'entry' } : { kind: 'continue' };
    return { kind: 'plan', plan: { build: false, mode } };
  }

  private attachClient(): AttachClientResult {
    this.detached = false;
    // Nothing was checked while it ran free: the breakpoint hits before here are unknown.
    this.journal.breakpointsChanged(this.here());
    // A model left running without a client ran free; the new client's breakpoints apply.
    if (this.mode.kind === 'free') this.mode = { kind: 'continue' };
    const st = this.stop;
    return {
      state: this.state,
      scenario: this.scenario?.file,
      stopped: st ? { reason: st.reason, description: st.description, threadId: st.threadId } : undefined,
    };
  }

  private pause(ctx: Ctx): undefined {
    if (ctx === 'stopped') {
      this.link.clearPause();
      return undefined;
    }
    if (ctx === 'running') return undefined;
    this.link.clearPause();
    throw new UserError(this.state === 'ended' ? 'the scenario has ended' : 'the scenario is not running');
  }

  /** A new worker becomes a standby checkpoint or a traveller (standby.ts). */
  private startRole(cmd: 'pool/standby' | 'pool/travel', ctx: Ctx, a: StartArgs, answer: (body: undefined) => void): Resume {
    const plan = this.standby.start(cmd, ctx, a);
    answer(undefined);
    return new Resume({ kind: 'plan', plan });
  }

  /** A parked standby worker moves on (standby.ts); it answers before the model runs. */
  private moveRole(cmd: 'pool/advance' | 'pool/promote' | 'pool/scout', ctx: Ctx, a: MoveArgs, answer: (body: undefined) => void): Resume {
    return new Resume(this.standby.move(cmd, ctx, a, () => answer(undefined)) ? { kind: 'continue' } : undefined);
  }

  // ---- launch, runs, restart -------------------------------------------------------------------

  private launch(opts: LaunchArguments): LaunchResult {
    if (this.run) throw new UserError('a scenario is already running in this session (use restart)');
    const scenario = readScenario(opts);
    this.buildRun({ build: true, fresh: { opts, scenario } });
    for (const d of scenario.diagnostics) if (d.severity === 'warning') this.out.output('console', `${formatDiagnostic(d)}\n`);
    this.out.flushOutput();
    return { scenario: scenario.file, steps: scenario.steps.length, checkpoints: this.journal.images.count() === 0 };
  }

  /** A fresh ScenarioRun for the plan (a new scenario, a restart, or a replay of the same one). */
  private buildRun(plan: RunPlan): void {
    if (plan.fresh) {
      this.opts = normalizeOpts(plan.fresh.opts);
      this.scenario = plan.fresh.scenario;
    }
    const old = this.run;
    disposeRun(old);
    this.run = undefined;
    const run = openRun(this, plan, this.opts!, this.scenario!, old);
    this.run = run;
    this.faults = 0;
    startRun(this, this.hook, run, plan, this.opts!, this.scenario!);
  }

  private shutdown(answer: (body: undefined) => void): never {
    answer(undefined);
    disposeRun(this.run);
    this.run = undefined;
    process.exit(0);
  }

  private restart(answer: (body: undefined) => void, ctx: Ctx, a: LaunchArguments): ResumeAction | undefined {
    const opts = { ...this.opts, ...a } as LaunchArguments;
    const scenario = readScenario(opts);
    normalizeOpts(opts);
    answer(undefined);
    this.journal.forget();
    const plan: RunPlan = { build: true, fresh: { opts, scenario }, mode: opts.stopOnEntry ? { kind: 'entry' } : { kind: 'continue' } };
    this.out.output('console', `Restarting ${path.basename(scenario.file)}\n`);
    if (ctx === 'running') {
      this.abortAfterDrain = plan;
      return undefined;
    }
    return { kind: 'plan', plan };
  }

  private detach(answer: (body: undefined) => void, ctx: Ctx, suspend: boolean): ResumeAction | undefined {
    this.book.clear();
    this.detached = true;
    answer(undefined);
    if (ctx === 'running') {
      this.mode = { kind: 'free' };
      return undefined;
    }
    if (ctx === 'stopped' && !suspend) return { kind: 'free' };
    return undefined;
  }

  private resumeFromTop(action: ResumeAction): void {
    switch (action.kind) {
      case 'plan':
        return this.runLoop(action.plan);
      case 'continue':
      case 'free':
        return this.runLoop({ build: false, mode: action.kind === 'free' ? { kind: 'free' } : { kind: 'continue' } });
      case 'step':
        return this.runLoop({ build: false, mode: { kind: 'step', pred: () => true } });
    }
  }

  /** Run the scenario from where it is (or from a new run) until it ends; stops happen inside. */
  private runLoop(first: RunPlan): void {
    let plan: RunPlan | undefined = first;
    for (;;) {
      try {
        if (plan.build) this.buildRun(plan);
        if (plan.mode) this.mode = plan.mode;
        if (plan.replay) this.out.startProgress(plan.replay.label);
        plan = undefined as unknown as RunPlan;
        this.setState('running');
        const run = this.run!;
        while (!run.done) run.step();
        this.endOfRun();
        return;
      } catch (e) {
        if (e instanceof AbortRun) {
          this.aborting = undefined;
          plan = e.plan;
          continue;
        }
        this.aborting = undefined;
        this.fault(e);
        return;
      }
    }
  }

  private endOfRun(): void {
    this.out.endProgress();
    this.journal.endOfRun();
    const { lines, bad } = runSummary(this.run!, this.faults);
    this.out.output(bad ? 'stderr' : 'console', lines.join('\n') + '\n');
    this.out.flushOutput();
    if (this.opts?.stopAtEnd !== false) return this.stopAtEnd(lines[0]);
    this.setState('ended');
    this.out.changed('terminated');
    this.link.event('visorbus/ended', { exitCode: bad ? 1 : 0 });
  }

  /** The end is a stop at the top level: the final state stays inspectable, and travel back starts from it. */
  private stopAtEnd(summary: string): void {
    for (;;) {
      const action = this.stops.serve(this.stops.make(endStopInfo(summary), undefined, lastLineFrames(this.run!), true));
      if (action.kind === 'plan') return this.resumeFromTop(action);
      if (action.kind !== 'free') this.out.output('console', AT_END_MESSAGE);
    }
  }

  /** Something escaped the model that is not a driver's doing: report it and stop at the top level. */
  private fault(e: unknown): void {
    this.out.endProgress();
    // The client gets what went wrong, never the emulator's own stack.
    const message = internalText(e);
    this.out.output('stderr', `Internal error in the emulator: ${message}\n`);
    if (!this.run) return;
    this.faults++;
    const frames = lastLineFrames(this.run);
    const st = this.stops.make(faultStopInfo(e, message), undefined, frames, true);
    const action = this.stops.serve(st);
    this.resumeFromTop(action);
  }

  // ---- stops -----------------------------------------------------------------------------------

  /** Stop inside the model (hook or watcher) and serve until told to resume. */
  stopHere(info: StopInfo, ev: EmuEvent | undefined): void {
    const st = this.stops.make(info, ev, this.run!.emu.engine.log.frames, false);
    const action = this.stops.serve(st);
    this.applyResume(action, st);
  }

  private applyResume(action: ResumeAction, st: StopState): void {
    switch (action.kind) {
      case 'continue':
        this.mode = { kind: 'continue' };
        return;
      case 'free':
        this.mode = { kind: 'free' };
        return;
      case 'step':
        this.mode = { kind: 'step', pred: action.instruction ? () => true : stepPredicate(action.step, st) };
        return;
      case 'plan':
        return this.abort(action.plan);
    }
  }

  private resumeRequest(cmd: string, a: object, ctx: Ctx, answer: (body: { allThreadsContinued?: boolean } | undefined) => void): ResumeAction | undefined {
    const instruction = (a as { granularity?: unknown }).granularity === 'instruction';
    if (ctx === 'running') throw new UserError(`cannot ${cmd}: the scenario is running (pause it first)`);
    if (ctx === 'top') {
      if (this.state === 'idle') throw new UserError(`cannot ${cmd}: the scenario has not started (configurationDone first)`);
      if (!this.run) throw new UserError('no scenario is loaded');
      if (cmd !== 'stepBack' && cmd !== 'reverseContinue') throw new UserError(`cannot ${cmd}: the scenario has ended (restart it, or step back)`);
    }
    if (cmd === 'stepBack' || cmd === 'reverseContinue') {
      const plan = this.journal.backPlan(cmd, instruction);
      answer(undefined);
      return { kind: 'plan', plan };
    }
    answer(cmd === 'continue' ? { allThreadsContinued: true } : undefined);
    if (cmd === 'continue') return { kind: 'continue' };
    return { kind: 'step', step: cmd as 'next' | 'stepIn' | 'stepOut', instruction };
  }

  /** Carry out a travel plan: now, or (while running) at the next event boundary. */
  private travel(cmd: string, answer: (body: undefined) => void, ctx: Ctx, plan: RunPlan): ResumeAction | undefined {
    if (ctx === 'top' && this.state === 'idle') throw new UserError(`cannot ${cmd}: the scenario has not started (configurationDone first)`);
    answer(undefined);
    if (ctx !== 'running') return { kind: 'plan', plan };
    this.abortAfterDrain = plan;
    return undefined;
  }

  lastStepN(): number | undefined {
    return this.journal.lastStepN();
  }

  // ---- checkpoints: the worker's role (standby.ts) ---------------------------------------------

  /** The current position: the stop's, else the event count. */
  here(): Pos {
    return this.stop?.pos ?? { n: this.run?.emu.engine.log.count ?? 0, w: this.state === 'running' ? this.journal.writeSeq : 0 };
  }

  get keepsFuture(): boolean {
    return this.role === 'standby';
  }

  journaled(entry: JournalEntry): void {
    this.standby.journaled(entry);
  }

  forgotAfter(pos: Pos): void {
    this.standby.forgotAfter(pos);
  }

  scoutMatch(found: Found): void {
    this.standby.scoutMatch(found);
  }

  scouted(found: Found | undefined): void {
    this.standby.scouted(found);
  }

  /** A standby worker promoted where it is parked: the parked stop becomes the user's stop. */
  stopHereNow(st: StopState): void {
    this.stops.promoted(st);
  }

  takeAbortAfterDrain(): RunPlan | undefined {
    const plan = this.abortAfterDrain;
    this.abortAfterDrain = undefined;
    return plan;
  }

  /** Abandon the run: the model unwinds to runLoop, which carries out the plan. */
  abort(plan: RunPlan): never {
    this.aborting = new AbortRun(plan);
    throw this.aborting;
  }
}
