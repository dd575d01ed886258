/**
 * The worker's side of checkpoints (the session's checkpoints.ts and travel.ts drive it).
 * A worker is live (the session's model), standby (a checkpoint parked at an earlier
 * position, silent, or scouting: searching its part of the history and reporting matches),
 * or a traveller (a standby or new worker on its way to the user's target; it becomes live
 * when it arrives). See docs/design.md, "Checkpoints".
 */
import * as v8 from 'node:v8';
import type { ScenarioRun } from '../../scenario/runner';
import type { EmuEvent } from '../../engine/events';
import type { PoolSeen, WorkerState } from '../workerlink';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Link } from './link';
import type { Output } from './output';
import type { Timeline } from './timeline';
import type { Found, Journal, JournalEntry, ReplayPlan, RunPlan } from './journal';
import { Pos, StopInfo, StopState, UserError, posCmp } from './stopstate';
import { collector } from './heapsettle';

export type Role = 'live' | 'standby' | 'traveller';

/** A scout reports a match at most this often (in events): its follower chases the latest. */
const MATCH_STRIDE = 4096;

export interface StartArgs {
  target?: Pos;
  plan?: ReplayPlan;
  entries: JournalEntry[];
  seen?: PoolSeen;
}

/** What a step back, reverse-continue or goto asks of the worker that plans the trip. */
export interface PlanArguments {
  cmd: string;
  granularity?: DebugProtocol.SteppingGranularity;
  event?: number;
}

export interface MoveArgs {
  plan: ReplayPlan;
  seen?: PoolSeen;
}

/** What the role needs from the worker (the controller). */
export interface StandbyHost {
  readonly link: Link;
  readonly journal: Journal;
  readonly out: Output;
  readonly timeline: Timeline;
  readonly run: ScenarioRun | undefined;
  readonly state: WorkerState;
  readonly stop: StopState | undefined;
  role: Role;
  /** Silent: no output, progress or stops reach the client. */
  detached: boolean;
  stopHere(info: StopInfo, ev: EmuEvent | undefined): void;
  /** Announce `st` (a parked stop that just became the user's). */
  stopHereNow(st: StopState): void;
}

export class StandbyRole {
  private lastMatchSent = -Infinity;

  constructor(private readonly host: StandbyHost) {}

  /** Where a step back, reverse-continue or goto from this stop goes, without going: the session picks the worker. */
  plan(a: PlanArguments): { plan: ReplayPlan; pos: Pos; seen: PoolSeen } {
    const h = this.host;
    if (!h.run) throw new UserError('no scenario is loaded');
    // The plan first: its errors say more ("nothing to step back to", "outside the recorded history").
    const plan =
      a.cmd === 'visorbus/goto'
        ? h.timeline.gotoPlan({ event: a.event as number })
        : h.journal.backPlan(a.cmd === 'reverseContinue' ? 'reverseContinue' : 'stepBack', a.granularity === 'instruction');
    if (h.state !== 'stopped' && h.state !== 'ended') throw new UserError('the scenario is not stopped');
    const pos = h.stop?.pos ?? { n: h.run.emu.engine.log.count, w: 0 };
    return { plan: plan.replay!, pos, seen: h.journal.seen() };
  }

  /** A new worker becomes a standby checkpoint (replays to `target` and waits; or scouts, given a search) or a traveller (replays `plan`, then is live). */
  start(cmd: string, ctx: string, a: StartArgs): RunPlan {
    const h = this.host;
    if (ctx !== 'top' || h.state !== 'idle' || !h.run) throw new UserError(`${cmd}: launch first, and nothing else`);
    h.role = cmd === 'pool/standby' ? 'standby' : 'traveller';
    h.detached = h.role === 'standby';
    h.journal.load(a.entries ?? []);
    // The live run's checksums: arriving somewhere it stopped with another one means a driver is not deterministic.
    h.journal.loadSeen(a.seen);
    const replay: ReplayPlan = a.plan ?? { phase: 'goto', target: a.target!, info: { reason: 'step', description: 'checkpoint' }, label: 'Checkpoint' };
    if (h.role === 'standby' && replay.phase === 'find') {
      // A search from the start: its progress is the user's.
      replay.scout = true;
      h.detached = false;
    }
    return { build: true, mode: { kind: 'continue' }, replay };
  }

  /**
   * A parked standby worker moves on: to a later checkpoint, to the user's target
   * (promoted), or searching (scout). True: resume the model; false: it stays stopped
   * (promoted where it is parked). `respond` answers the request before any event.
   */
  move(cmd: string, ctx: string, a: MoveArgs, respond: () => void): boolean {
    const h = this.host;
    const st = h.stop;
    if (ctx !== 'stopped' || h.role !== 'standby' || !st) throw new UserError(`${cmd}: not a parked standby worker`);
    const plan = a.plan;
    h.journal.loadSeen(a.seen);
    if (cmd === 'pool/promote') {
      if (plan.phase === 'goto' && posCmp(plan.target, st.pos) < 0) throw new UserError('pool/promote: the target is before this checkpoint');
      h.role = 'traveller';
      h.detached = false;
      if (plan.phase === 'goto' && posCmp(plan.target, st.pos) === 0) {
        respond();
        this.becomeLiveHere(st, plan.info);
        return false;
      }
    }
    if (cmd === 'pool/scout' && plan.phase === 'find') {
      plan.scout = true;
      // Its progress is the user's: the session forwards it while the search lasts.
      h.detached = false;
    }
    h.journal.setReplay(plan);
    if (cmd !== 'pool/advance') h.out.startProgress(plan.label);
    respond();
    return true;
  }

  private becomeLiveHere(st: StopState, info: StopInfo): void {
    const h = this.host;
    h.journal.truncate(st.pos);
    h.role = 'live';
    h.journal.visit(st.pos, st.sum);
    h.out.flushOutput();
    Object.assign(st, { reason: info.reason, description: info.description, text: info.text, hitBreakpointIds: info.hitBreakpointIds });
    h.stopHereNow(st);
  }

  /** The live worker journaled an intervention: the session copies it to the standby workers. */
  journaled(entry: JournalEntry): void {
    if (this.host.role === 'live') this.host.link.event('pool/journal', { entry });
  }

  /** The live worker went back by itself: the standby workers forget that future too. */
  forgotAfter(pos: Pos): void {
    if (this.host.role === 'live') this.host.link.event('pool/forgot', { pos });
  }

  scoutMatch(found: Found): void {
    if (found.pos.n - this.lastMatchSent < MATCH_STRIDE) return;
    this.lastMatchSent = found.pos.n;
    this.host.link.event('pool/match', { found });
  }

  /** The search reached its limit: report, and park there, silent. */
  scouted(found: Found | undefined): void {
    const h = this.host;
    h.out.endProgress();
    h.detached = true;
    h.link.event('pool/scouted', { found: found ?? null });
    h.stopHere({ reason: 'step', description: 'scouted' }, undefined);
  }

  /** The heap and array buffers of this worker after a full collection (what a checkpoint costs; the live model measured the same way). */
  memory(): { bytes: number } {
    // Without a collection the figure is mostly garbage that happens not to be collected yet.
    collector()?.();
    const s = v8.getHeapStatistics();
    return { bytes: s.used_heap_size + s.external_memory };
  }
}
