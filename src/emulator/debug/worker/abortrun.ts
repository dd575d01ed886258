/**
 * Abandoning a run: the throwable that unwinds the model back to the run loop, which then
 * carries out its plan (restart, step back, travel); see docs/design.md.
 */
import { printable } from '../../protocol/printable';
import type { RunPlan } from './journal';

/** Thrown through the model to abandon a run (restart, step back); never an Error, never caught by the model on purpose. */
export class AbortRun {
  constructor(readonly plan: RunPlan) {}
}

/** An internal error as the client sees it: its message (a RangeError's too), never a stack. */
export function internalText(e: unknown): string {
  return printable(e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e));
}
