/**
 * Numbered events and the execution-context stack: the debugger's view of the model.
 *
 * Every observable thing the model does (a scenario step, a controlvm message handled,
 * a driver callback entered or left, a channel operation, a uevent, a log line) is one
 * event with a sequence number. `emit` calls the stop hook synchronously, at the event
 * boundary, with the full call context still on the JavaScript stack — so a debugger
 * can stop between two channel operations inside one driver callback, inspect every
 * byte, and then simply return to continue. See docs/design.md.
 */

export type EventKind =
  | 'step' // a scenario line starts
  | 'controlvm' // the chipset took a message off the EVENT queue
  | 'ack' // ... and acknowledged it on the ACK queue
  | 'response' // ... and answered on the REQUEST queue
  | 'call' // a driver callback is entered (probe, remove, pause, resume, channel_interrupt)
  | 'return' // ... and returned
  | 'complete' // a pause/resume completion callback ran
  | 'channel' // a channel operation (signalinsert, signalremove, read, write)
  | 'uevent'
  | 'log'
  | 'error' // something a user must see: driver error, channel corruption, failed expect
  | 'backend'; // a service partition (back-end) action

/** Well-known thread ids; bus polls and back-ends get one thread per bus. */
export const THREAD = {
  scenario: 1,
  controlvm: 2,
  busPoll: (bus: number) => 1000 + bus,
  backend: (bus: number) => 100000 + bus,
} as const;

export function threadName(id: number): string {
  if (id === THREAD.scenario) return 'scenario';
  if (id === THREAD.controlvm) return 'controlvm (visorchipset)';
  if (id >= 100000) return `back-end bus ${id - 100000}`;
  if (id >= 1000) return `visorbus${id - 1000} poll`;
  return `thread ${id}`;
}

export interface EmuEvent {
  /** Sequence number, from 1. */
  n: number;
  jiffies: number;
  kind: EventKind;
  thread: number;
  /** What it is about: "vbus2:dev0", "controlvm", "visorbus2", a driver name. */
  subject: string;
  /** Human-readable description. */
  text: string;
  /** Extra structured facts (error codes, queue numbers, old/new values). */
  data?: Record<string, string | number | boolean>;
}

export type FrameKind = 'scenario' | 'chipset' | 'bus' | 'driver' | 'channel' | 'backend' | 'timer';

/** One level of the model's call context, as the debugger shows it. */
export interface Frame {
  kind: FrameKind;
  /** e.g. "line 7: device create 2:0 type=vhba", "DEVICE_CREATE", "visorhba.probe(vbus2:dev0)". */
  name: string;
  thread: number;
  /** Device this frame acts on ("2:0"), if any. */
  device?: string;
  driver?: string;
  callback?: string;
  /** Scenario line for scenario frames. */
  line?: number;
}

export type StopHook = (ev: EmuEvent, frames: readonly Frame[]) => void;

/** Fold a 32-bit value into the running trace checksum (FNV-1a step on a whole word). */
function mix(h: number, v: number): number {
  return Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
}

/** Each event kind as a number in the checksum. */
const KIND_CODE: Readonly<Record<EventKind, number>> = {
  step: 1,
  controlvm: 2,
  ack: 3,
  response: 4,
  call: 5,
  return: 6,
  complete: 7,
  channel: 8,
  uevent: 9,
  log: 10,
  error: 11,
  backend: 12,
};

/** Event kinds by their KIND_CODE (the ring stores the code). */
const KIND_OF: readonly EventKind[] = (() => {
  const a: EventKind[] = [];
  for (const [k, c] of Object.entries(KIND_CODE) as [EventKind, number][]) a[c] = k;
  return a;
})();

type EventData = Record<string, string | number | boolean>;

/**
 * The last `size` events as parallel arrays written in place: a headless run keeps its recent
 * history without allocating an object per event (the objects are made when someone reads).
 */
class EventRing {
  private next = 0;
  private readonly n: Float64Array;
  private readonly jiffies: Float64Array;
  private readonly kind: Uint8Array;
  private readonly thread: Float64Array;
  private readonly subject: string[];
  private readonly text: string[];
  private readonly data: (EventData | undefined)[];

  constructor(readonly size: number) {
    this.n = new Float64Array(size);
    this.jiffies = new Float64Array(size);
    this.kind = new Uint8Array(size);
    this.thread = new Float64Array(size);
    this.subject = new Array<string>(size).fill('');
    this.text = new Array<string>(size).fill('');
    this.data = new Array<EventData | undefined>(size).fill(undefined);
  }

  put(n: number, jiffies: number, kind: EventKind, thread: number, subject: string, text: string, data: EventData | undefined): void {
    const i = this.next;
    this.n[i] = n;
    this.jiffies[i] = jiffies;
    this.kind[i] = KIND_CODE[kind];
    this.thread[i] = thread;
    this.subject[i] = subject;
    this.text[i] = text;
    this.data[i] = data;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  /** The `count` most recent events (count <= size), oldest first. */
  read(count: number): EmuEvent[] {
    const out: EmuEvent[] = [];
    for (let k = count; k > 0; k--) {
      const i = (this.next - k + this.size) % this.size;
      out.push({
        n: this.n[i],
        jiffies: this.jiffies[i],
        kind: KIND_OF[this.kind[i]],
        thread: this.thread[i],
        subject: this.subject[i],
        text: this.text[i],
        data: this.data[i],
      });
    }
    return out;
  }
}

/** The part of the trace checksum an event's subject and text contribute. */
export function eventSignature(subject: string, text: string): number {
  return mix(fnv(0x811c9dc5, subject), fnv(0x811c9dc5, text));
}

/** FNV-1a over a string, folded into a running 32-bit hash. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface EventLogOptions {
  /** Keep every event in memory (CLI --json, tests). Otherwise only the last `ringSize`. */
  keepAll?: boolean;
  ringSize?: number;
}

export class EventLog {
  count = 0;
  /** Running checksum over every event: equal checksums mean equal traces. */
  checksum = 0x811c9dc5;
  /** Every event, with keepAll; otherwise the recent ones are in `ring`. */
  private readonly kept: EmuEvent[] = [];
  private readonly ring: EventRing | undefined;
  private readonly keepAll: boolean;
  readonly frames: Frame[] = [];
  hook: StopHook | undefined;
  /** Listeners that see every event (DAP output, views). Cheap when empty. */
  private listeners: ((ev: EmuEvent) => void)[] = [];

  constructor(opts: EventLogOptions = {}) {
    this.keepAll = opts.keepAll ?? false;
    if (!this.keepAll) this.ring = new EventRing(opts.ringSize ?? 4096);
  }

  /** FNV-1a of strings seen before: most event texts repeat (polls, queue operations). */
  private readonly hashes = new Map<string, number>();

  private hashOf(str: string): number {
    let h = this.hashes.get(str);
    if (h === undefined) {
      h = fnv(0x811c9dc5, str);
      if (this.hashes.size >= 65536) this.hashes.clear();
      this.hashes.set(str, h);
    }
    return h;
  }

  onEvent(fn: (ev: EmuEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  emit(
    jiffies: number,
    kind: EventKind,
    thread: number,
    subject: string,
    text: string,
    data?: Record<string, string | number | boolean>,
    /** `eventSignature(subject, text)`, when the caller keeps it (hot paths emit the same texts again and again). */
    signature?: number,
  ): void {
    const n = ++this.count;
    const sig = signature ?? mix(this.hashOf(subject), this.hashOf(text));
    this.checksum = mix(mix(mix(this.checksum, KIND_CODE[kind]), sig), jiffies);
    const ring = this.ring;
    if (ring !== undefined) ring.put(n, jiffies, kind, thread, subject, text, data);
    // An event object only for those who take one (the debugger's hook, listeners, keepAll).
    if (ring !== undefined && this.hook === undefined && this.listeners.length === 0) return;
    const ev: EmuEvent = { n, jiffies, kind, thread, subject, text, data };
    if (ring === undefined) this.kept.push(ev);
    for (const l of this.listeners) l(ev);
    if (this.hook) this.hook(ev, this.frames);
  }

  /** Events kept in memory, oldest first (all of them with keepAll, else the last ringSize). */
  events(): readonly EmuEvent[] {
    const ring = this.ring;
    return ring === undefined ? this.kept : ring.read(Math.min(this.count, ring.size));
  }

  push(frame: Frame): void {
    this.frames.push(frame);
  }

  pop(): void {
    this.frames.pop();
  }

  /** Run `fn` inside `frame`; the frame is popped even when `fn` throws. */
  within<T>(frame: Frame, fn: () => T): T {
    this.frames.push(frame);
    try {
      return fn();
    } finally {
      this.frames.pop();
    }
  }

  /** The innermost frame's thread (the thread an event belongs to). */
  currentThread(): number {
    const f = this.frames[this.frames.length - 1];
    return f ? f.thread : THREAD.scenario;
  }
}
