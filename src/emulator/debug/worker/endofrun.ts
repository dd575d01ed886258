/**
 * The end of a run as a place to stop: the stop's reason and text, and the scenario line the
 * call stack shows there (the last one that ran). With `stopAtEnd: false` the session ends
 * instead (see docs/design.md).
 */
import type { ScenarioRun } from '../../scenario/runner';
import { Frame, THREAD } from '../../engine/events';
import type { StopInfo } from './stopstate';

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
