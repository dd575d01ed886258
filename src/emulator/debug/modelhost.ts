/**
 * The session's handle on the model worker: starts it, sends requests (a MessagePort
 * message plus a doorbell ring in shared memory, so a worker blocked in Atomics.wait
 * wakes up), sets the pause flag, and turns the worker's messages into promises and
 * events. The worker's stdout/stderr (a driver's console.log) become Debug Console output
 * instead of reaching the DAP stream.
 */
import * as path from 'node:path';
import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';
import { CTRL, CTRL_BYTES, WorkerMessage, WorkerState } from './workerlink';
import { releaseImageLocksOfThread } from '../backend/hostfiles';

export class WorkerError extends Error {
  constructor(
    message: string,
    readonly showUser = false,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (body: unknown) => void;
  reject: (e: Error) => void;
  cmd: string;
  timer?: NodeJS.Timeout;
}

export type HostListener = {
  event(event: string, body: unknown): void;
  /** The worker is gone (crash, exit, terminate). */
  gone(reason: string | undefined): void;
};

/** The model worker runs from the same bundle as the host (dist/emulator.js starts itself as a worker). */
export function workerFile(): string {
  return require.main?.filename ?? path.join(__dirname, 'emulator.js');
}

/** Marks the worker's workerData so the bundle knows to run the model, not the CLI. */
export const MODEL_WORKER_ROLE = 'visorbus-model';

export class ModelHost {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctrl: Int32Array;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  state: WorkerState = 'idle';
  alive = true;
  private listener: HostListener | undefined;
  private exitReason: string | undefined;

  constructor(file = workerFile()) {
    const { port1, port2 } = new MessageChannel();
    const sab = new SharedArrayBuffer(CTRL_BYTES);
    this.ctrl = new Int32Array(sab);
    this.port = port1;
    const execArgv = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
    if (!execArgv.includes('--enable-source-maps')) execArgv.push('--enable-source-maps');
    this.worker = new Worker(file, {
      workerData: { role: MODEL_WORKER_ROLE, port: port2, ctrl: sab },
      transferList: [port2],
      execArgv,
      stdout: true,
      stderr: true,
      resourceLimits: { stackSizeMb: 16 },
    });
    this.port.on('message', (m: WorkerMessage) => this.onMessage(m));
    this.worker.stdout.setEncoding('utf8');
    this.worker.stderr.setEncoding('utf8');
    this.worker.stdout.on('data', (d: string) => this.listener?.event('output', { category: 'stdout', output: d }));
    this.worker.stderr.on('data', (d: string) => this.listener?.event('output', { category: 'stderr', output: d }));
    this.worker.on('error', (e) => {
      this.exitReason = e instanceof Error ? (e.stack ?? e.message) : String(e);
    });
    const thread = this.worker.threadId;
    this.worker.on('exit', (code) => {
      this.alive = false;
      // A worker stopped for good (terminate) cannot give back its image locks itself.
      releaseImageLocksOfThread(thread);
      const why = this.exitReason ?? (code ? `exit code ${code}` : undefined);
      for (const p of this.pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.reject(new WorkerError(`the emulator stopped${why ? `: ${why}` : ''}`));
      }
      this.pending.clear();
      this.listener?.gone(why);
    });
  }

  /** Route events to a session (a kept model is handed from one client to the next). */
  attach(l: HostListener | undefined): void {
    this.listener = l;
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'response': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (p.timer) clearTimeout(p.timer);
        if (m.ok) p.resolve(m.body);
        else p.reject(new WorkerError(m.error, m.showUser));
        return;
      }
      case 'state':
        this.state = m.state;
        return;
      case 'event':
        this.listener?.event(m.event, m.body);
        return;
    }
  }

  /** Send a request; the worker answers at once when idle or stopped, at the next event boundary when running. */
  request(cmd: string, args?: unknown, timeoutMs = 20000): Promise<unknown> {
    if (!this.alive) return Promise.reject(new WorkerError(`the emulator is not running${this.exitReason ? ` (${this.exitReason})` : ''}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, cmd };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (!this.pending.delete(id)) return;
          reject(
            new WorkerError(
              `the emulator did not answer '${cmd}' within ${timeoutMs / 1000} s: a driver callback may be stuck in a loop (terminate the session to stop it)`,
            ),
          );
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.port.postMessage({ id, cmd, args });
      Atomics.add(this.ctrl, CTRL.DOORBELL, 1);
      Atomics.notify(this.ctrl, CTRL.DOORBELL);
    });
  }

  /** The heap and array-buffer bytes of this worker's isolate (a checkpoint's cost). */
  async heapBytes(): Promise<number> {
    const r = (await this.request('pool/memory', undefined, 5000)) as { bytes: number };
    return r.bytes;
  }

  /** Ask the running model to stop at its next event. */
  pause(): void {
    Atomics.store(this.ctrl, CTRL.PAUSE, 1);
  }

  /** Stop the worker: politely first (back-ends close their files), then for sure. */
  async dispose(): Promise<void> {
    if (!this.alive) return;
    this.listener = undefined;
    const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.request('shutdown', undefined, 0).catch(() => undefined);
    const t = setTimeout(() => void this.worker.terminate(), 1000);
    await done;
    clearTimeout(t);
  }
}
