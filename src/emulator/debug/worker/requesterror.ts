/**
 * How a failed request is answered: a user's mistake (a bad expression, field or argument) is
 * said as it is, and may be shown to the user; anything else is an internal error, named as
 * such with its message and never a stack. An abandoned run is not a failure: it goes on
 * unwinding to the run loop.
 */
import { FieldError } from '../../inspect/fields';
import { AbortRun, internalText } from './abortrun';
import { ExprError } from './expr';
import { UserError } from './stopstate';

export function requestError(e: unknown): { message: string; showUser: boolean } {
  if (e instanceof UserError) return { message: e.message, showUser: e.showUser };
  if (e instanceof ExprError || e instanceof FieldError) return { message: e.message, showUser: false };
  if (e instanceof AbortRun) throw e;
  return { message: `internal error in the debug adapter: ${internalText(e)}`, showUser: false };
}
