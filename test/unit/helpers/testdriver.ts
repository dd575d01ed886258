/** A small function driver for the core tests: records every callback, optionally polls a queue. */
import { VisorDevice, VisorDriver } from '../../../src/emulator/visorbus/driver';
import { Emulator, EmulatorOptions } from '../../../src/emulator/emulator';
import { ScenarioRun } from '../../../src/emulator/scenario/runner';
import { parseScenario } from '../../../src/emulator/scenario/parser';

export const TEST_GUID = '11111111-2222-3333-4444-555555555555';

export interface Recorder {
  calls: string[];
}

export function testDriver(rec: Recorder, opts: { name?: string; poll?: boolean; probeResult?: number; throwIn?: string; completePause?: boolean; completeResume?: boolean; enableTwice?: boolean } = {}): VisorDriver {
  const name = opts.name ?? 'testdrv';
  return {
    name,
    channelTypes: [{ guid: TEST_GUID, name: 'testtype', minBytes: 128, version: 1 }],
    probe(dev: VisorDevice) {
      rec.calls.push(`probe ${dev.name}`);
      if (opts.throwIn === 'probe') throw new Error('probe exploded');
      if (opts.probeResult) return opts.probeResult;
      dev.driverData = { polls: 0 };
      if (opts.poll) dev.enableChannelInterrupts();
      if (opts.enableTwice) rec.calls.push(`enable again ${dev.enableChannelInterrupts()}`);
      return 0;
    },
    remove(dev) {
      rec.calls.push(`remove ${dev.name}`);
    },
    pause(dev, complete) {
      rec.calls.push(`pause ${dev.name}`);
      dev.disableChannelInterrupts();
      if (opts.completePause !== false) complete(0);
      return 0;
    },
    resume(dev, complete) {
      rec.calls.push(`resume ${dev.name}`);
      if (opts.poll) dev.enableChannelInterrupts();
      if (opts.completeResume !== false) complete(0);
      return 0;
    },
    channelInterrupt(dev) {
      const st = dev.driverData as { polls: number };
      st.polls++;
      rec.calls.push(`poll ${dev.name} @${dev.kernel.jiffies()}`);
      if (opts.throwIn === 'channel_interrupt') throw new Error('poll exploded');
      const buf = new Uint8Array(128);
      // echo every signal of queue 0 back on queue 1: two channel operations in one callback
      while (dev.channel.signalRemove(0, buf) === 0) dev.channel.signalInsert(1, buf);
    },
  };
}

/** Test scenarios load test drivers with a `log "load:NAME"` line (the parser knows only real driver names). */
function preprocess(text: string): string {
  return text.replace(/^driver load (test\w*)$/gm, 'log "load:$1"');
}

export function makeRun(text: string, drivers: Record<string, () => VisorDriver>, opts: EmulatorOptions = {}): ScenarioRun {
  const sc = parseScenario(preprocess(text), '/tmp/test.visor');
  const errs = sc.diagnostics.filter((d) => d.severity === 'error');
  if (errs.length) throw new Error('scenario errors: ' + errs.map((d) => `${d.line}:${d.column} ${d.message}`).join('; '));
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

/** Run to the end (or `count` steps), honouring `log "load:NAME"` lines. */
export function runSteps(r: ScenarioRun, count = Infinity): void {
  for (let i = 0; i < count && !r.done; i++) {
    const s = r.current!;
    r.step();
    if (s.command.kind === 'log' && s.command.message.startsWith('load:')) {
      const err = r.emu.loadDriver(s.command.message.slice(5), false);
      if (err) throw new Error(err);
    }
  }
}
