/**
 * What a scenario command's handler sees of the run it is part of: the emulator, the
 * scenario's folder (relative paths), whether time may run, the controlvm delivery and
 * the expect results so far. A handler that cannot carry out its line throws a
 * StepError; the run records it at the line and goes on with the next one.
 */
import type { Emulator } from '../emulator';
import type { ControlvmMessage } from '../protocol/controlvm';
import type { DeviceRef, ExpectOp } from './ast';

/** The outcome of one `expect` line. */
export interface ExpectResult {
  file: string;
  line: number;
  column: number;
  subject: string;
  op: ExpectOp;
  expected: string;
  actual: string;
  pass: boolean;
}

export interface StepRun {
  readonly emu: Emulator;
  /** The scenario file, as the run reports it. */
  readonly file: string;
  /** Directory of the scenario file, for relative paths (driver modules, disk images). */
  readonly baseDir: string;
  /** True while a command runs with the model stopped: controlvm messages are queued, not waited for. */
  queueOnly(): boolean;
  readonly expects: ExpectResult[];
  /** Queue a controlvm message and run until the guest ACKs it; the guest's responses so far. */
  deliver(msg: ControlvmMessage): ControlvmMessage[];
}

/** A line that could not be carried out (the message is the user's). */
export class StepError extends Error {}

export function targetName(t: DeviceRef | 'controlvm'): string {
  return t === 'controlvm' ? 'controlvm' : `${t.bus}:${t.dev}`;
}
