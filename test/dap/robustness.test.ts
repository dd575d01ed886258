/**
 * The adapter never crashes or hangs: an error escaping the emulator is reported as an
 * exception stop and the session goes on; a driver that ends its thread ends the session
 * cleanly; sources that are not on disk are served from source maps; the other exception
 * filters; trace output, autoload and progress reporting.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { useClient, VisorClient, fixture } from './helpers/client';

describe('DAP robustness and options', function () {
  this.timeout(30000);
  let dc: VisorClient;

  useClient((c) => (dc = c));

  it('contains a driver that fails even to be matched: an exception stop naming it, then the run carries on', async () => {
    await dc.launchWith({ scenario: fixture('evil.visor'), stopAtEnd: false });
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(String(stop.body.description), /evil\.match\(vbus2:dev0\) threw: evil channelTypes getter/);
    const info = await dc.exceptionInfoRequest({ threadId: stop.body.threadId! });
    assert.match(String(info.body.description ?? info.body.exceptionId), /evil/);
    const top = await dc.topFrame(stop.body.threadId!);
    assert.ok(top.source?.path || top.source?.sourceReference, 'the stop has a source');
    assert.ok((await dc.threadsRequest()).body.threads.length >= 2);
    await dc.continueRequest({ threadId: 1 });
    await dc.next('exited');
    assert.match(dc.output(), /still running after the error/);
  });

  it('ends the session cleanly when a driver ends the emulator thread', async () => {
    await dc.launchWith({ scenario: fixture('exiter.visor') });
    await dc.next('terminated');
    assert.match(dc.output('stderr'), /The emulator stopped unexpectedly/);
    assert.deepEqual((await dc.threadsRequest()).body.threads, []);
    assert.match(await dc.failing(dc.evaluateRequest({ expression: 'jiffies', context: 'repl' })), /no longer running/);
  });

  it('serves a driver source that exists only in its source map through a sourceReference', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-dap-'));
    const tsText = [
      "// virt-src.ts: this file is not on disk, only in virt.js's source map",
      'module.exports = {',
      "  name: 'virt',",
      "  channelTypes: [{ guid: '4b2c1a55-0000-4000-8000-000000000006', name: 'virt', minBytes: 0, version: 0 }],",
      '  probe(dev) {',
      '    return 0;',
      '  },',
      '  remove() {},',
      '  pause(dev, complete) { complete(0); },',
      '  resume(dev, complete) { complete(0); },',
      '};',
    ].join('\n');
    const mappings = tsText
      .split('\n')
      .map((_, i) => (i === 0 ? 'AAAA' : 'AACA'))
      .join(';');
    const map = { version: 3, file: 'virt.js', sources: ['virt-src.ts'], sourcesContent: [tsText], names: [], mappings };
    const js = `${tsText}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
    fs.writeFileSync(path.join(dir, 'virt.js'), js);
    const scenario = path.join(dir, 'virt.visor');
    fs.writeFileSync(scenario, 'chipset init\nbus create 2\ndevice create 2:0 type=4b2c1a55-0000-4000-8000-000000000006\n');
    try {
      await dc.launchWith({ scenario, drivers: ['./virt.js'] }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'virt.probe' }] }));
      const stop = await dc.stopped();
      const top = await dc.topFrame(stop.body.threadId!);
      assert.equal(top.name, 'virt.probe(vbus2:dev0)');
      assert.equal(top.source?.name, 'virt-src.ts');
      assert.equal(top.source?.path, undefined);
      assert.ok(top.source?.sourceReference);
      assert.equal(top.line, 5);
      const src = await dc.sourceRequest({ source: top.source, sourceReference: top.source!.sourceReference! });
      assert.equal(src.body.content, tsText);
      const loaded = ((await dc.customRequest('loadedSources', {})) as DebugProtocol.LoadedSourcesResponse).body.sources.map((s) => s.path);
      assert.ok(loaded.includes(scenario) && loaded.includes(path.join(dir, 'virt.js')));
    } finally {
      await dc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops on controlvm error responses, probe failures and failed expects when those filters are on', async () => {
    await dc.launchWith({ scenario: fixture('faults.visor'), stopAtEnd: false }, () =>
      dc.setExceptionBreakpointsRequest({ filters: ['controlvm', 'probe', 'expect'] }),
    );
    let stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(String(stop.body.description), /controlvm error response: .*DEVICE_DESTROY: failed, status 19 \(ENODEV\)/);
    assert.equal((await dc.exceptionInfoRequest({ threadId: stop.body.threadId! })).body.exceptionId, 'controlvm');
    await dc.continueRequest({ threadId: 1 });
    stop = await dc.stopped();
    assert.equal((await dc.exceptionInfoRequest({ threadId: stop.body.threadId! })).body.exceptionId, 'probe');
    assert.match(String(stop.body.description), /Driver probe failure: thrower\.probe\(vbus2:dev2\) threw/);
    await dc.continueRequest({ threadId: 1 });
    stop = await dc.stopped();
    assert.equal((await dc.exceptionInfoRequest({ threadId: stop.body.threadId! })).body.exceptionId, 'expect', 'one stop per failure, then the failed expect');
    assert.match(String(stop.body.description), /expect failed at line 7/);
    await dc.continueRequest({ threadId: 1 });
    assert.equal(((await dc.next('exited')) as DebugProtocol.ExitedEvent).body.exitCode, 1);
  });

  it('stops on a signal queue overflow (with a condition) and on a failed pause', async () => {
    await dc.launchWith({ scenario: fixture('flaky.visor') }, () =>
      dc.setExceptionBreakpointsRequest({ filters: ['pauseResume'], filterOptions: [{ filterId: 'overflow', condition: 'queue[0].num_overflows >= 2' }] }),
    );
    let stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(String(stop.body.description), /Signal queue overflow: signal queue 0 overflow on vbus2:dev0/);
    assert.equal((await dc.evaluate('2:0.queue[0].num_overflows')).result, '2', 'the condition let the first overflow pass');
    assert.equal((await dc.evaluate('2:0.queue[0].pending')).result, '63');
    // Every overflow of the probe's line is a failure of its own: each one stops.
    for (let n = 3; n <= 7; n++) {
      await dc.continueRequest({ threadId: 1 });
      stop = await dc.stopped();
      assert.match(String(stop.body.description), /Signal queue overflow: signal queue 0 overflow on vbus2:dev0/);
      assert.equal((await dc.evaluate('2:0.queue[0].num_overflows')).result, String(n));
    }
    await dc.continueRequest({ threadId: 1 });
    stop = await dc.stopped();
    assert.equal((await dc.exceptionInfoRequest({ threadId: stop.body.threadId! })).body.exceptionId, 'pauseResume');
    assert.match(String(stop.body.description), /pause complete\(vbus2:dev0, -16\)/);
  });

  it('stops on a pause() that fails by its return value (pause/resume filter)', async () => {
    await dc.launchWith({ scenario: fixture('stubborn.visor') }, () => dc.setExceptionBreakpointsRequest({ filters: ['pauseResume'] }));
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.equal((await dc.exceptionInfoRequest({ threadId: stop.body.threadId! })).body.exceptionId, 'pauseResume');
    assert.match(String(stop.body.description), /stubborn\.pause\(vbus2:dev0\) returned -16/);
  });

  it("prints the kernel log's errors in the Debug Console: a driver the bus refuses", async () => {
    await dc.launchWith({ scenario: fixture('noprobe.visor'), stopAtEnd: false });
    await dc.next('terminated');
    assert.match(dc.output('stderr'), /driver noprobe: missing probe\(\), registration refused/);
  });

  it('traces every event and DAP request when asked, and leaves devices unbound without autoload', async () => {
    await dc.launchWith({ scenario: fixture('keyboard.visor'), trace: true, autoload: false, stopAtEnd: false });
    await dc.next('terminated');
    const out = dc.output('console');
    assert.match(out, /\[dap\] → configurationDone/);
    assert.match(out, /^\s+\d+\s+0\.\d+s\s+step\s+scenario\s+line 2: chipset init\s+\[scenario\]$/m);
    assert.match(dc.output('stderr'), /expect failed: \/sys\/bus\/visorbus\/devices\/vbus1:dev1\/driver == visorinput/);
  });

  it('loads no user driver modules when allowUserDrivers is false (an untrusted workspace)', async () => {
    await dc.initializeRequest();
    const refused = await dc.failing(
      dc.launchRequest({ scenario: fixture('echo.visor'), allowUserDrivers: false, drivers: ['./drivers/thrower.js'] } as DebugProtocol.LaunchRequestArguments),
    );
    assert.match(refused, /driver module \.\/drivers\/thrower\.js: user driver modules are turned off for this run \(an untrusted workspace/);
    assert.equal(dc.lastResponse('launch')?.body?.error?.showUser, true);
    await dc.launchRequest({ scenario: fixture('echo.visor'), allowUserDrivers: false, stopAtEnd: false } as DebugProtocol.LaunchRequestArguments);
    await dc.next('initialized');
    await dc.configurationDoneRequest();
    assert.equal(((await dc.next('exited')) as DebugProtocol.ExitedEvent).body.exitCode, 1);
    assert.match(dc.output('stderr'), /echo\.visor:3:1: error: user driver modules are turned off for this run \(an untrusted workspace/);
  });

  it('reports progress while a long run goes on, and ends it when paused', async () => {
    await dc.launchWith({ scenario: fixture('long.visor'), pollIntervalMs: 1 });
    const start = (await dc.next('progressStart')) as DebugProtocol.ProgressStartEvent;
    assert.match(start.body.title, /Running the scenario/);
    await dc.pauseRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'pause');
    const end = (await dc.next('progressEnd')) as DebugProtocol.ProgressEndEvent;
    assert.equal(end.body.progressId, start.body.progressId);
    const changed = await dc.next('visorbus/changed', (e) => (e.body as { reason: string }).reason === 'stopped');
    assert.equal((changed.body as { state: string }).state, 'stopped');
  });
});
