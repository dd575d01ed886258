/**
 * The young generation after a long run. A long run (a topology build, a continue over a
 * million events) leaves the model's newest objects in V8's young generation, and the next
 * scavenges copy them: 10 to 16 ms each at 1,000 devices, paid in the user's next steps.
 * After a run longer than LONG_RUN_MS the worker collects the young generation twice (an
 * object is promoted at its second scavenge) before it announces the stop, inside the wait
 * the user already had. Short runs, such as steps, are left alone.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export const LONG_RUN_MS = 200;

type Gc = (options?: { type: 'minor' | 'major' }) => void;
let gc: Gc | undefined;

/** V8's collector, exposed to this isolate on first use. */
export function collector(): Gc | undefined {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as Gc | undefined;
  }
  return gc;
}

/** A run of `ranMs` milliseconds just stopped: after a long one, promote what it left in the young generation. */
export function settleAfterRun(ranMs: number): boolean {
  if (!(ranMs > LONG_RUN_MS)) return false;
  const collect = collector();
  collect?.({ type: 'minor' });
  collect?.({ type: 'minor' });
  return collect !== undefined;
}
