/**
 * How far a `run --progress` has got, as `visorbus-emu: progress P% (line L of N)` lines
 * on stderr. The virtual time of a scenario is almost all in its `wait` lines, so the
 * share of the planned wait time that has passed is the measure; a scenario without
 * waits goes by its lines. A line is printed only when the percentage changes, so a run
 * prints at most about a hundred of them.
 */
import { type Scenario, waitJiffies } from '../scenario/ast';
import type { Clock } from '../engine/clock';
import type { SyncOut } from './syncout';

/** The jiffies all the `wait` lines of a scenario ask for, at the clock's HZ. */
export function plannedWaitJiffies(scenario: Scenario, clock: Clock): number {
  let j = 0;
  for (const s of scenario.steps) {
    const c = s.command;
    if (c.kind !== 'wait') continue;
    j += waitJiffies(c, clock);
  }
  return j;
}

/** The progress line's pattern, for whoever reads stderr (the Run command). */
export const PROGRESS_LINE = /^visorbus-emu: progress (\d+)% \(line (\d+) of (\d+)\)$/;

export class RunProgress {
  private shown = -1;

  constructor(
    private readonly err: SyncOut,
    private readonly lines: number,
    private readonly plannedJiffies: number,
  ) {}

  /** After an event: `line` is the 1-based index of the step running, `jiffies` the clock. */
  update(line: number, jiffies: number): void {
    const share = this.plannedJiffies > 0 ? jiffies / this.plannedJiffies : this.lines ? (line - 1) / this.lines : 0;
    // 100% is said only by done(): the last lines after the last wait still take some time.
    const pct = Math.min(99, Math.floor(share * 100));
    if (pct === this.shown) return;
    this.shown = pct;
    this.print(pct, line);
  }

  done(): void {
    this.print(100, this.lines);
  }

  private print(pct: number, line: number): void {
    this.err.write(`visorbus-emu: progress ${pct}% (line ${line} of ${this.lines})\n`);
    this.err.flush();
  }
}
