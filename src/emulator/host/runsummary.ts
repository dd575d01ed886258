/**
 * The headline of a `run --trace FILE`: while the full event trace goes to FILE, stdout
 * gets only the scenario lines and the kernel log (step, log and error events), and at most
 * SUMMARY_EVENT_LINES of them — the first half as they happen, the last half at the end —
 * so a run of millions of events still has a summary a person (or an editor's output
 * panel) can take in. The lines keep their event numbers, to find them in the trace.
 */
import type { EmuEvent, EventKind } from '../engine/events';
import { formatEvent } from './report';
import type { SyncOut } from './syncout';

/** Most scenario-line and kernel-log events a summary shows. */
export const SUMMARY_EVENT_LINES = 1000;

const HEADLINE_KINDS: ReadonlySet<EventKind> = new Set<EventKind>(['step', 'log', 'error']);

export class RunHeadlines {
  private printed = 0;
  /** The latest lines past the first half, at most half the limit. */
  private tail: string[] = [];
  private skipped = 0;

  constructor(
    private readonly out: SyncOut,
    private readonly hz: number,
    private readonly limit = SUMMARY_EVENT_LINES,
  ) {}

  add(ev: EmuEvent): void {
    if (!HEADLINE_KINDS.has(ev.kind)) return;
    if (this.printed < Math.ceil(this.limit / 2)) {
      this.out.write(formatEvent(ev, this.hz) + '\n');
      this.printed++;
      return;
    }
    this.tail.push(formatEvent(ev, this.hz));
    if (this.tail.length > Math.floor(this.limit / 2)) {
      this.tail.shift();
      this.skipped++;
    }
  }

  /** The held-back last lines, after a note of how many were left out in between. */
  finish(traceFile: string): void {
    if (this.skipped) this.out.write(`# … ${this.skipped} scenario-line and kernel-log events left out here; they are in ${traceFile}\n`);
    for (const l of this.tail) this.out.write(l + '\n');
    this.tail = [];
  }
}
