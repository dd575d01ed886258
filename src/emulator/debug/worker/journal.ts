/**
 * The history of a session and the way back through it: positions (event n, w memory
 * writes after it), the scenario lines reached, the debugger's interventions (memory and
 * sysfs writes, console commands) journaled at the position they were made, and the
 * replays that step-back and reverse-continue run. A replay re-executes the scenario from
 * the start, repeats every intervention at its position, and stops at the earlier
 * position (finding it first when it is not known). See docs/design.md.
 */
import * as path from 'node:path';
import type { ScenarioRun } from '../../scenario/runner';
import type { Scenario, ScenarioStep } from '../../scenario/ast';
import { parseScenario } from '../../scenario/parser';
import type { Emulator } from '../../emulator';
import type { EmuEvent, Frame } from '../../engine/events';
import type { PoolSeen, WorkerState } from '../workerlink';
import type { Output } from './output';
import type { BreakpointBook } from './breakpointbook';
import { innermostDriver } from './stack';
import { DiskImages } from './diskimages';
import { MAX_JOURNAL_WRITE_BYTES } from '../../limits';
import { Pos, StopInfo, StopState, UserError, posCmp } from './stopstate';

import type { Finder, Found, JournalEntry, ReplayPlan, RunPlan } from './runplan';

export type { Finder, Found, JournalEntry, ReplayPlan, RunPlan } from './runplan';

/** What the journal needs from the session (the controller). */
export interface JournalHost {
  readonly run: ScenarioRun | undefined;
  readonly scenario: Scenario | undefined;
  readonly stop: StopState | undefined;
  readonly state: WorkerState;
  readonly emu: Emulator;
  readonly views: { quietly<T>(emu: Emulator, fn: () => T): T };
  /** Stop here, inside the model, until the client resumes. */
  stopHere(info: StopInfo, ev: EmuEvent | undefined): void;
  /** A standby worker keeps the interventions past its position: the live run made them later. */
  readonly keepsFuture: boolean;
  /** A new intervention was journaled (the session copies it to its standby workers). */
  journaled(entry: JournalEntry): void;
  /** The interventions after `pos` were dropped (a replay in this worker went back there). */
  forgotAfter(pos: Pos): void;
  /** A scouting replay reached its limit: report what it found. */
  scouted(found: Found | undefined): void;
  /** A scouting replay found a match (a follower can move up to it while the search goes on). */
  scoutMatch(found: Found): void;
  /** Abandon the run and carry out `plan` instead. */
  abort(plan: RunPlan): never;
}

export class Journal {
  /** Interventions in the order made; replays apply each at its position. */
  private entries: JournalEntry[] = [];
  /** The next entry to apply in this run. */
  private idx = 0;
  private replay: ReplayPlan | undefined;
  /** The model's checksum at each position stopped at (a replay that differs is not deterministic). */
  private readonly visited = new Map<string, number>();
  /** The furthest event stopped at: output up to it was printed once already. */
  private furthest = 0;
  /**
   * The checksum at the event a replay is at, before the interventions made there are
   * applied again: the first visit was checksummed before the user made them.
   */
  private sumBeforeInterventions: number | undefined;
  /** Guest-memory writes made by the intervention being applied (for memory events). */
  private collecting: [number, number][] | undefined;
  private depth = 0;
  /** Memory writes since the last event: the w of the current position. */
  writeSeq = 0;
  private stepNs: number[] = [];
  private readonly stepLines = new Map<number, number>();
  private firstStepN: number | undefined;
  /**
   * The last two breakpoint hits of this run under the breakpoints as they are now, and
   * since when they are known (the breakpoints last changed there): a reverse-continue
   * whose target is known goes straight there, without searching the history.
   */
  private hits: Found[] = [];
  private hitsKnownFrom: Pos = { n: 0, w: 0 };
  /** The disk images replays must find as the first run did. */
  readonly images = new DiskImages();

  constructor(
    private readonly host: JournalHost,
    private readonly out: Output,
    private readonly book: BreakpointBook,
  ) {}

  /** Inspection or an intervention is running: nothing it causes is a place to stop. */
  get passive(): boolean {
    return this.depth > 0;
  }

  get replaying(): boolean {
    return this.replay !== undefined;
  }

  /** A run starts (a replay when `replay` is given): positions count from the start again. */
  newRun(replay: ReplayPlan | undefined): void {
    this.hits = [];
    this.hitsKnownFrom = { n: 0, w: 0 };
    this.stepNs = [];
    this.firstStepN = undefined;
    this.writeSeq = 0;
    this.idx = 0;
    this.replay = replay;
  }

  /** A restart: the history so far no longer applies. */
  forget(): void {
    this.entries = [];
    this.visited.clear();
    this.furthest = 0;
  }

  // ---- standby workers (see checkpoints.ts in the session) ---------------------------------

  /** The interventions so far, for a new standby worker. */
  exportEntries(): JournalEntry[] {
    return this.entries;
  }

  /** A standby worker starts with the live run's interventions. */
  load(entries: JournalEntry[]): void {
    this.entries = entries.slice();
    this.idx = 0;
  }

  /** An intervention the live run made; applied now when this worker is already at or past its position. */
  append(entry: JournalEntry, here: Pos): void {
    this.entries.push(entry);
    if (this.idx === this.entries.length - 1 && posCmp(entry.pos, here) <= 0) {
      this.idx++;
      try {
        this.applyEntry(entry);
      } catch {
        /* the same failure as in the live run */
      }
    }
  }

  /** The live run went back to `pos`: interventions after it are gone. */
  truncate(pos: Pos): void {
    this.entries = this.entries.filter((e) => posCmp(e.pos, pos) <= 0);
    this.idx = Math.min(this.idx, this.entries.length);
  }

  /** Go on replaying toward a new target (a standby worker that advances, is promoted or scouts). */
  setReplay(plan: ReplayPlan): void {
    const st = this.host.stop;
    // A search starts at the event this worker is parked in: the breakpoints as they are now decide there too.
    if (plan.phase === 'find' && plan.finder.kind === 'breakpoints' && st?.ev) {
      const bp = this.book.checkBreakpoints(st.ev, st.frames, true);
      if (bp) plan.found = { pos: st.pos, info: bp };
    }
    this.replay = plan;
  }

  /** A breakpoint (or exception filter, or data breakpoint) matched at `pos`. */
  noteHit(pos: Pos, info: StopInfo): void {
    if (this.hits.length === 2) this.hits.shift();
    this.hits.push({ pos, info });
  }

  /** The breakpoints changed at `pos`: hits before it are no longer known. */
  breakpointsChanged(pos: Pos): void {
    this.hits = [];
    this.hitsKnownFrom = pos;
  }

  /** Bookkeeping at every event that is not passive. */
  atEvent(ev: EmuEvent): void {
    this.writeSeq = 0;
    if (ev.kind === 'step') {
      this.stepNs.push(ev.n);
      this.stepLines.set(ev.n, Number(ev.data?.line));
      this.firstStepN ??= ev.n;
    }
  }

  /** A guest-memory write made while passive (reported to the client after an intervention). */
  collect(addr: number, len: number): void {
    this.collecting?.push([addr, len]);
  }

  /** Apply the interventions made up to event n (the run was just built). */
  applyUpTo(n: number): void {
    while (this.idx < this.entries.length && this.entries[this.idx].pos.n <= n) {
      try {
        this.applyEntry(this.entries[this.idx++]);
      } catch {
        /* it failed the first time too */
      }
    }
  }

  /** The run ended: a replay still under way means it never reached its target. */
  endOfRun(): void {
    if (this.replay) {
      this.out.output(
        'stderr',
        `The replay ended before reaching its target (event ${this.replay.phase === 'goto' ? this.replay.target.n : this.replay.limit.n}): the run is not deterministic.\n`,
      );
      this.replay = undefined;
    }
  }

  /** What this worker has seen of the history, for a worker that takes over (checkpoints). */
  seen(): PoolSeen {
    return { visited: [...this.visited], furthest: this.furthest };
  }

  loadSeen(seen: PoolSeen | undefined): void {
    if (!seen) return;
    for (const [k, v] of seen.visited) this.visited.set(k, v);
    this.furthest = Math.max(this.furthest, seen.furthest);
  }

  /** Event n ran before in this session (the run went back in time past it): its output is printed again. */
  ranBefore(n: number): boolean {
    return n <= this.furthest;
  }

  /** The checksum a stop here is compared by: before this position's interventions when a replay arrives. */
  stopChecksum(current: number): number {
    const sum = this.sumBeforeInterventions ?? current;
    this.sumBeforeInterventions = undefined;
    return sum;
  }

  /** A stop at `pos`: warn when the model's state there differs from the first time. */
  visit(pos: Pos, sum: number): void {
    const key = `${pos.n}:${pos.w}`;
    const seen = this.visited.get(key);
    if (seen !== undefined && seen !== sum)
      this.out.output(
        'stderr',
        `Warning: the state at event ${pos.n} differs from the first time it was reached; a driver is not deterministic (Date.now, Math.random, module state?), so replays may not match.\n`,
      );
    this.visited.set(key, sum);
    this.furthest = Math.max(this.furthest, pos.n);
  }

  /** The last `count` scenario-line starts before event n, most recent first (where checkpoints help most). */
  recentLineStarts(n: number, count: number): number[] {
    const r: number[] = [];
    for (let i = this.stepNs.length - 1; i >= 0 && r.length < count; i--) if (this.stepNs[i] < n) r.push(this.stepNs[i]);
    return r;
  }

  lastStepN(): number | undefined {
    return this.stepNs[this.stepNs.length - 1];
  }

  private currentStopPos(): Pos {
    if (this.host.stop) return this.host.stop.pos;
    return { n: this.host.emu.engine.log.count, w: 0 };
  }

  /** How to get back to an earlier stop: directly when the position is known, else find it in a first replay. */
  backPlan(cmd: 'stepBack' | 'reverseContinue', instruction: boolean): RunPlan {
    const cur = this.currentStopPos();
    const first = this.firstStepN;
    if (first === undefined || posCmp(cur, { n: first, w: 0 }) <= 0) throw new UserError('already at the start of the scenario: nothing to step back to');
    const entry: Found = { pos: { n: first, w: 0 }, info: { reason: 'entry', description: 'Back at the start of the scenario' } };
    const goto = (target: Pos, info: StopInfo, label: string): RunPlan => ({
      build: true,
      mode: { kind: 'continue' },
      replay: { phase: 'goto', target, info, label },
    });
    const find = (finder: Finder, fallback: Found, label: string): RunPlan => ({
      build: true,
      mode: { kind: 'continue' },
      replay: { phase: 'find', finder, limit: cur, fallback, label },
    });
    if (cmd === 'reverseContinue') {
      const known = this.hits.filter((h) => posCmp(h.pos, cur) < 0).pop();
      if (known) return goto(known.pos, known.info, 'Reverse continue');
      // No hit since the breakpoints last changed: the last one, if any, is before that.
      if (posCmp(this.hitsKnownFrom, entry.pos) <= 0) return goto(entry.pos, entry.info, 'Reverse continue');
      const plan = find({ kind: 'breakpoints' }, entry, 'Reverse continue');
      if (plan.replay?.phase === 'find') plan.replay.limit = posCmp(this.hitsKnownFrom, cur) < 0 ? this.hitsKnownFrom : cur;
      return plan;
    }
    const act = this.host.stop?.activation;
    const stepInfo = (what: string): StopInfo => ({ reason: 'step', description: `Stepped back to ${what}` });
    if (instruction) {
      if (cur.w > 0) return goto({ n: cur.n, w: 0 }, stepInfo(`event ${cur.n}`), `Step back to event ${cur.n}`);
      if (!this.entries.length) return goto({ n: cur.n - 1, w: 0 }, stepInfo(`event ${cur.n - 1}`), `Step back to event ${cur.n - 1}`);
      return find({ kind: 'event' }, entry, 'Step back');
    }
    if (act && act.callN > 0 && act.callN < cur.n) {
      const prevLine = [...this.stepNs].reverse().find((n) => n < act.callN) ?? first;
      return find({ kind: 'activation', callN: act.callN }, { pos: { n: prevLine, w: 0 }, info: stepInfo('the scenario line') }, 'Step back');
    }
    const prev = [...this.stepNs].reverse().find((n) => posCmp({ n, w: 0 }, cur) < 0) ?? first;
    return goto({ n: prev, w: 0 }, stepInfo(`line ${this.lineOfStepEvent(prev) ?? '?'}`), 'Step back');
  }

  private lineOfStepEvent(n: number): number | undefined {
    return this.stepLines.get(n);
  }

  // ---- replay ---------------------------------------------------------------------------------

  replayEvent(ev: EmuEvent, frames: readonly Frame[]): void {
    const pos: Pos = { n: ev.n, w: 0 };
    this.sumBeforeInterventions = this.host.run!.emu.engine.log.checksum;
    this.applyJournalAt(pos);
    const r = this.replay!;
    const bp = this.book.checkBreakpoints(ev, frames, true);
    if ((this.out.countEvent() & 1023) === 0) this.out.progressUpdate(r.phase === 'goto' ? r.target.n : r.limit.n);
    if (bp) this.noteHit(pos, bp);
    if (r.phase === 'find') {
      if (posCmp(pos, r.limit) >= 0) return this.finishFind(r);
      let match: StopInfo | undefined;
      switch (r.finder.kind) {
        case 'event':
          match = { reason: 'step', description: `Stepped back to event ${ev.n}` };
          break;
        case 'activation':
          if (ev.n === r.finder.callN) {
            r.finder.act = frames[frames.length - 1];
            match = { reason: 'step', description: `Stepped back to ${ev.text}` };
          } else if (r.finder.act && ev.kind === 'channel' && innermostDriver(frames) === r.finder.act)
            match = { reason: 'step', description: `Stepped back to ${ev.text}` };
          break;
        case 'breakpoints':
          match = bp;
          break;
      }
      if (match) {
        r.found = { pos, info: match };
        if (r.scout) this.host.scoutMatch(r.found);
      }
      return;
    }
    if (posCmp(pos, r.target) === 0) return this.arrive(r.target, r.info, ev);
  }

  replayWrite(addr: number, len: number): void {
    const pos: Pos = { n: this.host.run!.emu.engine.log.count, w: this.writeSeq };
    this.sumBeforeInterventions = this.host.run!.emu.engine.log.checksum;
    this.applyJournalAt(pos);
    const r = this.replay!;
    const hit = this.book.dataBps.length ? this.book.checkDataBps(addr, len, true) : undefined;
    if (hit) this.noteHit(pos, hit);
    if (r.phase === 'find') {
      if (posCmp(pos, r.limit) >= 0) return this.finishFind(r);
      if (r.finder.kind === 'breakpoints' && hit) {
        r.found = { pos, info: hit };
        if (r.scout) this.host.scoutMatch(r.found);
      }
      return;
    }
    if (posCmp(pos, r.target) === 0) return this.arrive(r.target, hit ?? r.info, undefined);
  }

  /** The user cancelled the way back: stay where the replay is, and the interventions after it are gone. */
  cancelReplay(here: Pos): void {
    this.replay = undefined;
    this.sumBeforeInterventions = undefined;
    this.truncate(here);
    this.host.forgotAfter(here);
  }

  private finishFind(r: ReplayPlan & { phase: 'find' }): void {
    if (r.scout) {
      this.replay = undefined;
      return this.host.scouted(r.found);
    }
    const f = r.found ?? r.fallback;
    this.host.abort({ build: true, mode: { kind: 'continue' }, replay: { phase: 'goto', target: f.pos, info: f.info, label: r.label } });
  }

  /** The replay reached its target: drop the interventions that lie in the abandoned future, and stop. */
  private arrive(target: Pos, info: StopInfo, ev: EmuEvent | undefined): void {
    this.replay = undefined;
    if (this.host.keepsFuture) return this.host.stopHere(info, ev);
    this.entries = this.entries.filter((e) => posCmp(e.pos, target) <= 0);
    this.host.forgotAfter(target);
    for (const k of [...this.visited.keys()]) {
      const [n, w] = k.split(':').map(Number);
      if (posCmp({ n, w }, target) > 0) this.visited.delete(k);
    }
    this.host.stopHere(info, ev);
  }

  private applyJournalAt(pos: Pos): void {
    while (this.idx < this.entries.length && posCmp(this.entries[this.idx].pos, pos) <= 0) {
      try {
        this.applyEntry(this.entries[this.idx++]);
      } catch {
        /* it failed the first time too */
      }
    }
  }

  // ---- interventions ------------------------------------------------------------------------

  /** Run `fn` without it being a place to stop (inspection, interventions). */
  passively<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  /** Change the model from the debugger: applied now and recorded, so replays repeat it at the same point. */
  intervene(entry: JournalEntry): string | undefined {
    if (!this.host.run) throw new UserError('no scenario is loaded');
    entry.pos = this.host.stop ? this.host.stop.pos : { n: this.host.run.emu.engine.log.count, w: this.host.state === 'running' ? this.writeSeq : 0 };
    if (entry.kind === 'mem') this.makeRoom(entry);
    // Journaled even when it fails: a replay repeats the same failure at the same point.
    this.entries.push(entry);
    this.idx = this.entries.length;
    this.host.journaled(entry);
    this.collecting = [];
    try {
      return this.applyEntry(entry);
    } finally {
      const writes = this.collecting;
      this.collecting = undefined;
      this.notifyWrites(writes);
    }
  }

  /**
   * Memory writes are kept as bytes, and bounded: writes at the same position that a new one
   * covers entirely are dropped (the last one wins at replay too), and the session's total is
   * at most MAX_JOURNAL_WRITE_BYTES.
   */
  private makeRoom(e: JournalEntry & { kind: 'mem' }): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const o = this.entries[i];
      if (o.kind !== 'mem' || posCmp(o.pos, e.pos) !== 0) break;
      if (o.addr >= e.addr && o.addr + o.bytes.length <= e.addr + e.bytes.length) this.entries.splice(i, 1);
    }
    let total = e.bytes.length;
    for (const o of this.entries) if (o.kind === 'mem') total += o.bytes.length;
    if (total > MAX_JOURNAL_WRITE_BYTES) {
      throw new UserError(
        `writeMemory: the step-back journal of this session already holds ${MAX_JOURNAL_WRITE_BYTES >> 20} MiB of memory writes (its limit); restart the session to write more`,
      );
    }
  }

  /** Tell the client which guest memory an intervention changed: memory events, then invalidated. */
  private notifyWrites(writes: [number, number][]): void {
    const sorted = writes.slice().sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [a, n] of sorted) {
      const last = merged[merged.length - 1];
      if (last && a <= last[0] + last[1] + 64) last[1] = Math.max(last[1], a + n - last[0]);
      else merged.push([a, n]);
    }
    for (const [a, n] of merged.slice(0, 16)) this.out.memoryEvent(a, n);
    this.out.afterChange();
  }

  /** Journal something that already happened (an inspection that turned out to emit events). */
  record(entry: JournalEntry): void {
    if (!this.host.run || this.replay) return;
    entry.pos = this.host.stop ? this.host.stop.pos : { n: this.host.run.emu.engine.log.count, w: 0 };
    this.entries.push(entry);
    this.idx = this.entries.length;
    this.host.journaled(entry);
  }

  private applyEntry(e: JournalEntry): string | undefined {
    const emu = this.host.run!.emu;
    return this.passively(() => {
      switch (e.kind) {
        case 'mem':
          emu.memory.write(e.addr, e.bytes);
          return undefined;
        case 'sysfsWrite':
          emu.sysfs.write(e.path, e.value);
          return undefined;
        case 'sysfsRead':
          try {
            this.host.views.quietly(emu, () => emu.sysfs.list(e.path));
          } catch {
            /* the same failure as the first time */
          }
          return undefined;
        case 'command': {
          const sc = parseScenario(e.text, this.host.scenario?.file ?? '<console>');
          const step = sc.steps[0] as ScenarioStep | undefined;
          if (!step) return 'nothing to run';
          return emu.withBaseDir(path.dirname(this.host.scenario?.file ?? '.'), () => this.host.run!.execAtStop(step));
        }
      }
    });
  }
}
