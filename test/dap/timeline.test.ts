/**
 * The timeline of a run (visorbus/timeline): landmarks with event numbers and virtual time,
 * paged and filtered; visorbus/goto travels to one of them, back or forward, and the stop
 * shows the model as it was there.
 */
import * as assert from 'node:assert/strict';
import type { Landmark, TimelineResponseBody } from '../../src/emulator/debug/contract';
import { VisorClient, fixture, useClient } from './helpers/client';

describe('DAP timeline and goto', function () {
  let dc: VisorClient;
  useClient((c) => (dc = c));

  async function page(args: Record<string, unknown>): Promise<TimelineResponseBody> {
    return dc.custom<TimelineResponseBody>('visorbus/timeline', args);
  }

  /** Run echo.visor to its end, stopping once at the first probe (a breakpoint landmark). */
  async function runToEnd(): Promise<void> {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: false }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'probe' }] }));
    assert.equal((await dc.stopped()).body.reason, 'function breakpoint');
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');
  }

  it('lists the landmarks of the run in event order, paged and filtered by kind and text', async () => {
    await runToEnd();
    const all = await page({ start: 0, count: 1000 });
    assert.equal(all.landmarks.length, all.total);
    assert.equal(all.dropped, 0);
    const events = all.landmarks.map((l) => l.event);
    assert.deepEqual(
      events,
      [...events].sort((a, b) => a - b),
      'oldest first',
    );
    const of = (k: string) => all.landmarks.filter((l) => l.kind === k);
    assert.deepEqual(
      of('line').map((l) => l.line),
      [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    );
    assert.deepEqual(
      of('probe').map((l) => l.text),
      ['echodrv.probe(vbus2:dev0)', 'echodrv.probe(vbus2:dev1)'],
    );
    assert.deepEqual(
      of('pauseResume').map((l) => l.text),
      ['echodrv.pause(vbus2:dev0)', 'echodrv.resume(vbus2:dev0)'],
    );
    assert.ok(
      of('controlvm').length >= 4 && of('controlvm').every((l) => /^response \w+: status \d+/.test(l.text)),
      of('controlvm')
        .map((l) => l.text)
        .join('; '),
    );
    const bp = of('breakpoint');
    assert.equal(bp.length, 1);
    assert.equal(bp[0].event, of('probe')[0].event, 'the breakpoint hit is at the first probe');
    assert.equal(all.seen.probe, 2);
    const t = of('probe')[1];
    assert.ok(t.ms > of('probe')[0].ms && t.jiffies > 0 && t.threadId > 0 && t.line === 12);

    const mid = await page({ start: 3, count: 4 });
    assert.equal(mid.total, all.total);
    assert.deepEqual(mid.landmarks, all.landmarks.slice(3, 7));
    const probes = await page({ filter: ['probe', 'pauseResume'] });
    assert.deepEqual(
      probes.landmarks.map((l) => l.kind),
      ['probe', 'pauseResume', 'pauseResume', 'probe'],
    );
    const dev1 = await page({ text: 'DEV1' });
    assert.deepEqual(dev1.landmarks, [t]);

    assert.match(await dc.failing(page({ filter: ['probes'] })), /unknown landmark kind "probes"/);
    assert.match(await dc.failing(page({ count: 0 })), /"count" must be a whole number from 1 to 1000/);
    assert.match(await dc.failing(page({ start: -1 })), /"start" must be a whole number >= 0/);
  });

  it('goes to a probe landmark back and forth: the stop shows that probe and the model as it was', async () => {
    await runToEnd();
    const probes = (await page({ filter: ['probe'] })).landmarks;
    const stopAt = async (l: Landmark) => {
      dc.forgetEvents();
      await dc.custom('visorbus/goto', { event: l.event });
      const st = await dc.stopped();
      assert.equal(st.body.reason, 'goto');
      assert.match(st.body.description ?? '', new RegExp(`event ${l.event}: ${l.text.replace(/[().]/g, '\\$&')}`));
      const names = (await dc.frames(st.body.threadId ?? 1)).map((f) => f.name);
      assert.ok(
        names.some((n) => n.includes(l.text)),
        `${l.text} on the stack: ${names.join(' < ')}`,
      );
      return st;
    };
    await stopAt(probes[0]);
    const before = await dc.failing(dc.customRequest('visorbus/sysfs', { path: '/sys/bus/visorbus/devices/vbus2:dev1' }));
    assert.ok(before.length > 0, 'vbus2:dev1 does not exist yet at the first probe');
    await stopAt(probes[1]);
    const after = await dc.custom<{ entries: { name: string }[] }>('visorbus/sysfs', { path: '/sys/bus/visorbus/devices/vbus2:dev1' });
    assert.ok(after.entries.length > 0);
    // Travelling does not rewrite the history: the same landmarks are listed.
    assert.equal((await page({})).total, (await page({ count: 1000 })).landmarks.length);
    assert.deepEqual(
      (await page({ filter: ['probe'] })).landmarks.map((l) => l.event),
      probes.map((l) => l.event),
    );
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'end');

    const reached = (await page({})).reached;
    assert.match(
      await dc.failing(dc.customRequest('visorbus/goto', { event: reached + 1 })),
      new RegExp(`event ${reached + 1} is outside the recorded history`),
    );
    assert.match(await dc.failing(dc.customRequest('visorbus/goto', { event: 'x' })), /"event" must be an event number/);
  });

  it('keeps the whole history when a step back makes a checkpoint worker the model', async () => {
    await runToEnd();
    const before = await page({ count: 1000 });
    dc.forgetEvents();
    await dc.stepBackRequest({ threadId: 1 });
    await dc.stopped();
    await dc.next('visorbus/timeline');
    const after = await page({ count: 1000 });
    assert.deepEqual(after.landmarks, before.landmarks);
    assert.equal(after.reached, before.reached);
    const lastProbe = after.landmarks.filter((l) => l.kind === 'probe').pop()!;
    await dc.custom('visorbus/goto', { event: lastProbe.event });
    assert.equal((await dc.stopped()).body.reason, 'goto');
  });

  it('goto is refused before the scenario has started', async () => {
    await dc.initializeRequest({ adapterID: 'visorbus', pathFormat: 'path' });
    await dc.launchRequest({ scenario: fixture('echo.visor') } as never);
    assert.match(await dc.failing(dc.customRequest('visorbus/goto', { event: 5 })), /outside the recorded history \(no scenario line has run yet\)/);
    assert.equal((await dc.custom<TimelineResponseBody>('visorbus/timeline', {})).total, 0);
  });
});
