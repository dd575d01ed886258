/**
 * The core tests' function driver and scenario runs. The driver is a real driver module,
 * test/unit/fixtures/testdrv.js; scenarios load it with `driver load ./testdrv.js` through
 * the runner's driver-load path (the scenarios are given a file name in that folder).
 */
import * as path from 'node:path';
import { VisorDriver } from '../../../src/emulator/visorbus/driver';
import { Emulator, EmulatorOptions } from '../../../src/emulator/emulator';
import { ScenarioRun } from '../../../src/emulator/scenario/runner';
import { parseScenario } from '../../../src/emulator/scenario/parser';

/** The folder of the driver module (source tree: the .js file is not compiled). */
export const FIXTURES = path.resolve(__dirname, '../../../../test/unit/fixtures');
/** The absolute path of the test driver module. */
export const TESTDRV_FILE = path.join(FIXTURES, 'testdrv.js');

export interface Recorder {
  calls: string[];
}

export interface TestDriverOptions {
  name?: string;
  poll?: boolean;
  probeResult?: number;
  throwIn?: string;
  completePause?: boolean;
  completeResume?: boolean;
  enableTwice?: boolean;
  enableInRemove?: boolean;
}

interface TestDriverModule {
  (): VisorDriver;
  TEST_GUID: string;
  create(rec: Recorder, opts?: TestDriverOptions): VisorDriver;
  configure(factory: () => VisorDriver): void;
}

// The same module instance the emulator's loader requires (one require cache per path).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fixture = require(TESTDRV_FILE) as TestDriverModule;

export const TEST_GUID = fixture.TEST_GUID;

/** A driver object of the test driver module. */
export function testDriver(rec: Recorder, opts: TestDriverOptions = {}): VisorDriver {
  return fixture.create(rec, opts);
}

/**
 * A run of `text`. `drivers` are the built-ins (for autoload and `emu.loadDriver(name)`);
 * `drivers.testdrv`, when given, is also what `driver load ./testdrv.js` loads.
 */
export function makeRun(text: string, drivers: Record<string, () => VisorDriver>, opts: EmulatorOptions = {}): ScenarioRun {
  const sc = parseScenario(text, path.join(FIXTURES, 'test.visor'));
  const errs = sc.diagnostics.filter((d) => d.severity === 'error');
  if (errs.length) throw new Error('scenario errors: ' + errs.map((d) => `${d.line}:${d.column} ${d.message}`).join('; '));
  fixture.configure(drivers.testdrv ?? (() => testDriver({ calls: [] })));
  const emu = new Emulator({
    builtinDrivers: drivers,
    moduleAliases: Object.fromEntries(Object.entries(drivers).map(([n, f]) => [`visorbus:${f().channelTypes[0].guid}`, n])),
    keepEvents: true,
    ...opts,
  });
  return new ScenarioRun(emu, sc);
}

export function runAll(text: string, drivers: Record<string, () => VisorDriver>, opts: EmulatorOptions = {}): ScenarioRun {
  const r = makeRun(text, drivers, opts);
  runSteps(r);
  return r;
}

/** Run to the end (or `count` steps). A `driver load` that fails throws: the test cannot go on. */
export function runSteps(r: ScenarioRun, count = Infinity): void {
  for (let i = 0; i < count && !r.done; i++) {
    const s = r.current!;
    const errors = r.errors.length;
    r.step();
    if (s.command.kind === 'driverLoad' && r.errors.length > errors) throw new Error(r.errors[errors].message);
  }
}
