/**
 * What a stop is and where it is in the history: shared by the controller and the parts
 * it coordinates (breakpoints, journal, stack view), so none of them imports another.
 */
import type { EmuEvent, Frame } from '../../engine/events';
import type { Loc } from './stack';
import type { JsFrame } from './jsstack';

/** A position in the history: event n, and w memory writes after it (w = 0: at the event). */
export interface Pos {
  n: number;
  w: number;
}

export function posCmp(a: Pos, b: Pos): number {
  return a.n !== b.n ? a.n - b.n : a.w - b.w;
}

/** A request answered with an error (showUser: a person must see it). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly showUser = false,
  ) {
    super(message);
  }
}

export interface ExceptionInfo {
  id: string;
  description: string;
  message: string;
  typeName: string;
  stack?: string;
  throwLoc?: Loc;
}

export interface StopInfo {
  reason: string;
  description: string;
  text?: string;
  hitBreakpointIds?: number[];
  exception?: ExceptionInfo;
}

export type Level = { kind: 'line' } | { kind: 'driver'; act: Frame; callN: number };

export interface StopState extends StopInfo {
  id: number;
  pos: Pos;
  ev?: EmuEvent;
  frames: Frame[];
  js: JsFrame[];
  threadId: number;
  level: Level;
  /** The driver callback the stop is in (also at its return), for stepping back inside it. */
  activation?: { act: Frame; callN: number };
  topLevel: boolean;
  /** The trace checksum of the model at this position (compared when a replay comes back here). */
  sum: number;
}

/** How the run goes on until its next stop. */
export type Mode = { kind: 'continue' } | { kind: 'entry' } | { kind: 'free' } | { kind: 'step'; pred: (ev: EmuEvent, frames: readonly Frame[]) => boolean };
