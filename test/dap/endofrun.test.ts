/**
 * The end of a run is a stop, not the end of the session: the final state can be inspected
 * and stepped back from, continuing there re-stops with a message, and `stopAtEnd: false`
 * gives the old ending (exited + terminated). While running, `visorbus/changed` keeps coming
 * even inside one long scenario line.
 */
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { VisorClient, fixture, useClient } from './helpers/client';

interface SysfsEntries {
  entries: { name: string; value?: string; target?: string }[];
}

describe('DAP end of run', function () {
  let dc: VisorClient;
  useClient((c) => (dc = c));

  it('stops at the end with the final state inspectable, steps back from it and re-stops on continue', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: false });
    const end = await dc.stopped();
    assert.equal(end.body.reason, 'end');
    assert.equal(end.body.description, 'Scenario finished');
    assert.match(end.body.text ?? '', /Scenario finished: \d+ events.*expect: 1 passed, 0 failed/);
    assert.equal(dc.received.filter((e) => e.event === 'terminated' || e.event === 'exited').length, 0, 'the session goes on');
    const top = await dc.topFrame(end.body.threadId ?? 1);
    assert.equal(top.line, 14, 'the last scenario line');
    const chipset = await dc.scopeVars(top.id, /^Chipset$/);
    assert.equal(chipset.find((v) => v.name === 'initialized')?.value, 'true');
    const dev1 = await dc.custom<SysfsEntries>('visorbus/sysfs', { path: '/sys/bus/visorbus/devices/vbus2:dev1' });
    assert.ok(
      dev1.entries.some((e) => e.name === 'driver'),
      'vbus2:dev1 exists and is bound at the end',
    );
    const changed = dc.received.filter((e) => e.event === 'visorbus/changed').pop()?.body as { state: string; reason: string };
    assert.deepEqual([changed.reason, changed.state], ['stopped', 'stopped']);

    // Continue and next at the end: the same place again, with a message.
    dc.forgetEvents();
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');
    await dc.nextRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');
    assert.match(dc.output('console'), /The scenario has finished: step back/);

    // The last line (an expect) adds no event after its start, so back from the end is the line
    // before it; the device of line 12 is gone before that line ran.
    await dc.stepBackRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'step');
    assert.equal((await dc.topFrame(1)).line, 13);
    await dc.stepBackRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 12);
    await dc.stepBackRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 11);
    const gone = await dc.failing(dc.customRequest('visorbus/sysfs', { path: '/sys/bus/visorbus/devices/vbus2:dev1' }));
    assert.match(gone, /vbus2:dev1|No such file|ENOENT/i);

    // Forward again to the end: a stop, not an ending.
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');
  });

  it('reverse-continues from the end to the last breakpoint hit', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: false }, () =>
      dc.setBreakpointsRequest({ source: { path: fixture('echo.visor') }, breakpoints: [{ line: 9 }] }),
    );
    assert.equal((await dc.stopped()).body.reason, 'breakpoint');
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');
    await dc.reverseContinueRequest({ threadId: 1 });
    const back = await dc.stopped();
    assert.equal(back.body.reason, 'breakpoint');
    assert.equal((await dc.topFrame(1)).line, 9);
  });

  it('ends the session at the end with stopAtEnd: false, and refuses a non-boolean stopAtEnd', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: false, stopAtEnd: false });
    assert.equal(((await dc.next('exited')) as DebugProtocol.ExitedEvent).body.exitCode, 0);
    await dc.next('terminated');
    assert.equal(dc.received.filter((e) => e.event === 'stopped').length, 0);

    const other = new VisorClient();
    await other.start();
    try {
      await other.initializeRequest({ adapterID: 'visorbus', pathFormat: 'path' });
      const msg = await other.failing(other.launchRequest({ scenario: fixture('echo.visor'), stopAtEnd: 'yes' } as DebugProtocol.LaunchRequestArguments));
      assert.match(msg, /"stopAtEnd" must be true or false/);
    } finally {
      await other.stop();
      other.assertSchema();
    }
  });

  it('sends visorbus/changed while running inside one long wait line', async () => {
    await dc.launchWith({ scenario: fixture('longwait.visor'), stopOnEntry: false }, () =>
      dc.setBreakpointsRequest({ source: { path: fixture('longwait.visor') }, breakpoints: [{ line: 72 }] }),
    );
    const atWait = await dc.stopped();
    assert.equal((await dc.topFrame(atWait.body.threadId ?? 1)).line, 72);
    await dc.setBreakpointsRequest({ source: { path: fixture('longwait.visor') }, breakpoints: [] });
    dc.forgetEvents();
    const mark = dc.received.length;
    await dc.continueRequest({ threadId: 1 });
    const ticks: { time: { jiffies: number }; eventIndex: number; state: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const e = await dc.next('visorbus/changed', (x) => (x.body as { reason: string }).reason === 'time');
      ticks.push(e.body as (typeof ticks)[number]);
    }
    assert.ok(ticks.every((t) => t.state === 'running'));
    for (let i = 1; i < ticks.length; i++) {
      assert.ok(ticks[i].eventIndex > ticks[i - 1].eventIndex && ticks[i].time.jiffies > ticks[i - 1].time.jiffies, 'each one later in the run');
    }
    await dc.next('visorbus/timeline');
    // All of it within the one line: pausing now still stops on line 6.
    await dc.pauseRequest({ threadId: 1 });
    const paused = await dc.stopped();
    assert.equal(paused.body.reason, 'pause');
    const frames = await dc.frames(paused.body.threadId ?? 1);
    assert.equal(frames.find((f) => f.source?.path === fixture('longwait.visor'))?.line, 72);
    assert.equal(dc.received.slice(mark).filter((e) => e.event === 'stopped').length, 1, 'no stop between the ticks');
  });
});
