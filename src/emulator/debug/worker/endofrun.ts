/**
 * The end of a run as a place to stop: the stop's reason and text, and the scenario line the
 * call stack shows there (the last one that ran). With `stopAtEnd: false` the session ends
 * instead (see docs/design.md).
 */
import type { ScenarioRun } from '../../scenario/runner';
import { Frame, THREAD } from '../../engine/events';
import type { StopInfo } from './stopstate';
import { printable } from '../../protocol/printable';
import { formatRunError } from '../../host/report';

/** The `stopped` reason at the end of the scenario (DAP allows any reason; VS Code shows the description). */
export const END_REASON = 'end';

export function endStopInfo(summary: string): StopInfo {
  return { reason: END_REASON, description: 'Scenario finished', text: summary };
}

/** Said when continue or a forward step is asked for at the end. */
export const AT_END_MESSAGE = 'The scenario has finished: step back, reverse-continue, go to a timeline landmark, restart, or stop the session.\n';

/** The frame of the scenario line that ran last (the place a top-level stop shows). */
export function lastLineFrames(run: ScenarioRun): Frame[] {
  const step = run.scenario.steps[Math.max(0, run.index - 1)];
  return step ? [{ kind: 'scenario', name: `line ${step.loc.line}: ${step.text}`, thread: THREAD.scenario, line: step.loc.line }] : [];
}

/** The run's summary (its first line is the end stop's text) and how many things went wrong. */
export function runSummary(run: ScenarioRun, faults: number): { lines: string[]; bad: number } {
  const emu = run.emu;
  const failed = run.expects.filter((r) => !r.pass);
  const secs = (emu.engine.jiffies / emu.engine.clock.hz).toFixed(3);
  const bad = failed.length + run.errors.length + faults;
  const lines = [
    `Scenario finished: ${emu.engine.log.count} events, virtual time ${secs} s; expect: ${run.expects.length - failed.length} passed, ${failed.length} failed; ${run.errors.length} error(s)${faults ? `; ${faults} internal error(s)` : ''}`,
  ];
  for (const r of failed)
    lines.push(`${r.file}:${r.line}:${r.column}: expect failed: ${printable(r.subject)} ${r.op} ${printable(r.expected)} (actual: ${printable(r.actual)})`);
  for (const e of run.errors) lines.push(formatRunError(e));
  return { lines, bad };
}

/** The stop after something escaped the model that is not a driver's doing (`message`: what the client sees of it). */
export function faultStopInfo(e: unknown, message: string): StopInfo {
  return {
    reason: 'exception',
    description: `Internal error in the emulator: ${message}`,
    text: message,
    exception: { id: 'internal', description: `Internal error in the emulator: ${message}`, message, typeName: e instanceof Error ? e.name : typeof e },
  };
}
