/**
 * A run of the scenario from its start: reading and checking the scenario a launch names,
 * opening a fresh ScenarioRun for a run plan (a new scenario, a restart, or a replay of the
 * same one), wiring the stop hook into it, and closing the one it replaces.
 */
import * as path from 'node:path';
import type { ScenarioRun } from '../../scenario/runner';
import type { Scenario } from '../../scenario/ast';
import { parseScenario, formatDiagnostic } from '../../scenario/parser';
import { newRun, readScenarioFile, ScenarioFileError } from '../../host/scenariofile';
import { EmulatorError } from '../../emulator';
import { HostFiles } from '../../backend/hostfiles';
import type { LaunchArguments } from '../contract';
import { launchArgumentsError } from '../launchschema';
import { forgetFiles } from './stack';
import { UserError } from './stopstate';
import type { Journal, RunPlan } from './journal';
import type { BreakpointBook } from './breakpointbook';
import type { Output } from './output';
import type { StackView } from './stackview';
import type { Timeline } from './timeline';
import type { EventHook } from './eventhook';

/** The parts a new run resets and hooks into. */
export interface RunParts {
  readonly journal: Journal;
  readonly book: BreakpointBook;
  readonly out: Output;
  readonly stack: StackView;
  readonly timeline: Timeline;
}

/** The scenario a launch (or restart) names, parsed; its errors refuse the launch. */
export function readScenario(opts: LaunchArguments): Scenario {
  if (typeof opts.scenario !== 'string' || !opts.scenario.trim()) throw new UserError('launch: "scenario" must name a .visor file', true);
  const file = path.resolve(opts.scenario);
  let text: string;
  try {
    text = readScenarioFile(file);
  } catch (e) {
    if (e instanceof ScenarioFileError)
      throw new UserError(`Cannot debug ${file}: ${e.message.startsWith(file) ? e.message.slice(file.length + 2) : e.message}`, true);
    throw e;
  }
  const sc = parseScenario(text, file);
  const errors = sc.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    const shown = errors.slice(0, 20).map((d) => formatDiagnostic(d));
    if (errors.length > 20) shown.push(`... and ${errors.length - 20} more`);
    throw new UserError(`The scenario has ${errors.length} error(s):\n${shown.join('\n')}`, true);
  }
  return sc;
}

export function normalizeOpts(opts: LaunchArguments): LaunchArguments {
  const error = launchArgumentsError(opts as unknown as Record<string, unknown>, 'launch');
  if (error) throw new UserError(error, true);
  return opts;
}

/** Close a run: its hooks first, so nothing it does while shutting down reaches the debugger. */
export function disposeRun(old: ScenarioRun | undefined): void {
  if (!old) return;
  old.emu.engine.log.hook = undefined;
  old.emu.memory.setWriteWatcher(undefined);
  try {
    old.emu.shutdown();
  } catch {
    /* a back-end failing to close must not stop a restart */
  }
}

/** A new ScenarioRun for the plan (`old`, already disposed, is the run it replaces). */
export function openRun(p: RunParts, plan: RunPlan, opts: LaunchArguments, scenario: Scenario, old: ScenarioRun | undefined): ScenarioRun {
  const userFiles = old ? [...old.emu.driverFiles.values()] : [];
  // User driver modules start from a clean module state in every run (determinism, reloads).
  for (const f of [...userFiles, ...(opts.drivers ?? []).map((d) => path.resolve(path.dirname(scenario.file), d))]) {
    try {
      delete require.cache[require.resolve(f)];
    } catch {
      /* not loaded */
    }
  }
  const files = { roots: opts.workspaceFolders, allowOutside: opts.allowOutsideFiles };
  if (plan.fresh) {
    forgetFiles();
    p.journal.images.snapshot(scenario, new HostFiles(files));
    p.timeline.reset();
  } else if (plan.replay) p.journal.images.restore(old?.emu.hostFiles, (text) => p.out.output('stderr', text));
  try {
    return newRun(scenario, {
      autoload: opts.autoload,
      pollIntervalMs: opts.pollIntervalMs,
      allowUserDrivers: opts.allowUserDrivers,
      fixKernelBugs: opts.fixKernelBugs,
      files,
    });
  } catch (e) {
    if (e instanceof EmulatorError) throw new UserError(`the emulator did not start: ${e.message}`, true);
    throw e;
  }
}

/** Hook the debugger into a run that has just become the worker's, load the user's drivers, apply early interventions. */
export function startRun(p: RunParts, hook: EventHook, run: ScenarioRun, plan: RunPlan, opts: LaunchArguments, scenario: Scenario): void {
  p.journal.newRun(plan.replay);
  p.book.newRun();
  const emu = run.emu;
  emu.engine.log.hook = (ev, frames) => hook.onEvent(ev, frames);
  emu.memory.setWriteWatcher((addr, len) => hook.onWrite(addr, len));
  emu.onChanged(() => {
    p.out.topologyChanged();
    p.stack.topologyChanged();
  });
  emu.onDriverRegistered((drv) => hook.wrapDriver(drv));
  p.journal.passively(() => {
    for (const d of opts.drivers ?? []) {
      const file = path.resolve(path.dirname(scenario.file), d);
      const err = emu.loadDriver(file, true, false);
      if (err) throw new UserError(`driver module ${d}: ${err}`, true);
    }
  });
  for (const f of emu.driverFiles.values()) p.stack.sources.generated.add(f);
  // Interventions made before the first step (stopped at nothing yet) apply now.
  p.journal.applyUpTo(emu.engine.log.count);
  p.book.readDataValues();
  if (plan.fresh) p.book.verifyLineBps(true);
}
