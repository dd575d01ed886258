/**
 * Opening a scenario for a run: read the file with clear errors for every bad input
 * (missing, a directory, too large, unreadable), parse it, and build a ScenarioRun on a
 * fresh Emulator with the built-in drivers and back-ends. Used by the CLI and the DAP host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Emulator, EmulatorOptions } from '../emulator';
import { ScenarioRun } from '../scenario/runner';
import { parseScenario } from '../scenario/parser';
import { Diagnostic, Scenario } from '../scenario/ast';
import { BUILTIN_DRIVERS, MODULE_ALIASES } from '../drivers';
import { createBackends } from '../backend';

/** Scenarios larger than this are refused before reading. */
export const MAX_SCENARIO_BYTES = 256 * 1024 * 1024;

export class ScenarioFileError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
  }
}

export function readScenarioFile(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioFileError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot open (${code ?? String(e)})`);
  }
  if (st.isDirectory()) throw new ScenarioFileError(`${file}: is a directory, not a scenario file`);
  if (!st.isFile()) throw new ScenarioFileError(`${file}: not a regular file`);
  if (st.size > MAX_SCENARIO_BYTES) throw new ScenarioFileError(`${file}: ${st.size} bytes is too large for a scenario (at most ${MAX_SCENARIO_BYTES})`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Parse; throws ScenarioFileError carrying the diagnostics when there are errors. */
export function parseOrThrow(text: string, file: string): Scenario {
  const sc = parseScenario(text, file);
  const errors = sc.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new ScenarioFileError(`${file}: ${errors.length} error(s) in the scenario`, sc.diagnostics);
  return sc;
}

/** The options every run starts from: built-in drivers, module aliases, back-ends. */
export function standardOptions(file: string, extra: EmulatorOptions = {}): EmulatorOptions {
  return {
    builtinDrivers: BUILTIN_DRIVERS,
    moduleAliases: MODULE_ALIASES,
    backends: createBackends(),
    baseDir: path.dirname(path.resolve(file)),
    ...extra,
  };
}

/** A ready-to-step run of `scenario` (already parsed) on a fresh emulator. */
export function newRun(scenario: Scenario, extra: EmulatorOptions = {}): ScenarioRun {
  const emu = new Emulator(standardOptions(scenario.file, extra));
  return new ScenarioRun(emu, scenario);
}

export function openRun(file: string, extra: EmulatorOptions = {}): ScenarioRun {
  return newRun(parseOrThrow(readScenarioFile(file), file), extra);
}
