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

/** Data the worker starts with. */
export interface WorkerData {
  ctrl: SharedArrayBuffer;
}

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

/** The launch (and attach-with-scenario) options the worker understands. */
export interface LaunchOptions {
  scenario: string;
  stopOnEntry?: boolean;
  drivers?: string[];
  autoload?: boolean;
  pollIntervalMs?: number;
  trace?: boolean;
  allowUserDrivers?: boolean;
  /** Host files a scenario names may be outside its folder and the workspace (the user opted in). */
  allowOutsideFiles?: boolean;
  /** Folders a scenario's host files may be in besides its own (the workspace). */
  workspaceFolders?: string[];
  hz?: number;
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
  { filter: 'channelInterrupt', label: 'channel_interrupt failure', description: 'channel_interrupt() threw or a channel operation in it failed', default: false },
  { filter: 'controlvm', label: 'controlvm error response', description: 'visorchipset answered a controlvm message with an error (or lost it)', default: false },
  { filter: 'overflow', label: 'Signal queue overflow', description: 'signalinsert found a full queue (num_overflows bumped)', default: false },
  { filter: 'driverError', label: 'Driver error (throw / channel access while paused)', description: 'A driver callback threw, or a driver touched its channel while paused', default: true },
  { filter: 'expect', label: 'Failed expect', description: 'An expect line of the scenario did not hold', default: false },
] as const;

export type ExceptionFilterId = (typeof EXCEPTION_FILTERS)[number]['filter'];
