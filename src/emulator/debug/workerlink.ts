/**
 * The messages between the DAP session (main thread) and the model worker. See
 * docs/design.md: requests go over a MessagePort and ring a doorbell in shared memory,
 * so a worker that is blocked inside the stop hook (Atomics.wait) still receives them
 * with receiveMessageOnPort; a `pause` only sets a flag the hook checks at every event.
 */

/** Int32 slots of the shared control array. */
export const CTRL = {
  /** Incremented by the main thread after every message it posts. */
  DOORBELL: 0,
  /** Non-zero: stop at the next event (DAP pause). */
  PAUSE: 1,
} as const;
export const CTRL_BYTES = 16;

export interface WorkerRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export type WorkerMessage =
  | { type: 'response'; id: number; ok: true; body?: unknown }
  | { type: 'response'; id: number; ok: false; error: string; showUser?: boolean }
  /** A DAP event to forward to the client (stopped, output, memory, visorbus/changed, ...). */
  | { type: 'event'; event: string; body?: unknown }
  /** The worker's state changed (the session uses it for pause and request checks). */
  | { type: 'state'; state: WorkerState };

export type WorkerState = 'idle' | 'running' | 'stopped' | 'ended';

// ---- checkpoints: the session's standby workers (checkpoints.ts, worker/controller.ts) ----

/** A position in the history: event n, and w guest-memory writes after it. */
export interface Pos {
  n: number;
  w: number;
}

export interface PoolStopInfo {
  reason: string;
  description: string;
  text?: string;
  hitBreakpointIds?: number[];
}

export interface PoolFound {
  pos: Pos;
  info: PoolStopInfo;
}

/** Where a worker goes: straight to a position, or searching for the last match before `limit`. */
export type PoolPlan =
  | {
      phase: 'find';
      finder: { kind: 'event' } | { kind: 'activation'; callN: number } | { kind: 'breakpoints' };
      limit: Pos;
      found?: PoolFound;
      fallback: PoolFound;
      label: string;
      scout?: boolean;
    }
  | { phase: 'goto'; target: Pos; info: PoolStopInfo; label: string };

/**
 * What the session has seen of the history, handed from the worker that plans a trip to the
 * one that takes over: the checksum at each position stopped at (a second visit that differs
 * means a driver is not deterministic), and the furthest event stopped at (output up to it
 * is printed again, marked). A trip drops the checksums past its target (that future may
 * differ) but not the furthest point: its output was printed all the same.
 */
export interface PoolSeen {
  visited: [string, number][];
  furthest: number;
}

/** An intervention of the debugger (memory, sysfs, console command) at its position. */
export interface PoolJournalEntry {
  kind: string;
  pos: Pos;
}

/** Client capabilities the worker adapts its output to. */
export interface ClientInfo {
  supportsProgressReporting?: boolean;
  supportsMemoryEvent?: boolean;
  supportsInvalidatedEvent?: boolean;
  supportsVariableType?: boolean;
  columnsStartAt1?: boolean;
}

/** Exception breakpoint filters, shown as checkboxes in the Breakpoints view. */
export const EXCEPTION_FILTERS = [
  { filter: 'probe', label: 'Driver probe failure', description: 'A function driver probe() returned an error or threw', default: false },
  { filter: 'pauseResume', label: 'pause/resume failure', description: 'A pause() or resume() failed, or completed with an error status', default: false },
  {
    filter: 'channelInterrupt',
    label: 'channel_interrupt failure',
    description: 'channel_interrupt() threw or a channel operation in it failed',
    default: false,
  },
  {
    filter: 'controlvm',
    label: 'controlvm error response',
    description: 'visorchipset answered a controlvm message with an error (or lost it)',
    default: false,
  },
  { filter: 'overflow', label: 'Signal queue overflow', description: 'signalinsert found a full queue (num_overflows bumped)', default: false },
  { filter: 'driverError', label: 'Driver error (throw)', description: 'A driver callback threw or broke the callback contract', default: true },
  {
    filter: 'kernelOops',
    label: 'Kernel oops',
    description: 'The guest kernel would crash here: a divide by zero or an access outside the channel in a channel operation (bad queue header)',
    default: true,
  },
  {
    filter: 'pausedAccess',
    label: 'Channel access while paused',
    description: 'A driver touched its channel after a successful pause() (the kernel lets it: a plain memcpy)',
    default: true,
  },
  { filter: 'expect', label: 'Failed expect', description: 'An expect line of the scenario did not hold', default: false },
] as const;

export type ExceptionFilterId = (typeof EXCEPTION_FILTERS)[number]['filter'];
