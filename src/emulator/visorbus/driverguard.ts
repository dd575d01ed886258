/**
 * Driver code runs under a guard: every driver callback, timer and module load says what
 * it is while it runs. The command line uses it two ways:
 *  - a watchdog thread (host/watchdog.ts) sees through a shared counter that one piece of
 *    driver code has been running too long (a `while (true) {}`) and stops the run with a
 *    report that names it and shows its stack;
 *  - `process.exit()` called from driver code throws DriverExit instead of ending the
 *    emulator, so it is reported like any other throw from the driver.
 * Cost on the hot path: two stores (and two atomic stores when a watchdog is on).
 */

const EXIT_GUARD = Symbol.for('visorbus.exitGuard');

let ctl: Int32Array | undefined;
let seq = 0;
let depth = 0;
let current: string | undefined;
let userCodeHook: (() => void) | undefined;

/** `process.exit()` called from driver code. */
export class DriverExit extends Error {
  constructor(
    readonly code: string | number | null | undefined,
    readonly where: string | undefined,
  ) {
    super(`process.exit(${code ?? ''}) called${where ? ` in ${where}` : ''}: driver code cannot end the emulator, so the call was stopped there`);
  }
}

/** Run driver code `fn`, described by `what` (e.g. "visorhba.probe(vbus2:dev0)"). */
export function guardDriverCode<T>(what: string, fn: () => T): T {
  const outer = current;
  current = what;
  depth++;
  if (ctl) Atomics.store(ctl, 0, ++seq);
  try {
    return fn();
  } finally {
    depth--;
    current = outer;
    if (ctl) Atomics.store(ctl, 0, depth ? ++seq : 0);
  }
}

/** guardDriverCode for a driver method called with one argument (`self.method(arg)`), without a closure. */
export function guardDriverMethod<S, A, R>(what: string, self: S, method: (this: S, arg: A) => R, arg: A): R {
  const outer = current;
  current = what;
  depth++;
  if (ctl) Atomics.store(ctl, 0, ++seq);
  try {
    return method.call(self, arg);
  } finally {
    depth--;
    current = outer;
    if (ctl) Atomics.store(ctl, 0, depth ? ++seq : 0);
  }
}

/** The driver code running now (innermost), if any. */
export function currentDriverCode(): string | undefined {
  return depth > 0 ? current : undefined;
}

/** Share the "which driver code runs" counter with a watchdog (slot 0: 0 = none, else changes with every call). */
export function watchDriverCode(shared: Int32Array | undefined): void {
  ctl = shared;
}

/** Called once before the first user driver module loads (the CLI starts its watchdog then). */
export function onUserDriverCode(hook: (() => void) | undefined): void {
  userCodeHook = hook;
}

export function userDriverCodeComing(): void {
  const h = userCodeHook;
  userCodeHook = undefined;
  h?.();
}

/** From now on, `process.exit()` inside driver code throws DriverExit; elsewhere it exits as usual. */
export function installExitGuard(): void {
  const p = process as unknown as Record<symbol, unknown>;
  if (p[EXIT_GUARD]) return;
  const real = process.exit.bind(process);
  p[EXIT_GUARD] = real;
  process.exit = ((code?: string | number | null) => {
    if (depth > 0) throw new DriverExit(code, current);
    return real(code ?? undefined);
  }) as typeof process.exit;
}
