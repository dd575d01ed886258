/**
 * The worker's end of the main-thread link. Requests arrive on a MessagePort; the main
 * thread rings a doorbell (an Int32 in shared memory) after each one, so the worker can
 * block with Atomics.wait while it is stopped inside the model and still fetch requests
 * synchronously with receiveMessageOnPort.
 */
import { MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { CTRL, WorkerMessage, WorkerRequest } from '../workerlink';

export class Link {
  /** Doorbell value up to which requests have been fetched. */
  private seen = 0;

  constructor(
    private readonly port: MessagePort,
    readonly ctrl: Int32Array,
  ) {}

  /** Cheap check for the hook: has a request arrived since the last fetch? */
  pending(): boolean {
    return Atomics.load(this.ctrl, CTRL.DOORBELL) !== this.seen;
  }

  pauseRequested(): boolean {
    return Atomics.load(this.ctrl, CTRL.PAUSE) !== 0;
  }

  clearPause(): void {
    Atomics.store(this.ctrl, CTRL.PAUSE, 0);
  }

  /** The next request, without blocking. */
  poll(): WorkerRequest | undefined {
    const bell = Atomics.load(this.ctrl, CTRL.DOORBELL);
    const m = receiveMessageOnPort(this.port);
    if (m) return m.message as WorkerRequest;
    this.seen = bell;
    return undefined;
  }

  /** The next request, blocking until one arrives. */
  next(): WorkerRequest {
    for (;;) {
      const bell = Atomics.load(this.ctrl, CTRL.DOORBELL);
      const m = receiveMessageOnPort(this.port);
      if (m) return m.message as WorkerRequest;
      this.seen = bell;
      Atomics.wait(this.ctrl, CTRL.DOORBELL, bell);
    }
  }

  post(msg: WorkerMessage): void {
    this.port.postMessage(msg);
  }

  event(event: string, body?: unknown): void {
    this.post({ type: 'event', event, body });
  }
}
