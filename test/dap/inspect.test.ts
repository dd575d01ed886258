/**
 * Looking at and changing the model while stopped: scopes and decoded variables, guest
 * memory through readMemory/writeMemory (a corrupted channel signature makes the guest
 * refuse the device), setVariable, the Debug Console (sysfs, scenario commands at the
 * stop, field expressions, completions) and the visorbus/* requests the views use.
 */
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ChannelResponseBody } from '../../src/emulator/debug/contract';
import { useClient, VisorClient, fixture } from './helpers/client';

describe('DAP inspection', function () {
  this.timeout(30000);
  let dc: VisorClient;

  useClient((c) => (dc = c));

  async function stopInProbe(): Promise<DebugProtocol.StackFrame> {
    await dc.launchWith({ scenario: fixture('echo.visor') }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.probe' }] }));
    const stop = await dc.stopped();
    await dc.stepInRequest({ threadId: stop.body.threadId! });
    await dc.stopped();
    return dc.topFrame(stop.body.threadId!);
  }

  /** Stopped in the first channel_interrupt of vbus2:dev0 (probe done, sysfs complete). */
  async function stopInPoll(launch: Record<string, unknown> = {}): Promise<DebugProtocol.StackFrame> {
    await dc.launchWith({ scenario: fixture('echo.visor'), ...launch }, () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt' }] }),
    );
    const poll = await dc.stopped();
    return dc.topFrame(poll.body.threadId!);
  }

  it('reads a channel header with readMemory exactly as the model holds it', async () => {
    const frame = await stopInProbe();
    const device = await dc.scopeVars(frame.id, /^Device vbus2:dev0$/);
    const channel = device.find((v) => v.name === 'channel')!;
    assert.ok(channel.memoryReference);
    const head = await dc.read(channel.memoryReference!, 0, 8);
    assert.deepEqual([...head.data], [0x45, 0x43, 0x4e, 0x4c, 0x00, 0x00, 0x00, 0x00], 'the channel signature "ECNL"');
    const view = await dc.custom<ChannelResponseBody>('visorbus/channel', { device: '2:0' });
    assert.equal(view.memoryReference, channel.memoryReference);
    const whole = await dc.read(view.memoryReference, 0, 128);
    for (const f of view.header.filter((x) => ['size', 'ch_space_offset', 'version_id'].includes(x.name))) {
      assert.equal(whole.data.readUIntLE(f.offset, Math.min(f.size, 6)), Number(f.value), f.name);
    }
    assert.match(view.header.find((f) => f.name === 'signature')!.display, /ECNL/);
    // The end of the channel is followed by an unmapped guard page: unreadable, not an error.
    const tail = await dc.read(view.memoryReference, view.nbytes - 16, 64);
    assert.equal(tail.data.length, 16);
    assert.equal(tail.unreadable, 48);
    const none = await dc.read('0x8', 0, 16);
    assert.equal(none.data.length, 0);
    assert.equal(none.unreadable, 16);
  });

  it('shows decoded scopes: channel header with enum names, queues with pending signals, the driver state, bus and chipset', async () => {
    const frame = await stopInProbe();
    const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes.map((s) => s.name);
    assert.deepEqual(scopes, ['Device vbus2:dev0', 'Channel header', 'Signal queues', 'Driver echodrv', 'Bus visorbus2', 'Chipset', 'Emulator']);
    const header = await dc.scopeVars(frame.id, /^Channel header$/);
    assert.equal(header.find((v) => v.name === 'cli_state_os')?.value, 'CHANNELCLI_DETACHED (0)');
    assert.match(String(header.find((v) => v.name === 'chtype')?.value), /^4b2c1a55-0000-4000-8000-000000000001/);
    const queues = await dc.scopeVars(frame.id, /^Signal queues$/);
    const q0 = await dc.children(queues.find((v) => v.name === 'queue[0]')!);
    assert.equal(q0.find((v) => v.name === 'head')?.value, '1', 'probe has put its hello signal');
    const pending = await dc.children(q0.find((v) => v.name === 'pending')!);
    assert.equal(pending.length, 1);
    assert.match(pending[0].value, /slot 1: 128 bytes: 68 65 6c 6c 6f/);
    const driver = await dc.scopeVars(frame.id, /^Driver echodrv$/);
    assert.equal(driver.find((v) => v.name === 'driverData')?.value, 'undefined', 'probe sets driverData after its first insert');
    const chipset = await dc.scopeVars(frame.id, /^Chipset$/);
    assert.equal(chipset.find((v) => v.name === 'initialized')?.value, 'true');
    // After probe returns, driverData is the driver's own object, expandable.
    await dc.stepOutRequest({ threadId: 2 });
    await dc.stopped();
    const f2 = await dc.topFrame(2);
    const d2 = await dc.scopeVars(f2.id, /^Driver echodrv$/);
    const data = d2.find((v) => v.name === 'driverData')!;
    assert.match(data.value, /probes: 1/);
    const kids = await dc.children(data);
    assert.equal(kids.find((v) => v.name === 'lastInsert')?.value, '0');

    // The controlvm channel's queues decode controlvm messages.
    const cv = await dc.custom<ChannelResponseBody>('visorbus/channel', { device: 'controlvm' });
    assert.deepEqual(
      cv.queues.map((q) => q.name),
      ['REQUEST (0)', 'RESPONSE (1)', 'EVENT (2)', 'ACK (3)'],
    );
    assert.ok(cv.extra.some((f) => f.name === 'saved_crash_message_count'));
  });

  it('writes memory: a corrupted channel signature makes the guest refuse the next device', async () => {
    const file = fixture('echo.visor');
    await dc.launchWith({ scenario: file }, async () => {
      await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 12 }, { line: 14 }] });
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'vbus2:dev1.probe' }] });
    });
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 12);
    // One event on: the Command partition has laid out the channel and queued DEVICE_CREATE.
    await dc.nextRequest({ threadId: 1, granularity: 'instruction' });
    const s = await dc.stopped();
    assert.match(String(s.body.description), /CP sends CONTROLVM_DEVICE_CREATE dev=2:1/);
    const cv = await dc.custom<ChannelResponseBody>('visorbus/channel', { device: 'controlvm' });
    const create = cv.queues[2].pending[0];
    assert.match(create.summary, /CONTROLVM_DEVICE_CREATE dev=2:1/);
    const addr = create.fields.find((f) => f.name === 'channel_addr')!;
    const ref = '0x' + BigInt(addr.value).toString(16);
    const before = await dc.read(ref, 0, 4);
    assert.equal(before.data.toString('latin1'), 'ECNL');
    const w = await dc.customRequest('writeMemory', { memoryReference: ref, offset: 0, data: Buffer.from('XXXX').toString('base64') });
    assert.equal((w.body as DebugProtocol.WriteMemoryResponse['body'])?.bytesWritten, 4);
    const mem = (await dc.next('memory')) as DebugProtocol.MemoryEvent;
    assert.equal(mem.body.memoryReference, ref);
    assert.equal(mem.body.count, 4);
    assert.equal((await dc.read(ref, 0, 4)).data.toString('latin1'), 'XXXX');

    await dc.continueRequest({ threadId: 1 });
    const next = await dc.stopped();
    assert.equal(next.body.reason, 'breakpoint', 'probe of vbus2:dev1 never happens');
    assert.equal((await dc.topFrame(1)).line, 14);
    assert.match(dc.output(), /Channel mismatch on channel=vbus2:dev1 \(signature/);
    const devs = await dc.custom<{ total: number; devices: { id: string; state: string; driver: string | null }[] }>('visorbus/devices', { bus: 2 });
    assert.deepEqual(
      devs.devices.map((d) => [d.id, d.state, d.driver]),
      [
        ['2:0', 'running', 'echodrv'],
        ['2:1', 'unbound', null],
      ],
    );
  });

  it('changes a writable channel field with setVariable and refuses bad values', async () => {
    const frame = await stopInProbe();
    const scopes = (await dc.scopesRequest({ frameId: frame.id })).body.scopes;
    const header = scopes.find((s) => s.name === 'Channel header')!;
    const r = await dc.setVariableRequest({ variablesReference: header.variablesReference, name: 'cli_state_os', value: 'CHANNELCLI_ATTACHED' });
    assert.equal(r.body.value, 'CHANNELCLI_ATTACHED (3)');
    const mem = (await dc.next('memory')) as DebugProtocol.MemoryEvent;
    assert.ok(mem.body.count === 4);
    const view = await dc.custom<ChannelResponseBody>('visorbus/channel', { device: '2:0' });
    const f = view.header.find((x) => x.name === 'cli_state_os')!;
    assert.deepEqual([...(await dc.read(view.memoryReference, f.offset, 4)).data], [3, 0, 0, 0]);
    assert.match(
      await dc.failing(dc.setVariableRequest({ variablesReference: header.variablesReference, name: 'cli_state_os', value: 'banana' })),
      /not a number for cli_state_os/,
    );
    assert.match(
      await dc.failing(dc.setVariableRequest({ variablesReference: header.variablesReference, name: 'version_id', value: '0x1ffffffff' })),
      /does not fit/,
    );
    // The change is part of the history: after stepping forward and back it is still there.
    await dc.nextRequest({ threadId: 2 });
    await dc.stopped();
    await dc.stepBackRequest({ threadId: 2 });
    await dc.stopped();
    assert.equal((await dc.evaluate('2:0.header.cli_state_os')).result, '3');
  });

  it('runs console commands: sysfs, scenario lines at the stop (effects on continue), and field expressions', async () => {
    // In channel_interrupt the device is complete (its sysfs directory appears once probe returned).
    const frame = await stopInPoll();
    assert.equal(frame.name, 'echodrv.channel_interrupt(vbus2:dev0)');
    assert.equal(
      dc.received.filter((e) => e.event === 'stopped').map((e) => (e.body as { threadId: number }).threadId)[0],
      1002,
      'channel_interrupt runs on the bus poll thread',
    );
    const ls = await dc.evaluate('ls /sys/bus/visorbus/devices');
    assert.match(ls.result, /vbus2:dev0 -> \.\.\/\.\.\/\.\.\/devices\/visorbus2\/vbus2:dev0/);
    assert.equal((await dc.evaluate('cat /sys/bus/visorbus/devices/vbus2:dev0/channel/typename')).result, 'echo');
    await dc.evaluate('echo 7 > /sys/devices/platform/visorchipset/install/textid');
    assert.equal((await dc.evaluate('cat /sys/devices/platform/visorchipset/install/textid')).result, '7');
    assert.match(await dc.failing(dc.evaluate('echo 1 > /sys/bus/visorbus/devices/vbus2:dev0/channel/typename')), /Permission denied.*EACCES/);
    assert.equal((await dc.evaluate('2:0.queue[0].head')).result, '1');
    assert.equal((await dc.evaluate('queue[0].head', frame.id)).result, '1', "unqualified fields are those of the frame's device");
    assert.equal((await dc.evaluate('bus == 2 && queue[0].num_sent > 0 && state == "running"', frame.id)).result, 'true');
    assert.equal((await dc.evaluate('vbus2:dev0.header.size', frame.id, 'watch')).result, '65536');
    const hover = await dc.evaluate('2:0.queue[0].head', frame.id, 'hover');
    assert.ok(hover.memoryReference, 'a field has a memory reference');
    const dev = await dc.evaluate('2:0');
    assert.match(dev.result, /vbus2:dev0 running echodrv \(echo\)/);
    assert.ok(dev.variablesReference > 0);

    const queued = await dc.evaluate('device pause 2:0');
    assert.match(queued.result, /queued on the controlvm channel/);
    dc.forgetEvents();
    const signal = await dc.evaluate('signal insert 2:0 queue=1 hex:aabb');
    assert.match(signal.result, /done/);
    const mem = (await dc.next(
      'memory',
      (e) => (e.body as DebugProtocol.MemoryEvent['body']).memoryReference === dev.memoryReference,
    )) as DebugProtocol.MemoryEvent;
    assert.ok(mem.body.offset >= 256, 'the back-end wrote queue 1 (header at 256) and its slot');
    await dc.next('invalidated');
    assert.equal((await dc.evaluate('2:0.queue[1].pending')).result, '1');
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'pause' }] });
    await dc.continueRequest({ threadId: 1002 });
    const paused = await dc.stopped();
    assert.equal(paused.body.reason, 'function breakpoint');
    assert.equal((await dc.topFrame(paused.body.threadId!)).name, 'echodrv.pause(vbus2:dev0)');
  });

  it('completes console commands, sysfs paths and fields', async () => {
    const frame = await stopInProbe();
    const labels = async (text: string) => (await dc.completionsRequest({ text, column: text.length + 1, frameId: frame.id })).body.targets.map((t) => t.label);
    assert.ok((await labels('dev')).includes('device'));
    assert.ok((await labels('device p')).includes('pause'));
    assert.ok((await labels('cat /sys/bus/visorbus/dev')).includes('devices/'));
    assert.ok((await labels('2:0.queue[0].he')).includes('queue[0].head'));
  });

  it('answers the views: topology, paged devices, sysfs, sysfs writes, device actions', async () => {
    // The kernel's BUS_CONFIGURE reads the partition name from its stack; the launch corrects that.
    await stopInPoll({ fixKernelBugs: ['busConfigureName'] });
    const topo = await dc.custom<{
      time: { jiffies: number; hz: number };
      buses: { bus: number; name: string; partitionName: string | null; deviceCount: number }[];
      drivers: { name: string; builtin: boolean; devices: string[] }[];
      chipset: { initialized: boolean };
    }>('visorbus/topology', {});
    assert.equal(topo.time.hz, 1000);
    assert.deepEqual(
      topo.buses.map((b) => [b.bus, b.name, b.partitionName, b.deviceCount]),
      [[2, 'visorbus2', 'io', 1]],
    );
    assert.deepEqual(
      topo.drivers.map((d) => [d.name, d.builtin, d.devices]),
      [['echodrv', false, ['vbus2:dev0']]],
    );
    assert.equal(topo.chipset.initialized, true);
    const page = await dc.custom<{ total: number; devices: { name: string; queues: { index: number; pending: number }[]; memoryReference: string }[] }>(
      'visorbus/devices',
      { bus: 2, start: 0, count: 10 },
    );
    assert.equal(page.total, 1);
    assert.equal(page.devices[0].name, 'vbus2:dev0');
    assert.deepEqual(
      page.devices[0].queues.map((q) => [q.index, q.pending]),
      [
        [0, 1],
        [1, 0],
      ],
    );
    const empty = await dc.custom<{ total: number; devices: unknown[] }>('visorbus/devices', { bus: 2, start: 5 });
    assert.equal(empty.devices.length, 0);
    const sys = await dc.custom<{ entries: { name: string; kind: string; value?: string; target?: string; writable: boolean }[] }>('visorbus/sysfs', {
      path: '/sys/bus/visorbus/devices/vbus2:dev0/channel',
    });
    assert.equal(sys.entries.find((e) => e.name === 'typename')?.value, 'echo');
    const install = await dc.custom<{ entries: { name: string; writable: boolean }[] }>('visorbus/sysfs', {
      path: '/sys/devices/platform/visorchipset/install',
    });
    assert.equal(install.entries.find((e) => e.name === 'error')?.writable, true);
    await dc.custom('visorbus/sysfsWrite', { path: '/sys/devices/platform/visorchipset/install/error', value: '12' });
    assert.equal((await dc.evaluate('cat /sys/devices/platform/visorchipset/install/error')).result, '12');
    assert.match(
      await dc.failing(dc.customRequest('visorbus/sysfsWrite', { path: '/sys/devices/platform/visorchipset/install/error', value: 'x' })),
      /Invalid argument.*EINVAL/,
    );
    assert.match(await dc.failing(dc.customRequest('visorbus/sysfs', { path: '/sys/nope' })), /No such file or directory.*ENOENT/);

    await dc.custom('visorbus/deviceAction', { device: '2:0', action: 'pause' });
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'pause' }] });
    await dc.continueRequest({ threadId: 1002 });
    const stop = await dc.stopped();
    assert.equal((await dc.topFrame(stop.body.threadId!)).name, 'echodrv.pause(vbus2:dev0)');
    const changed = dc.received.filter((e) => e.event === 'visorbus/changed').map((e) => e.body as { reason: string; state: string });
    assert.ok(changed.some((c) => c.reason === 'stopped' && c.state === 'stopped'));
    assert.match(await dc.failing(dc.customRequest('visorbus/deviceAction', { device: '2:0', action: 'explode' })), /pause, resume or destroy/);
  });
});
