// A real debug session: VS Code starts the bundled adapter (node dist/emulator.js dap) on the
// example workspace's scenario; the views, the inspector and the device actions are checked against it.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { api, childByLabel, DapRecorder, exampleScenario, labels, removeAllBreakpoints, stopAllSessions, waitFor } from './helpers';
import type { VisorbusApi } from '../../../src/extension/extension';

suite('debug session on examples/workspace/devices.visor', function () {
  this.timeout(120000);
  let a: VisorbusApi;
  let dap: DapRecorder;
  let session: vscode.DebugSession;
  let threadId: number;

  suiteSetup(async () => {
    a = await api();
    removeAllBreakpoints();
    dap = new DapRecorder();
  });
  suiteTeardown(async () => {
    await stopAllSessions();
    removeAllBreakpoints();
    dap.dispose();
  });

  /** Devices the Buses & Devices view lists, across all buses (as the provider gives them to the view). */
  async function deviceNames(): Promise<string[]> {
    const names: string[] = [];
    for (const bus of (await a.devices.getChildren()) ?? []) names.push(...(await labels(a.devices, bus)));
    return names;
  }

  /** Wait until the views show what `check` wants, re-reading whenever the model refreshes. */
  function viewsShow<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    return waitFor(what, a.model.onDidInvalidate, check, 15000);
  }

  test('F5 flow: the provider resolves the open file and the session stops on entry', async () => {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(exampleScenario()));
    const mark = dap.mark;
    // what F5 without launch.json does: an empty configuration, resolved by the provider
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
      type: 'visorbus',
      name: 'Debug devices.visor',
      request: 'launch',
    });
    assert.ok(started, 'startDebugging returned true');
    const stopped = await dap.event('stopped', () => true, mark);
    assert.strictEqual(stopped.body?.reason, 'entry');
    threadId = stopped.body?.threadId as number;
    session = vscode.debug.activeDebugSession!;
    assert.strictEqual(session.type, 'visorbus');
    assert.strictEqual(session.configuration.scenario, exampleScenario());
    assert.strictEqual(session.configuration.autoload, true);
    assert.strictEqual(typeof session.configuration.pollIntervalMs, 'number');
    assert.strictEqual(session.configuration.trace, false);
    const frame = await waitFor('an active stack frame', vscode.debug.onDidChangeActiveStackItem, () =>
      vscode.debug.activeStackItem instanceof vscode.DebugStackFrame ? vscode.debug.activeStackItem : undefined,
    );
    assert.strictEqual(frame.session.id, session.id);
  });

  test('a function breakpoint on "probe" stops with reason "function breakpoint" in the driver', async () => {
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('probe')]);
    // VS Code sends setFunctionBreakpoints; wait for the adapter to confirm it
    await waitFor('the breakpoint to be sent', vscode.debug.onDidChangeBreakpoints, () => vscode.debug.breakpoints.length === 1 || undefined);
    const mark = dap.mark;
    await session.customRequest('continue', { threadId });
    const stopped = await dap.event('stopped', () => true, mark);
    assert.strictEqual(stopped.body?.reason, 'function breakpoint', JSON.stringify(stopped.body));
    const trace = await session.customRequest('stackTrace', { threadId: stopped.body?.threadId ?? threadId });
    const names: string[] = trace.stackFrames.map((f: { name: string }) => f.name);
    assert.ok(
      names.some((n) => /probe/.test(n)),
      `a probe frame on the stack: ${names.join(' < ')}`,
    );
    const item = await waitFor('the active stack item to be the probe frame', vscode.debug.onDidChangeActiveStackItem, () =>
      vscode.debug.activeStackItem instanceof vscode.DebugStackFrame ? vscode.debug.activeStackItem : undefined,
    );
    assert.strictEqual(item.session.id, session.id);
    // the tree shows the device being probed
    await viewsShow('a device in Buses & Devices at the first probe', async () => ((await deviceNames()).length > 0 ? true : undefined));
  });

  test("Buses & Devices lists the scenario's devices with state, driver and type", async () => {
    removeAllBreakpoints();
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('vbus2:dev2.probe')]);
    const mark = dap.mark;
    await session.customRequest('continue', { threadId });
    const stopped = await dap.event('stopped', () => true, mark);
    assert.strictEqual(stopped.body?.reason, 'function breakpoint');
    const want = ['vbus1:dev1', 'vbus1:dev2', 'vbus1:dev3', 'vbus2:dev0', 'vbus2:dev1', 'vbus2:dev2'];
    let names: string[] = [];
    await viewsShow(`${want.join(', ')} in Buses & Devices`, async () => {
      names = await deviceNames();
      return want.every((n) => names.includes(n)) || undefined;
    }).catch((e) => assert.fail(`${e.message}; listed: ${names.join(', ')}`));
    assert.deepStrictEqual(await labels(a.devices), ['visorbus1', 'visorbus2']);
    const bus2 = await childByLabel(a.devices, 'visorbus2');
    const dev0 = await childByLabel(a.devices, 'vbus2:dev0', bus2);
    const item = await a.devices.getTreeItem(dev0!);
    assert.strictEqual(item.contextValue, 'deviceRunning');
    assert.match(String(item.description), /visorhba/);
    assert.match(String(item.description), /0x[0-9a-f]+ \(65536 bytes\)/);
    const tip = (item.tooltip as vscode.MarkdownString).value;
    assert.match(tip, /414815ed-c58c-11da-95a9-00e08161165f/);
    assert.match(tip, /\/sys\/devices\/visorbus2\/vbus2:dev0/);
    const unbound = await a.devices.getTreeItem((await childByLabel(a.devices, 'vbus1:dev3', await childByLabel(a.devices, 'visorbus1')))!);
    assert.strictEqual(unbound.contextValue, 'deviceUnbound', 'the console video device has no driver');
    const details = await labels(a.devices, dev0);
    assert.ok(details.includes('driver') && details.includes('channel') && details.some((d) => d.startsWith('queue')), details.join(', '));
  });

  test('Function Drivers lists the drivers, their channel types and bound devices', async () => {
    const drivers = await labels(a.drivers);
    for (const d of ['visorhba', 'visornic', 'visorinput']) assert.ok(drivers.includes(d), `${d} listed (got ${drivers.join(', ')})`);
    const hba = await childByLabel(a.drivers, 'visorhba');
    const types = await childByLabel(a.drivers, 'Channel types', hba);
    const typeItem = await a.drivers.getTreeItem((await a.drivers.getChildren(types))![0]);
    assert.strictEqual(typeItem.description, '414815ed-c58c-11da-95a9-00e08161165f');
    const bound = await labels(a.drivers, await childByLabel(a.drivers, 'Bound devices', hba));
    assert.ok(bound.includes('vbus2:dev0'), `visorhba bound to vbus2:dev0 (got ${bound.join(', ')})`);
  });

  test('sysfs shows the bus tree with values; reveal in sysfs finds the device', async () => {
    const roots = await labels(a.sysfs);
    assert.deepStrictEqual(roots, ['/sys/bus/visorbus', '/sys/devices/visorbus1', '/sys/devices/visorbus2', '/sys/devices/platform/visorchipset']);
    const busDir = await childByLabel(a.sysfs, '/sys/bus/visorbus');
    const devicesDir = await childByLabel(a.sysfs, 'devices', busDir);
    assert.ok(devicesDir, '/sys/bus/visorbus/devices listed');
    const links = await labels(a.sysfs, devicesDir);
    assert.ok(links.includes('vbus2:dev0'), `device link listed (got ${links.join(', ')})`);
    const dev = await childByLabel(a.sysfs, 'vbus2:dev0', await childByLabel(a.sysfs, '/sys/devices/visorbus2'));
    const typeguid = await childByLabel(a.sysfs, 'typeguid', await childByLabel(a.sysfs, 'channel', dev));
    assert.ok(typeguid, '/sys/devices/visorbus2/vbus2:dev0/channel/typeguid listed');
    assert.strictEqual(String((await a.sysfs.getTreeItem(typeguid)).description).toLowerCase(), '414815ed-c58c-11da-95a9-00e08161165f');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.revealInSysfs', 'vbus2:dev0'), true);
    assert.strictEqual(a.views.sysfs.visible, true);
    const selected = a.views.sysfs.selection[0] as { path?: string } | undefined;
    assert.strictEqual(selected?.path, '/sys/devices/visorbus2/vbus2:dev0');
  });

  test('a writable sysfs attribute is written through visorbus/sysfsWrite', async () => {
    const p = '/sys/devices/platform/visorchipset/install/textid';
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', p, '5'), true);
    const entries = await a.sessions.current!.client.sysfs('/sys/devices/platform/visorchipset/install');
    assert.strictEqual(entries.find((e) => e.name === 'textid')?.value, '5');
    // a read-only attribute is refused with the kernel's errno
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', '/sys/devices/visorbus2/vbus2:dev0/typeguid', 'x'), false);
  });

  test('the channel inspector decodes the header (signature ECNL) and edits a field', async () => {
    const inspector = await vscode.commands.executeCommand<{
      current?: { channel: { header: { name: string; display: string; value: string; writable: boolean; offset: number; size: number }[] } };
      writeField(n: string, o: number, s: number, v: string): Promise<void>;
      binaryViewUri(r?: { from: number; to: number }): vscode.Uri | undefined;
      onDidRefresh: vscode.Event<unknown>;
      panel: vscode.WebviewPanel;
    }>('visorbus.device.inspect', 'vbus2:dev0');
    assert.ok(inspector?.current, 'channel loaded');
    const header = inspector.current.channel.header;
    const sig = header.find((f) => f.name === 'signature');
    assert.ok(sig, 'signature field decoded');
    assert.match(sig.display, /ECNL/);
    assert.ok(inspector.panel.visible, 'webview panel shown');
    const writable = header.find((f) => f.writable && f.name !== 'signature' && f.size <= 8 && /^\d+$/.test(f.value));
    if (!writable) assert.fail(`no writable numeric header field: ${header.map((f) => `${f.name}${f.writable ? '*' : ''}`).join(', ')}`);
    const newValue = String(Number(writable.value) ^ 1);
    const refreshed = waitFor('the inspector to refresh after writeMemory', inspector.onDidRefresh, () => {
      const f = inspector.current?.channel.header.find((x) => x.name === writable.name);
      return f?.value === newValue || undefined;
    });
    await inspector.writeField(writable.name, writable.offset, writable.size, newValue);
    await refreshed;
    // the binary view's URI: VS Code's own debug memory file system reads the channel over DAP
    const bytes = await vscode.workspace.fs.readFile(inspector.binaryViewUri({ from: 0, to: 16 })!);
    assert.strictEqual(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'ECNL');
    inspector.panel.dispose();
  });

  test('the controlvm channel opens in the inspector too', async () => {
    const inspector = await vscode.commands.executeCommand<{
      current?: { channel: { header: { name: string; display: string }[]; queues: unknown[] } };
      panel: vscode.WebviewPanel;
    }>('visorbus.openChannelInspector', 'controlvm');
    assert.match(inspector!.current!.channel.header.find((f) => f.name === 'signature')!.display, /ECNL/);
    assert.ok(inspector!.current!.channel.queues.length >= 4, 'the controlvm queues are decoded');
    inspector!.panel.dispose();
  });

  test('pause a device from the view: delivered on the next step, the view shows it paused', async () => {
    removeAllBreakpoints();
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.pause', 'vbus2:dev0'), true);
    let state = '';
    for (let i = 0; i < 20 && state !== 'paused'; i++) {
      const mark = dap.mark;
      await session.customRequest('next', { threadId });
      await dap.event('stopped', () => true, mark);
      state = (await a.sessions.current!.client.devices(2, 0, 10)).devices.find((d) => d.name === 'vbus2:dev0')?.state ?? '';
    }
    assert.strictEqual(state, 'paused');
    await viewsShow('vbus2:dev0 paused in Buses & Devices', async () => {
      const item = await a.devices.getTreeItem((await childByLabel(a.devices, 'vbus2:dev0', await childByLabel(a.devices, 'visorbus2')))!);
      return item.contextValue === 'devicePaused' || undefined;
    });
  });

  test('break on a device callback adds a function breakpoint named after the device', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.breakOnProbe', 'vbus2:dev1'), 'vbus2:dev1.probe');
    assert.ok(vscode.debug.breakpoints.some((b) => b instanceof vscode.FunctionBreakpoint && b.functionName === 'vbus2:dev1.probe'));
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.breakOnChannelInterrupt', 'vbus2:dev1'), 'vbus2:dev1.channel_interrupt');
    removeAllBreakpoints();
  });

  test('the status bar shows the virtual time and state', () => {
    const text = a.statusBar.item.text;
    assert.match(text, /visorbus .*(ms|s) · stopped/);
  });

  test('the views empty when the session ends', async () => {
    await stopAllSessions();
    assert.deepStrictEqual(await labels(a.devices), []);
    assert.strictEqual(a.sessions.current, undefined);
  });
});
