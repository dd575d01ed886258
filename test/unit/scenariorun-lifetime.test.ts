// Scenario runs one after another on one emulator (the soak drives 58,000 of them): the
// emulator must not keep a finished run alive, and a later run's kernel oops is an error of
// the later run's line, not of every run before it.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Emulator } from '../../src/emulator/emulator';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import { parseScenario } from '../../src/emulator/scenario/parser';
import { standardOptions } from '../../src/emulator/host/scenariofile';
import { collector } from '../../src/emulator/debug/worker/heapsettle';

const FILE = path.join(__dirname, 'lifetime.visor');

function run(emu: Emulator, text: string): ScenarioRun {
  const r = new ScenarioRun(emu, parseScenario(text, FILE));
  r.runToEnd();
  return r;
}

describe('scenario runs one after another on one emulator', () => {
  it('a finished run is not kept alive by the emulator', async () => {
    const emu = new Emulator(standardOptions(FILE, { keepEvents: false }));
    run(emu, 'chipset init\nbus create 2\n');
    const refs: WeakRef<ScenarioRun>[] = [];
    for (let i = 0; i < 50; i++) refs.push(new WeakRef(run(emu, 'wait 1ms\n')));
    // WeakRefs hold their target until the current job ends.
    await new Promise((r) => setImmediate(r));
    collector()!();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.ok(alive <= 1, `${alive} of 50 finished runs still alive`);
  });

  it('a kernel oops is an error of the run whose line led to it, not of the runs before', () => {
    const emu = new Emulator(standardOptions(FILE, { keepEvents: false }));
    const first = run(emu, 'chipset init\nbus create 3 name=console\ndevice create 3:0 type=keyboard\ninput 3:0 open\n');
    assert.deepEqual(first.errors, []);
    const second = run(emu, 'memory write 3:0+188 u32 0\nmemory write 3:0+196 u32 1\nwait 50ms\n');
    assert.equal(second.errors.length, 1, JSON.stringify(second.errors));
    assert.match(second.errors[0].message, /kernel oops: divide error in visorchannel_signalremove/);
    assert.deepEqual(first.errors, [], "the first run's errors stay its own");
  });
});
