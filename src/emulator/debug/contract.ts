/**
 * The typed contract of the adapter's timeline, time-travel and live-refresh messages (docs/dap-extensions.md):
 * request arguments, response bodies and event bodies, declared once here and used by the worker
 * that answers them and the extension that sends them (`import type` only: this module has no
 * runtime code, so importing it pulls nothing of the emulator into the extension).
 */

/** What a landmark of the run's history marks. */
export type LandmarkKind =
  | 'line' // a scenario line started
  | 'controlvm' // visorchipset answered a controlvm message (with its response code)
  | 'probe' // a driver's probe() was called
  | 'pauseResume' // a driver's pause() or resume() was called
  | 'interruptFailure' // channel_interrupt threw or a channel operation in it failed
  | 'driverError' // a driver threw, failed a probe/pause/resume, or touched a paused channel
  | 'breakpoint' // the run stopped at a breakpoint (line, function, data or exception)
  | 'expect'; // an expect line did not hold

export interface Landmark {
  /** The event's number (1-based); `visorbus/goto` travels to it. */
  event: number;
  kind: LandmarkKind;
  /** Virtual time of the event. */
  jiffies: number;
  ms: number;
  /** What happened, e.g. `visorhba.probe(vbus2:dev0)`, `response CHIPSET_INIT: status 0`. */
  text: string;
  /** The scenario line the event belongs to, when it belongs to one. */
  line?: number;
  /** The DAP thread the event ran on. */
  threadId: number;
}

/** `visorbus/timeline` request arguments: one page of the landmarks, oldest first. */
export interface TimelineArguments {
  /** Index of the first landmark of the page within the (filtered) list; default 0. */
  start?: number;
  /** Landmarks wanted, 1..1000; default 200. */
  count?: number;
  /** Only these kinds (default: all). */
  filter?: LandmarkKind[];
  /** Only landmarks whose text contains this (case-insensitive). */
  text?: string;
}

export interface TimelineResponseBody {
  /** Landmarks in the (filtered) list: pages go up to it. */
  total: number;
  start: number;
  landmarks: Landmark[];
  /** Landmarks of each kind seen since the run started, kept or not. */
  seen: Record<LandmarkKind, number>;
  /** Landmarks dropped because their kind's store was full (the oldest go first). */
  dropped: number;
  /** The furthest event the run has reached (the end of the recorded history). */
  reached: number;
}

/** `visorbus/goto` request arguments: travel to an event of the recorded history. */
export interface GotoArguments {
  event: number;
}

/** `visorbus/goto` has an empty response; the arrival is a `stopped` event with reason `goto`. */
export type GotoResponseBody = undefined;

/** `visorbus/timeline` event: new landmarks were recorded (sent at most twice a second while running). */
export interface TimelineEventBody {
  /** Landmarks kept, over all kinds. */
  total: number;
  reached: number;
}

/** `visorbus/checkpoints` request arguments. */
export interface CheckpointsArguments {
  /** Answer once every standby worker has parked (and say what they hold). */
  settle?: boolean;
}

/** How trips in time were carried out in this session. */
export interface TripCounts {
  /** By a standby worker at or before the target. */
  promoted: number;
  /** By a new worker replaying from the start. */
  fromStart: number;
  /** Searches of the history made by a standby worker. */
  scouted: number;
}

/** `visorbus/checkpoints` response: the standby workers kept for time travel, newest position first. */
export interface CheckpointsResponseBody {
  enabled: boolean;
  slots: number;
  checkpoints: { event: number; parked?: boolean }[];
  trips: TripCounts;
  /** With `settle`: heap and array buffers held by the standby workers, and by the live model. */
  bytes?: number;
  liveBytes?: number;
}

/** Why a `visorbus/changed` event was sent. `time`: the run advanced (sent at least 4 times a second while running). */
export type ChangedReason = 'stopped' | 'topology' | 'memory' | 'terminated' | 'time';

/** `visorbus/changed` event: what the views show may have changed. */
export interface ChangedEventBody {
  reason: ChangedReason;
  time: { jiffies: number; ms: number };
  eventIndex: number;
  state: 'running' | 'stopped' | 'ended';
}

/** The custom events above, by name. */
export interface VisorbusEvents {
  'visorbus/changed': ChangedEventBody;
  'visorbus/timeline': TimelineEventBody;
}

/** The custom requests above, by name. */
export interface VisorbusRequests {
  'visorbus/timeline': { arguments: TimelineArguments; body: TimelineResponseBody };
  'visorbus/goto': { arguments: GotoArguments; body: GotoResponseBody };
  'visorbus/checkpoints': { arguments: CheckpointsArguments; body: CheckpointsResponseBody };
}
