/**
 * The command line's driver watchdog. A run executes on the main thread, synchronously;
 * a user driver that never returns (`while (true) {}`) would hang it for ever. A small
 * thread watches the driver-code counter of visorbus/driverguard.ts: when one piece of
 * driver code has run longer than the limit (wall time), it
 *  1. asks the main thread, through the inspector (which interrupts running JavaScript),
 *     to note what runs and its JavaScript stack — the stuck driver's frames on top;
 *  2. sends SIGINT to the process: the run executes inside a `vm` script with
 *     breakOnSigint, so V8 stops the loop and the run's caller gets an exception;
 *  3. disconnects; as a last resort, when the main thread does not come back (blocked in
 *     a system call), it reports and kills the process itself.
 * The CLI then prints the report and exits 1.
 */
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { currentDriverCode, onUserDriverCode, watchDriverCode } from '../visorbus/driverguard';

const STALL_KEY = Symbol.for('visorbus.driverStall');
const RUN_KEY = Symbol.for('visorbus.interruptibleRun');

/** Slots of the shared array: [0] driver-code counter, [1] stall noted, [2] stop. */
const SLOT = { COUNTER: 0, NOTED: 1, STOP: 2 } as const;

export interface Stall {
  what: string;
  ms: number;
  stack: string[];
}

/** The run was interrupted: by the watchdog (stall set) or by the user's Ctrl-C. */
export class RunInterrupted extends Error {
  constructor(readonly stall: Stall | undefined) {
    super(stall ? stallText(stall) : 'interrupted (SIGINT)');
  }
}

export function stallText(s: Stall): string {
  const frames = s.stack.length ? `\n${s.stack.map((f) => `    ${f}`).join('\n')}` : '';
  return `driver code ${s.what} did not return within ${(s.ms / 1000).toFixed(1)} s of wall time (an endless loop?); the run was stopped there${frames}`;
}

/** The watchdog thread (runs as an eval'd worker: no imports, only require). */
function watchdogThread(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ctl = new Int32Array(workerData.ctl as SharedArrayBuffer);
  const limit = workerData.timeoutMs as number;
  let last = 0;
  let since = Date.now();
  const fire = (ms: number): void => {
    let session: import('node:inspector').Session | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const inspector = require('node:inspector') as typeof import('node:inspector');
      session = new inspector.Session();
      session.connectToMainThread();
      session.post('Runtime.evaluate', { expression: `globalThis[Symbol.for('visorbus.driverStall')](${ms})` });
      Atomics.wait(ctl, 1, 0, 2000);
    } catch {
      /* no inspector: report without a stack */
    }
    process.kill(process.pid, 'SIGINT');
    // The main thread, back from the loop, sets STOP; then the session can go.
    const back = Atomics.wait(ctl, 2, 0, 3000) !== 'timed-out' || Atomics.load(ctl, 2) !== 0;
    session?.disconnect();
    if (!back) {
      fs.writeSync(
        2,
        `visorbus-emu: driver code did not return within ${(ms / 1000).toFixed(1)} s and cannot be interrupted (blocked in a system call?); killing the emulator\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const tick = (): void => {
    if (Atomics.load(ctl, 2)) return;
    const s = Atomics.load(ctl, 0);
    const now = Date.now();
    if (s === 0 || s !== last) {
      last = s;
      since = now;
    } else if (now - since >= limit) return fire(now - since);
    setTimeout(tick, Math.max(10, Math.min(250, limit / 4)));
  };
  tick();
}

/** The watchdog of one CLI invocation; starts its thread when the first user driver module loads. */
export class DriverWatchdog {
  private worker: Worker | undefined;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(16));
  private stall: Stall | undefined;

  constructor(private readonly timeoutMs: number) {
    if (timeoutMs <= 0) return;
    onUserDriverCode(() => this.start());
    (globalThis as Record<symbol, unknown>)[STALL_KEY] = (ms: number) => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 60;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      this.stall = { what: currentDriverCode() ?? 'driver code', ms, stack: userFrames(stack) };
      Atomics.store(this.ctl, SLOT.NOTED, 1);
      Atomics.notify(this.ctl, SLOT.NOTED);
    };
  }

  private start(): void {
    if (this.worker) return;
    watchDriverCode(this.ctl);
    this.worker = new Worker(`(${watchdogThread.toString()})()`, { eval: true, workerData: { ctl: this.ctl.buffer, timeoutMs: this.timeoutMs } });
    this.worker.unref();
  }

  /**
   * Run `fn` so that the watchdog (or Ctrl-C) can stop it: inside a vm script with
   * breakOnSigint. Throws RunInterrupted when it was stopped.
   */
  run<T>(fn: () => T): T {
    const g = globalThis as Record<symbol, unknown>;
    g[RUN_KEY] = fn;
    try {
      return new vm.Script(`globalThis[Symbol.for('visorbus.interruptibleRun')]()`).runInThisContext({ breakOnSigint: true }) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new RunInterrupted(this.stall);
      throw e;
    } finally {
      delete g[RUN_KEY];
    }
  }

  /** Let the thread go (and wait for it, so that its inspector session is closed before the process exits). */
  async stop(): Promise<void> {
    Atomics.store(this.ctl, SLOT.STOP, 1);
    Atomics.notify(this.ctl, SLOT.STOP);
    watchDriverCode(undefined);
    onUserDriverCode(undefined);
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

/** The frames of a stack that are not the emulator's own (the user's driver), innermost first. */
function userFrames(stack: string): string[] {
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '));
  const own = /[\\/]dist[\\/]emulator\.js|[\\/]src[\\/]emulator[\\/]|[\\/]out[\\/]src[\\/]emulator[\\/]|\(node:|at node:|<anonymous>|evalmachine/;
  const user = frames.filter((f) => !own.test(f));
  return (user.length ? user : frames).slice(0, 12);
}
