/**
 * What a run plan is (how the controller starts, restarts or replays a run, and what a
 * replay looks for) and what the journal records (the debugger's interventions, each at
 * its position). Shared by the journal, the controller and the standby roles.
 */
import type { Scenario } from '../../scenario/ast';
import type { Frame } from '../../engine/events';
import type { LaunchArguments } from '../contract';
import type { Mode, Pos, StopInfo } from './stopstate';

export type Finder = { kind: 'event' } | { kind: 'activation'; callN: number; act?: Frame } | { kind: 'breakpoints' };

export interface Found {
  pos: Pos;
  info: StopInfo;
}

export type ReplayPlan =
  /** `scout`: a standby worker searches its part of the history and reports what it found instead of going there. */
  | { phase: 'find'; finder: Finder; limit: Pos; found?: Found; fallback: Found; label: string; scout?: boolean }
  | { phase: 'goto'; target: Pos; info: StopInfo; label: string };

/** How the controller starts (or restarts) a run: a new scenario, a replay, or the same run going on. */
export interface RunPlan {
  build: boolean;
  mode?: Mode;
  replay?: ReplayPlan;
  fresh?: { opts: LaunchArguments; scenario: Scenario };
}

export type JournalEntry =
  | { kind: 'mem'; pos: Pos; addr: number; bytes: Uint8Array }
  | { kind: 'sysfsWrite'; pos: Pos; path: string; value: string }
  | { kind: 'sysfsRead'; pos: Pos; path: string }
  | { kind: 'command'; pos: Pos; text: string };
