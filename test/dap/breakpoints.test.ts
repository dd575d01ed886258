/**
 * Breakpoints of every kind, hit with the right reason, stack and source: scenario lines
 * (moved to the next command, refused past the end), driver callbacks (qualified by
 * driver or device; a user TypeScript driver and the built-in visorhba shown at their .ts
 * lines), exception filters (a throwing driver), conditions, hit counts, logpoints, and a
 * data breakpoint on a signal queue's head.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { COMPILED_FIXTURES, ROOT, useClient, VisorClient, fixture, lineOf } from './helpers/client';

const TSDRV_JS = path.join(COMPILED_FIXTURES, 'drivers', 'tsdrv.js');
const TSDRV_TS = fixture('drivers/tsdrv.ts');

describe('DAP breakpoints', function () {
  this.timeout(30000);
  let dc: VisorClient;

  useClient((c) => (dc = c));

  it('verifies scenario line breakpoints, moves them to the next command, and stops there', async () => {
    const file = fixture('echo.visor');
    let set: Awaited<ReturnType<VisorClient['setBreakpointsRequest']>> | undefined;
    await dc.launchWith({ scenario: file }, async () => {
      set = await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 5 }, { line: 8 }, { line: 99 }] });
      const other = await dc.setBreakpointsRequest({ source: { path: fixture('drivers/echo.js') }, breakpoints: [{ line: 3 }] });
      assert.equal(other.body.breakpoints[0].verified, false);
      assert.match(String(other.body.breakpoints[0].message), /function breakpoint/);
    });
    const [blank, signal, past] = set!.body.breakpoints;
    assert.deepEqual([blank.verified, blank.line], [true, 6], 'the blank line 5 moves to the device create on line 6');
    assert.deepEqual([signal.verified, signal.line], [true, 8]);
    assert.equal(past.verified, false);
    assert.match(String(past.message), /past the last command/);

    let stop = await dc.stopped();
    assert.equal(stop.body.reason, 'breakpoint');
    assert.deepEqual(stop.body.hitBreakpointIds, [blank.id]);
    let top = await dc.topFrame(1);
    assert.equal(top.source?.path, file);
    assert.equal(top.line, 6);
    await dc.continueRequest({ threadId: 1 });
    stop = await dc.stopped();
    assert.equal(stop.body.reason, 'breakpoint');
    top = await dc.topFrame(1);
    assert.equal(top.line, 8);
    assert.match(top.name, /signal insert 2:0/);
  });

  it('stops on probe in a TypeScript driver at its .ts line, with the chipset and bus frames at theirs', async () => {
    await dc.launchWith({ scenario: fixture('lifecycle.visor'), drivers: [TSDRV_JS] }, () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'probe' }] }),
    );
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'function breakpoint');
    assert.match(String(stop.body.description), /tsdrv\.probe\(vbus2:dev0\)/);
    const frames = await dc.frames(stop.body.threadId!);
    assert.equal(frames[0].name, 'tsdrv.probe(vbus2:dev0)');
    assert.equal(frames[0].source?.path, TSDRV_TS, 'the compiled driver is shown in its TypeScript source');
    assert.equal(frames[0].line, lineOf(TSDRV_TS, 'probe(dev: VisorDevice): number {'));
    const bus = frames.find((f) => f.name.startsWith('visorbus: device_add'));
    assert.match(String(bus?.source?.path), /src[\\/]emulator[\\/]visorbus[\\/]visorbus\.ts$/);
    const chipset = frames.find((f) => /handle_command CONTROLVM_DEVICE_CREATE/.test(f.name));
    assert.match(String(chipset?.source?.path), /visorchipset\.ts$/);
    assert.ok(chipset!.line > 0);
    const last = frames[frames.length - 1];
    assert.equal(last.source?.path, fixture('lifecycle.visor'));
    assert.equal(last.line, 4);

    // Inside probe, the helper's signalinsert is shown at the helper's line in the .ts file.
    await dc.stepInRequest({ threadId: stop.body.threadId! });
    await dc.stopped();
    const inner = await dc.frames(stop.body.threadId!);
    assert.match(inner[0].name, /signalinsert\(queue 0\)/);
    assert.equal(inner[1].source?.path, TSDRV_TS);
    assert.equal(inner[1].line, lineOf(TSDRV_TS, 'return dev.channel.signalInsert(0, msg);'));

    // Qualified by device: only vbus2:dev1's probe.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'vbus2:dev1.probe' }] });
    await dc.continueRequest({ threadId: 1 });
    const second = await dc.stopped();
    assert.equal(second.body.reason, 'function breakpoint');
    assert.equal((await dc.topFrame(second.body.threadId!)).name, 'tsdrv.probe(vbus2:dev1)');
  });

  it('stops on visorhba.probe in the built-in driver source, and refuses unknown callbacks', async () => {
    let res: Awaited<ReturnType<VisorClient['setFunctionBreakpointsRequest']>> | undefined;
    await dc.launchWith({ scenario: fixture('hba.visor') }, async () => {
      res = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'visorhba.probe' }, { name: 'frobnicate' }, { name: 'visorhba.explode' }] });
    });
    assert.equal(res!.body.breakpoints[0].verified, true);
    assert.equal(res!.body.breakpoints[1].verified, false);
    assert.match(String(res!.body.breakpoints[1].message), /not a driver callback.*probe, remove, pause, resume, channel_interrupt/);
    assert.equal(res!.body.breakpoints[2].verified, false);
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'function breakpoint');
    const top = await dc.topFrame(stop.body.threadId!);
    assert.equal(top.name, 'visorhba.probe(vbus2:dev0)');
    const src = path.join(ROOT, 'src', 'emulator', 'drivers', 'visorhba.ts');
    assert.equal(top.source?.path, src);
    assert.equal(top.line, lineOf(src, 'export function visorhba_probe(dev: VisorDevice): number {'));
  });

  it('stops with reason exception where a driver throws, with exception info', async () => {
    await dc.launchWith({ scenario: fixture('lifecycle.visor'), drivers: [TSDRV_JS], stopAtEnd: false }, () =>
      dc.setExceptionBreakpointsRequest({ filters: ['driverError'] }),
    );
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(String(stop.body.description), /thrower\.probe\(vbus2:dev2\) threw: thrower cannot drive vbus2:dev2/);
    assert.equal(stop.body.text, 'thrower cannot drive vbus2:dev2');
    const info = await dc.exceptionInfoRequest({ threadId: stop.body.threadId! });
    assert.equal(info.body.exceptionId, 'driverError');
    assert.equal(info.body.details?.typeName, 'Error');
    assert.match(String(info.body.details?.stackTrace), /thrower\.js/);
    const top = await dc.topFrame(stop.body.threadId!);
    const thrower = fixture('drivers/thrower.js');
    assert.equal(top.source?.path, thrower);
    assert.equal(top.line, lineOf(thrower, 'throw new Error'));
    // The probe failure filter was not asked for: continuing runs to the end.
    await dc.continueRequest({ threadId: 1 });
    await dc.next('terminated');
    assert.match(dc.output('stderr'), /probe\(\) threw: thrower cannot drive vbus2:dev2/);
  });

  it('honours conditions over device fields and hit counts', async () => {
    await dc.launchWith({ scenario: fixture('lifecycle.visor'), drivers: [TSDRV_JS], stopAtEnd: false }, async () => {
      await dc.setExceptionBreakpointsRequest({ filters: [] });
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'probe', condition: 'dev == 1 && queue[0].num_sent == 0 && driver == "tsdrv"' }] });
    });
    const stop = await dc.stopped();
    assert.equal((await dc.topFrame(stop.body.threadId!)).name, 'tsdrv.probe(vbus2:dev1)');
    await dc.terminateRequest({});
    await dc.next('terminated');
  });

  it('stops on the Nth hit of a hit-count breakpoint', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopAtEnd: false }, () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', hitCondition: '3' }] }),
    );
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'function breakpoint');
    // probe at 4 ms, polls every 10 ms: the third channel_interrupt runs at 34 ms.
    assert.equal((await dc.evaluate('jiffies')).result, '34');
    await dc.continueRequest({ threadId: 1 });
    await dc.next('terminated');
  });

  it('prints logpoint messages with interpolated fields without stopping', async () => {
    const file = fixture('echo.visor');
    await dc.launchWith({ scenario: file, stopAtEnd: false }, () =>
      dc.setBreakpointsRequest({
        source: { path: file },
        breakpoints: [{ line: 9, logMessage: 'q0 head={2:0.queue[0].head} q1 sent={2:0.queue[1].num_sent} at {ms} ms' }],
      }),
    );
    await dc.next('terminated');
    assert.match(dc.output('console'), /q0 head=1 q1 sent=1 at 24 ms/);
    assert.equal(dc.received.filter((e) => e.event === 'stopped').length, 0);
  });

  it('stops on a data breakpoint on a queue head, naming the field, the old and new value and the writer', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor') }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.probe' }] }));
    const stop = await dc.stopped();
    const frame = await dc.topFrame(stop.body.threadId!);
    const queues = await dc.scopeVars(frame.id, /^Signal queues$/);
    const q0 = queues.find((v) => v.name === 'queue[0]')!;
    const fields = await dc.children(q0);
    const head = fields.find((v) => v.name === 'head')!;
    assert.equal(head.value, '0');
    const info = await dc.dataBreakpointInfoRequest({ variablesReference: q0.variablesReference, name: 'head' });
    assert.ok(info.body.dataId);
    assert.deepEqual(info.body.accessTypes, ['write']);
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    await dc.continueRequest({ threadId: 1 });
    const hit = await dc.stopped();
    assert.equal(hit.body.reason, 'data breakpoint');
    assert.match(String(hit.body.description), /vbus2:dev0 queue\[0\]\.head: 0 → 1 \(written by echodrv\.probe\(vbus2:dev0\)\)/);
    const frames = await dc.frames(hit.body.threadId!);
    const echo = fixture('drivers/echo.js');
    const drv = frames.find((f) => f.name === 'echodrv.probe(vbus2:dev0)');
    assert.equal(drv?.source?.path, echo);
    assert.equal(drv?.line, lineOf(echo, 'dev.channel.signalInsert(0, hello)'));
    assert.match(
      String(frames[0].source?.path),
      /visorchannel\.ts$/,
      `the innermost frame is the channel operation writing head: ${JSON.stringify(frames.slice(0, 2))}`,
    );
    // Next hit: the echo in channel_interrupt moves head from 1 to 2.
    await dc.continueRequest({ threadId: 1 });
    const again = await dc.stopped();
    assert.match(String(again.body.description), /queue\[0\]\.head: 1 → 2 \(written by echodrv\.channel_interrupt\(vbus2:dev0\)\)/);
  });
});
