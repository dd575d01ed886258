/**
 * What the worker tells the client besides responses and stops: console output (batched,
 * with the scenario line it belongs to), progress of long runs and replays, and the
 * `visorbus/changed`, `memory` and `invalidated` events that make views refresh.
 */
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import type { ScenarioRun } from '../../scenario/runner';
import type { Scenario } from '../../scenario/ast';
import type { ClientInfo, WorkerState } from '../workerlink';
import type { ChangedEventBody, ChangedReason } from '../contract';
import type { Link } from './link';
import { hexRef } from './decode';

/** While running, views hear that time moved on at least this often (5 a second), even inside one long line. */
export const LIVE_REFRESH_MS = 200;

/** What output needs to know about the session (the controller). */
export interface OutputHost {
  readonly link: Link;
  readonly client: ClientInfo;
  readonly detached: boolean;
  readonly run: ScenarioRun | undefined;
  readonly scenario: Scenario | undefined;
  readonly state: WorkerState;
}

/** Marks output printed again after a step back (the run repeats what it printed before). */
export const REPLAYED_MARKER = '[replayed] ';

/** `text` with every line marked as printed again. */
export function markReplayed(text: string): string {
  return text.replace(/^(?=.)/gm, REPLAYED_MARKER);
}

export class Output {
  private out: { category: string; output: string; line?: number }[] = [];
  private lastFlush = 0;
  private eventTick = 0;
  private topologyDirty = false;
  private lastChanged = 0;
  private progress: { id: string; started: number; shown: boolean; title: string; last: number } | undefined;
  private progressSeq = 0;
  private readonly tickers: ((now: number) => void)[] = [];

  constructor(private readonly host: OutputHost) {}

  private get link(): Link {
    return this.host.link;
  }

  output(category: string, text: string, line?: number): void {
    if (this.host.detached) return;
    this.out.push({ category, output: text, line });
    if (this.out.length >= 256) this.flushOutput();
  }

  flushOutput(): void {
    if (!this.out.length) return;
    const scenario = this.host.scenario;
    const src = scenario ? { name: path.basename(scenario.file), path: scenario.file } : undefined;
    let cur: { category: string; output: string; line?: number } | undefined;
    const send = () => {
      if (!cur) return;
      this.link.event('output', { category: cur.category, output: cur.output, ...(cur.line !== undefined && src ? { source: src, line: cur.line } : {}) });
    };
    for (const o of this.out) {
      if (cur && cur.category === o.category && cur.line === o.line && cur.output.length < 65536) cur.output += o.output;
      else {
        send();
        cur = { ...o };
      }
    }
    send();
    this.out = [];
    this.lastFlush = Date.now();
  }

  /** Counts events (running and replaying share one counter): the caller ticks every so many. */
  countEvent(): number {
    return ++this.eventTick;
  }

  /** The model's topology changed: views hear of it at the next tick. */
  topologyChanged(): void {
    this.topologyDirty = true;
  }

  /** Also call `fn` at every tick (other parts' throttled notices). */
  onTick(fn: (now: number) => void): void {
    this.tickers.push(fn);
  }

  /** Every 256 events while running: flush output, report progress, tell views about topology changes and the time. */
  tick(): void {
    const now = Date.now();
    if (this.out.length && now - this.lastFlush > 50) this.flushOutput();
    if (this.topologyDirty && now - this.lastChanged > 100) this.changed('topology');
    else if (now - this.lastChanged >= LIVE_REFRESH_MS) this.changed('time');
    for (const fn of this.tickers) fn(now);
    if (!this.progress) this.startProgress('Running the scenario');
    else this.progressUpdate();
  }

  changed(reason: ChangedReason): void {
    const run = this.host.run;
    if (!run || this.host.detached) return;
    const e = run.emu.engine;
    this.topologyDirty = false;
    this.lastChanged = Date.now();
    const state = this.host.state;
    const body: ChangedEventBody = {
      reason,
      time: { jiffies: e.jiffies, ms: e.clock.jiffiesToMs(e.jiffies) },
      eventIndex: e.log.count,
      state: state === 'stopped' ? 'stopped' : state === 'ended' ? 'ended' : 'running',
    };
    this.link.event('visorbus/changed', body);
  }

  startProgress(title: string): void {
    if (this.progress) this.endProgress();
    // Unique across the session's workers (a checkpoint's progress reaches the same client).
    this.progress = { id: `visorbus-${threadId}-${++this.progressSeq}`, started: Date.now(), shown: false, title, last: 0 };
  }

  progressUpdate(targetEvent?: number): void {
    const p = this.progress;
    const run = this.host.run;
    if (!p || !run || this.host.detached || !this.host.client.supportsProgressReporting) return;
    const now = Date.now();
    if (now - p.started < 300 || now - p.last < 100) return;
    p.last = now;
    const total = run.scenario.steps.length || 1;
    const pct = targetEvent ? Math.min(100, Math.floor((100 * run.emu.engine.log.count) / targetEvent)) : Math.min(100, Math.floor((100 * run.index) / total));
    const message = targetEvent
      ? `event ${run.emu.engine.log.count} of ${targetEvent}`
      : `line ${run.current?.loc.line ?? run.scenario.steps[total - 1]?.loc.line} (${run.index}/${total} steps)`;
    if (!p.shown) {
      p.shown = true;
      this.link.event('progressStart', { progressId: p.id, title: p.title, message, percentage: pct, cancellable: true });
    } else this.link.event('progressUpdate', { progressId: p.id, message, percentage: pct });
  }

  endProgress(): void {
    const p = this.progress;
    this.progress = undefined;
    if (p?.shown) this.link.event('progressEnd', { progressId: p.id });
  }

  /** A `memory` event for a changed range, by address and relative to its channel (memory views use either). */
  memoryEvent(addr: number, len: number): void {
    const emu = this.host.run?.emu;
    if (this.host.detached || !emu || !this.host.client.supportsMemoryEvent) return;
    this.link.event('memory', { memoryReference: hexRef(addr), offset: 0, count: len });
    const chans = [
      { a: emu.chipset.controlvm.physaddr, n: emu.chipset.controlvm.nbytes },
      ...[...emu.bus.devices.values()].map((d) => ({ a: d.visorchannel.physaddr, n: d.visorchannel.nbytes })),
    ];
    for (const c of chans)
      if (addr >= c.a && addr < c.a + c.n && addr !== c.a) this.link.event('memory', { memoryReference: hexRef(c.a), offset: addr - c.a, count: len });
  }

  /** Variables and views must refresh after a change made from the debugger. */
  afterChange(): void {
    if (this.host.detached) return;
    if (this.host.client.supportsInvalidatedEvent) this.link.event('invalidated', { areas: ['variables'] });
    this.changed('memory');
  }
}
