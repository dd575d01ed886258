/**
 * Sessions: stdio and TCP, stop on entry, the end of a run, restart, pause while running,
 * one TCP client at a time, attaching to a model another client left running, and every
 * malformed or out-of-order request answered with a clear error.
 */
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as fs from 'node:fs';
import { VisorClient, fixture, freePort, startServer } from './helpers/client';
import { Emulator } from '../../src/emulator/emulator';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import { parseScenario } from '../../src/emulator/scenario/parser';

describe('DAP sessions', function () {
  this.timeout(30000);
  const clients: VisorClient[] = [];
  const servers: ChildProcess[] = [];

  function client(): VisorClient {
    const c = new VisorClient();
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) {
      await c.stop();
      c.assertSchema();
    }
    for (const s of servers.splice(0)) s.kill();
  });

  it('stops on entry at the first scenario line, shows threads, and terminates at the end (stdio)', async () => {
    const dc = client();
    await dc.start();
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true, stopAtEnd: false });
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'entry');
    assert.equal(stop.body.threadId, 1);
    const top = await dc.topFrame(1);
    assert.equal(top.source?.path, fixture('echo.visor'));
    assert.equal(top.line, 2);
    assert.match(top.name, /chipset init/);
    const threads = (await dc.threadsRequest()).body.threads.map((t) => t.name);
    assert.ok(threads.includes('scenario') && threads.includes('controlvm (visorchipset)'), threads.join(', '));
    await dc.continueRequest({ threadId: 1 });
    const exited = (await dc.next('exited')) as DebugProtocol.ExitedEvent;
    assert.equal(exited.body.exitCode, 0);
    await dc.next('terminated');
    assert.match(dc.output(), /Scenario finished: \d+ events.*expect: 1 passed, 0 failed/);
    assert.match(dc.output('stdout'), /registered driver echodrv/);
    assert.match(dc.output('console'), /uevent: add \/devices\/visorbus2\/vbus2:dev0/);
  });

  it('the threads follow the buses: a poll thread starts with its bus and exits when the bus is destroyed', async () => {
    const dc = client();
    await dc.start();
    await dc.launchWith({ scenario: fixture('threads.visor'), stopOnEntry: true, stopAtEnd: false });
    await dc.stopped();
    const names = async () => (await dc.threadsRequest()).body.threads.map((t) => t.name);
    const threadEvents = (reason: string) =>
      dc.received
        .filter((e) => e.event === 'thread' && (e.body as DebugProtocol.ThreadEvent['body']).reason === reason)
        .map((e) => (e.body as DebugProtocol.ThreadEvent['body']).threadId);
    assert.deepEqual(await names(), ['scenario', 'controlvm (visorchipset)']);
    assert.equal(await dc.nextLine(), 3);
    assert.equal(await dc.nextLine(), 4);
    assert.deepEqual(await names(), ['scenario', 'controlvm (visorchipset)', 'visorbus2 poll']);
    assert.ok(threadEvents('started').includes(1002), 'started: visorbus2 poll');
    assert.equal(await dc.nextLine(), 5);
    assert.deepEqual(await names(), ['scenario', 'controlvm (visorchipset)', 'visorbus2 poll', 'visorbus3 poll']);
    assert.equal(await dc.nextLine(), 6);
    assert.deepEqual(await names(), ['scenario', 'controlvm (visorchipset)', 'visorbus2 poll']);
    assert.deepEqual(threadEvents('exited'), [1003], 'exited: visorbus3 poll');
  });

  it('serves TCP clients one after another on 127.0.0.1, refuses a concurrent one, and lets a later client attach to a kept model', async () => {
    const port = await freePort();
    servers.push(await startServer(port));

    const a = client();
    await a.start(port);
    await a.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true, stopAtEnd: false });
    assert.equal((await a.stopped()).body.reason, 'entry');

    const b = client();
    await b.start(port);
    const refused = await b.failing(b.initializeRequest());
    assert.match(refused, /already serving a debug client/);
    assert.equal(b.lastResponse('initialize')?.body?.error?.showUser, true);

    // A steps to line 4, then leaves the model running but suspended for the next client.
    await a.nextRequest({ threadId: 1 });
    await a.stopped();
    await a.nextRequest({ threadId: 1 });
    await a.stopped();
    assert.equal((await a.topFrame(1)).line, 4);
    await a.disconnectRequest({ terminateDebuggee: false, suspendDebuggee: true });

    const c = client();
    await c.start(port);
    await c.initializeRequest();
    await c.attachRequest({} as DebugProtocol.AttachRequestArguments);
    await c.next('initialized');
    await c.configurationDoneRequest();
    const again = await c.stopped();
    assert.equal(again.body.threadId, 1);
    assert.equal((await c.topFrame(1)).line, 4, 'the attached client sees the model where the first one left it');
    await c.continueRequest({ threadId: 1 });
    await c.next('terminated');
    await c.disconnectRequest({});

    // Nothing is left to attach to now; attach with a scenario starts a new run instead.
    const d = client();
    await d.start(port);
    await d.initializeRequest();
    const none = await d.failing(d.attachRequest({} as DebugProtocol.AttachRequestArguments));
    assert.match(none, /no scenario is running in this visorbus-emu host/);
    await d.attachRequest({ scenario: fixture('echo.visor'), stopOnEntry: true } as DebugProtocol.AttachRequestArguments);
    await d.next('initialized');
    await d.configurationDoneRequest();
    assert.equal((await d.stopped()).body.reason, 'entry');
  });

  it('lets a client attach to a model left running, whose breakpoints then apply', async () => {
    const port = await freePort();
    servers.push(await startServer(port));
    const a = client();
    await a.start(port);
    await a.launchWith({ scenario: fixture('long.visor'), pollIntervalMs: 1 });
    await a.next('progressStart');
    await a.disconnectRequest({ terminateDebuggee: false });

    const b = client();
    await b.start(port);
    await b.initializeRequest();
    await b.attachRequest({} as DebugProtocol.AttachRequestArguments);
    await b.next('initialized');
    await b.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.channel_interrupt' }] });
    await b.configurationDoneRequest();
    const stop = await b.stopped();
    assert.equal(stop.body.reason, 'function breakpoint');
    assert.equal((await b.topFrame(stop.body.threadId!)).name, 'echodrv.channel_interrupt(vbus2:dev0)');
    assert.ok(Number((await b.evaluate('jiffies')).result) > 0, 'the model kept running while no client was attached');
  });

  it('pauses a running scenario and terminates it on request', async () => {
    const dc = client();
    await dc.start();
    await dc.launchWith({ scenario: fixture('long.visor'), pollIntervalMs: 1 });
    // The run is under way once the driver's first poll shows up as progress or the device exists.
    await dc.outputMatching(/uevent: add \/devices\/visorbus2\/vbus2:dev0/);
    await dc.pauseRequest({ threadId: 1 });
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'pause');
    // The pause came after the device was created and before the hour of waiting ended; time stands still while paused.
    const created = jiffiesAfterSetup(fixture('long.visor'), 1);
    const j = Number((await dc.evaluate('jiffies')).result);
    assert.ok(Number.isInteger(j) && j >= created && j < created + 3600 * 1000, `paused at jiffy ${j}, device created at ${created}`);
    assert.ok(created > 0 && created < 1000, `the device is created in the first second (${created})`);
    assert.equal(Number((await dc.evaluate('jiffies')).result), j, 'the paused model does not advance');
    const frames = await dc.frames(stop.body.threadId!);
    assert.ok(frames.length >= 1);
    await dc.terminateRequest({});
    await dc.next('terminated');
  });

  it('restarts from the first line, reading the scenario again', async () => {
    const dc = client();
    await dc.start();
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true });
    await dc.stopped();
    await dc.nextRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 3);
    await dc.restartRequest({ arguments: { scenario: fixture('echo.visor'), stopOnEntry: true } } as DebugProtocol.RestartArguments);
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'entry');
    assert.equal((await dc.topFrame(1)).line, 2);
  });

  it('answers bad and out-of-order requests with clear errors and keeps working', async () => {
    const dc = client();
    await dc.start();
    await dc.initializeRequest();
    assert.match(await dc.failing(dc.stackTraceRequest({ threadId: 1 })), /needs a running scenario: send launch/);
    assert.match(
      await dc.failing(dc.launchRequest({ scenario: fixture('no-such.visor') } as DebugProtocol.LaunchRequestArguments)),
      /no-such\.visor.*no such file/,
    );
    assert.equal(dc.lastResponse('launch')?.body?.error?.showUser, true);
    const parse = await dc.failing(dc.launchRequest({ scenario: fixture('broken.visor') } as DebugProtocol.LaunchRequestArguments));
    assert.match(parse, /2 error\(s\)/);
    assert.match(parse, /broken\.visor:3:24: error: unknown GUID alias 'nosuchtype'/);
    assert.match(parse, /broken\.visor:4:1: error: unknown command 'frobnicate'/);
    assert.match(
      await dc.failing(dc.launchRequest({ scenario: 42 } as unknown as DebugProtocol.LaunchRequestArguments)),
      /"scenario" must name a \.visor file/,
    );
    assert.match(
      await dc.failing(dc.launchRequest({ scenario: fixture('echo.visor'), pollIntervalMs: -3 } as DebugProtocol.LaunchRequestArguments)),
      /pollIntervalMs/,
    );

    await dc.launchRequest({ scenario: fixture('echo.visor'), stopOnEntry: true } as DebugProtocol.LaunchRequestArguments);
    await dc.next('initialized');
    assert.match(await dc.failing(dc.launchRequest({ scenario: fixture('echo.visor') } as DebugProtocol.LaunchRequestArguments)), /already runs a scenario/);
    assert.match(await dc.failing(dc.continueRequest({ threadId: 1 })), /has not started/);
    await dc.configurationDoneRequest();
    await dc.stopped();
    assert.match(await dc.failing(dc.customRequest('readMemory', { memoryReference: 'banana', count: 4 })), /bad memoryReference 'banana'/);
    assert.match(await dc.failing(dc.customRequest('writeMemory', { memoryReference: '0x10', data: 'AAAA' })), /not mapped guest memory/);
    assert.match(await dc.failing(dc.scopesRequest({ frameId: 424242 })), /unknown frame/);
    assert.match(await dc.failing(dc.variablesRequest({ variablesReference: 999999 })), /unknown variablesReference/);
    assert.match(await dc.failing(dc.customRequest('frobnicate', {})), /unsupported request 'frobnicate'/);
    assert.match(await dc.failing(dc.customRequest('visorbus/channel', { device: 'banana' })), /not a device/);
    assert.match(await dc.failing(dc.evaluate('queue[0].head == ')), /expression ends too early/);
    assert.match(await dc.failing(dc.evaluate('device frobnicate 2:0')), /column \d+:/);
    assert.match(await dc.failing(dc.exceptionInfoRequest({ threadId: 1 })), /not stopped on an exception/);
    assert.match(await dc.failing(dc.stepBackRequest({ threadId: 1 })), /already at the start/);
    // Still usable after all that.
    await dc.nextRequest({ threadId: 1 });
    assert.equal((await dc.stopped()).body.reason, 'step');
    assert.equal((await dc.topFrame(1)).line, 3);
  });

  it('reports a read-only variable and an unknown exception filter as errors', async () => {
    const dc = client();
    await dc.start();
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: false }, () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.probe' }] }),
    );
    const stop = await dc.stopped();
    const frame = await dc.topFrame(stop.body.threadId!);
    const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
    const device = scopes.find((s) => s.name.startsWith('Device'))!;
    assert.match(await dc.failing(dc.setVariableRequest({ variablesReference: device.variablesReference, name: 'state', value: 'paused' })), /read-only/);
    const r = await dc.setExceptionBreakpointsRequest({ filters: ['probe', 'nonsense'] });
    assert.equal(r.body?.breakpoints?.[1]?.verified, false);
    assert.match(String(r.body?.breakpoints?.[1]?.message), /unknown exception filter 'nonsense'/);
  });
});

/** The jiffy at which a scenario has run every line before its last (a `wait`), run in-process. */
/** The virtual time when the scenario's lines before its first `wait` have run. */
function jiffiesAfterSetup(file: string, pollIntervalMs: number): number {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const sc = parseScenario(
    lines
      .slice(
        0,
        lines.findIndex((l) => l.startsWith('wait ')),
      )
      .join('\n') + '\n',
    file,
  );
  const run = new ScenarioRun(new Emulator({ pollIntervalMs }), sc);
  run.runToEnd();
  assert.deepEqual(run.errors, []);
  return run.emu.engine.clock.jiffies;
}
