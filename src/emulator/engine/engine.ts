/**
 * The engine: the virtual clock, the numbered event log with its stop hook, the kernel
 * log and the uevent stream. Every model component reaches time and events through it,
 * which keeps the model deterministic and observable.
 */
import { Clock, DEFAULT_HZ } from './clock';
import { EventKind, EventLog, EventLogOptions, Frame } from './events';

export interface Uevent {
  jiffies: number;
  action: string;
  devpath: string;
  env: Record<string, string>;
}

export type KlogLevel = 'err' | 'warn' | 'info' | 'debug';

export interface EngineOptions extends EventLogOptions {
  hz?: number;
}

export class Engine {
  readonly clock: Clock;
  readonly log: EventLog;
  readonly uevents: Uevent[] = [];
  readonly klogLines: string[] = [];

  constructor(opts: EngineOptions = {}) {
    this.clock = new Clock(opts.hz ?? DEFAULT_HZ);
    this.log = new EventLog(opts);
  }

  get jiffies(): number {
    return this.clock.jiffies;
  }

  emit(kind: EventKind, subject: string, text: string, data?: Record<string, string | number | boolean>, signature?: number): void {
    this.log.emit(this.clock.jiffies, kind, this.log.currentThread(), subject, text, data, signature);
  }

  within<T>(frame: Frame, fn: () => T): T {
    return this.log.within(frame, fn);
  }

  /**
   * A kernel-style log line: "[    1.234000] visorbus vbus2:dev0: probe failed: -19". An
   * `err` line is an error event unless `reported`: its caller emits the one error event of
   * that failure, and the line is only its kernel log text.
   */
  klog(level: KlogLevel, subject: string, text: string, data?: Record<string, string | number | boolean>, reported = false): void {
    const secs = (this.clock.jiffies / this.clock.hz).toFixed(6).padStart(12);
    const line = `[${secs}] ${subject}: ${text}`;
    this.klogLines.push(line);
    if (this.klogLines.length > 10000) this.klogLines.splice(0, 5000);
    this.emit(level === 'err' && !reported ? 'error' : 'log', subject, text, { level, ...data });
  }

  /** The kernel's uevent_seqnum: every uevent sent takes the next one. */
  private seqnum = 0;

  /**
   * kobject_uevent_env: ACTION, DEVPATH and SUBSYSTEM first, then the caller's and the
   * subsystem's variables (`env`, in order), then SEQNUM.
   */
  uevent(action: string, devpath: string, subsystem: string, env: Record<string, string>): void {
    const full: Record<string, string> = { ACTION: action, DEVPATH: devpath, SUBSYSTEM: subsystem, ...env, SEQNUM: String(++this.seqnum) };
    const u: Uevent = { jiffies: this.clock.jiffies, action, devpath, env: full };
    this.uevents.push(u);
    if (this.uevents.length > 10000) this.uevents.splice(0, 5000);
    const envText = Object.entries(full)
      .filter(([k]) => k !== 'ACTION' && k !== 'DEVPATH')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    this.emit('uevent', devpath, `${action} ${devpath} ${envText}`);
  }
}
