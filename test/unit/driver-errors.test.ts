import * as assert from 'node:assert/strict';
import { makeRun, runAll, runSteps, testDriver, TEST_GUID } from './helpers/testdriver';
import type { EmuEvent } from '../../src/emulator/engine/events';

const T = TEST_GUID;

function errorEvents(events: readonly EmuEvent[]): EmuEvent[] {
  return events.filter((e) => e.kind === 'error');
}

describe('one error event per failure', () => {
  it('a probe that fails or throws is one error event; its kernel log lines are still printed', () => {
    for (const opts of [{ probeResult: -19 }, { throwIn: 'probe' }]) {
      const r = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\n`, {
        testdrv: () => testDriver({ calls: [] }, opts),
      });
      const errs = errorEvents(r.emu.engine.log.events());
      assert.deepEqual(
        errs.map((e) => e.data?.category),
        [opts.throwIn ? 'exception' : 'probe'],
        JSON.stringify(errs.map((e) => e.text)),
      );
      assert.ok(
        r.emu.engine.klogLines.some((l) => /testdrv probe failed: -(19|22)/.test(l)),
        'the probe failure is in the kernel log',
      );
      if (opts.throwIn) assert.ok(r.emu.engine.klogLines.some((l) => /probe\(\) threw: .*probe exploded/.test(l)));
    }
  });

  it('two failures in one scenario line are two error events: a channel_interrupt that throws at every poll', () => {
    const r = makeRun(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nwait 35ms\n`, {
      testdrv: () => testDriver({ calls: [] }, { poll: true, throwIn: 'channel_interrupt' }),
    });
    runSteps(r, 4);
    const before = r.emu.engine.log.events().length;
    runSteps(r);
    const during = r.emu.engine.log.events().slice(before);
    const polls = during.filter((e) => e.kind === 'call' && e.data?.callback === 'channel_interrupt').length;
    assert.ok(polls >= 2, `polls during the wait: ${polls}`);
    const errs = errorEvents(during);
    assert.equal(errs.length, polls, 'one error event per throwing poll');
    assert.ok(errs.every((e) => e.data?.category === 'exception' && e.data?.callback === 'channel_interrupt'));
  });
});
