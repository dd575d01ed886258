// The views, the channel inspector and the device actions against the documented DAP contract
// (docs/dap-extensions.md): VS Code attaches over TCP (the `attach` path: DebugAdapterServer) to a
// small server that answers the visorbus requests with fixed data, including a bus of 10,000 devices.
import * as assert from 'assert';
import { ChildProcess } from 'child_process';
import { startContractAdapter } from '../lib/contractAdapter';
import * as vscode from 'vscode';
import { api, childByLabel, DapRecorder, labels, removeAllBreakpoints, stopAllSessions, waitFor } from './helpers';
import type { VisorbusApi } from '../../../src/extension/extension';
import type { ChannelInspector } from '../../../src/extension/inspector/inspector';


suite('views against the DAP contract (attach over TCP)', function () {
  this.timeout(60000);
  let a: VisorbusApi;
  let dap: DapRecorder;
  let adapter: ChildProcess;
  let session: vscode.DebugSession;

  suiteSetup(async () => {
    a = await api();
    removeAllBreakpoints();
    dap = new DapRecorder();
    const { child, port } = await startContractAdapter();
    adapter = child;
    const mark = dap.mark;
    assert.ok(await vscode.debug.startDebugging(undefined, { type: 'visorbus', request: 'attach', name: 'contract', port }));
    await dap.event('stopped', b => b.reason === 'entry', mark);
    session = vscode.debug.activeDebugSession!;
  });

  suiteTeardown(async () => {
    await stopAllSessions();
    removeAllBreakpoints();
    dap.dispose();
    adapter?.kill();
  });

  const views = <T>(what: string, check: () => Promise<T | undefined>) => waitFor(what, a.model.onDidInvalidate, check, 15000);

  test('attach resolves host 127.0.0.1; before the chipset is up the view says so', async () => {
    assert.strictEqual(session.configuration.host, '127.0.0.1');
    await views('the "chipset not initialized" message', async () => ((await labels(a.devices))[0] === 'chipset not initialized yet') || undefined);
  });

  test('a bus of 10,000 devices is paged 200 at a time with "Load more…"', async () => {
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('probe')]);
    const mark = dap.mark;
    await session.customRequest('continue', { threadId: 1 });
    assert.strictEqual((await dap.event('stopped', () => true, mark)).body?.reason, 'function breakpoint');
    const bus3 = await views('visorbus3', () => childByLabel(a.devices, 'visorbus3'));
    const page1 = (await a.devices.getChildren(bus3))!;
    assert.strictEqual(page1.length, 201, '200 devices and a "Load more…" item');
    const more = page1[200];
    const moreItem = await a.devices.getTreeItem(more);
    assert.strictEqual(moreItem.label, 'Load more…');
    assert.strictEqual(moreItem.description, '200 of 10000 shown');
    assert.strictEqual(moreItem.command?.command, 'visorbus.loadMore');
    const loaded = waitFor('the bus to reload', a.devices.onDidChangeTreeData, () => true);
    await vscode.commands.executeCommand(moreItem.command!.command, ...moreItem.command!.arguments!);
    await loaded;
    const page2 = (await a.devices.getChildren(bus3))!;
    assert.strictEqual(page2.length, 401);
    assert.strictEqual((await a.devices.getTreeItem(page2[399])).label, 'vbus3:dev399');
    assert.strictEqual((await a.devices.getTreeItem(page2[400])).description, '400 of 10000 shown');
  });

  test('device items: state icon, driver, type, channel, queue fill, GUID and sysfs in the tooltip', async () => {
    const dev = (await childByLabel(a.devices, 'vbus2:dev0', await childByLabel(a.devices, 'visorbus2')))!;
    const item = await a.devices.getTreeItem(dev);
    assert.strictEqual(item.description, 'visorhba · sparvhba · 0x103000 (65536 bytes) · q 1/15 0/15');
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'pass-filled');
    const tip = (item.tooltip as vscode.MarkdownString).value;
    assert.match(tip, /414815ed-c58c-11da-95a9-00e08161165f/);
    assert.match(tip, /\/sys\/devices\/visorbus2\/vbus2:dev0/);
    const video = await a.devices.getTreeItem((await childByLabel(a.devices, 'vbus1:dev3', await childByLabel(a.devices, 'visorbus1')))!);
    assert.strictEqual(video.contextValue, 'deviceUnbound');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.copyGuid', dev), '414815ed-c58c-11da-95a9-00e08161165f');
    assert.strictEqual(await vscode.env.clipboard.readText(), '414815ed-c58c-11da-95a9-00e08161165f');
  });

  test('channel inspector: decoded header, field edit through writeMemory, bad messages refused', async () => {
    const inspector = (await vscode.commands.executeCommand<ChannelInspector>('visorbus.openChannelInspector', 'vbus2:dev0'))!;
    const sig = inspector.current!.channel.header.find(f => f.name === 'signature')!;
    assert.match(sig.display, /ECNL/);
    assert.strictEqual(inspector.current!.window.bytes.length, 512);
    assert.deepStrictEqual([...inspector.current!.window.bytes.subarray(0, 4)], [0x45, 0x43, 0x4e, 0x4c]);
    const features = () => inspector.current!.channel.header.find(f => f.name === 'features')!.value;
    assert.strictEqual(features(), '8');
    // a well-formed edit from the webview: writeMemory, then the `memory` event refreshes the inspector
    const mark = dap.mark;
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: '0x48' });
    await dap.event('memory', b => b.offset === 24 && b.count === 8, mark);
    await waitFor('features = 0x48', inspector.onDidRefresh, () => features() === '72' || undefined);
    // malformed or not-allowed messages change nothing
    const before = dap.mark;
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: -1, size: 8, value: '1' });
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: 'not a number' });
    await inspector.onMessage({ type: 'writeField', name: 'size', offset: 16, size: 8, value: '1' });
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: String(2n ** 64n) });
    await inspector.onMessage({ type: 'eval', code: 'x' });
    await inspector.onMessage('writeField');
    assert.ok(!dap.messages.slice(before).some(m => m.event === 'memory'), 'no memory was written');
    assert.strictEqual(features(), '72');
    // the hex window moves
    await inspector.onMessage({ type: 'window', offset: 0x210 });
    assert.strictEqual(inspector.current!.window.offset, 0x210);
    inspector.panel.dispose();
  });

  test('pause a device: delivered on the next step; the item turns paused', async () => {
    removeAllBreakpoints();
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.pause', 'vbus2:dev1'), true);
    const mark = dap.mark;
    await session.customRequest('next', { threadId: 1 });
    await dap.event('stopped', () => true, mark);
    await views('vbus2:dev1 paused', async () => {
      const it = await a.devices.getTreeItem((await childByLabel(a.devices, 'vbus2:dev1', await childByLabel(a.devices, 'visorbus2')))!);
      return it.contextValue === 'devicePaused' || undefined;
    });
  });

  test('resume and destroy reach the adapter; the bus loses the destroyed device', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.resume', 'vbus2:dev1'), true);
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.destroy', 'vbus3:dev9999'), true);
    const mark = dap.mark;
    await session.customRequest('next', { threadId: 1 });
    await dap.event('stopped', () => true, mark);
    await views('vbus2:dev1 running and bus 3 with 9999 devices', async () => {
      const it = await a.devices.getTreeItem((await childByLabel(a.devices, 'vbus2:dev1', await childByLabel(a.devices, 'visorbus2')))!);
      const bus3 = await a.devices.getTreeItem((await childByLabel(a.devices, 'visorbus3'))!);
      return (it.contextValue === 'deviceRunning' && /9999 devices/.test(String(bus3.description))) || undefined;
    });
  });

  test('sysfs: values shown, writable attribute written, read-only refused, reveal', async () => {
    const chipset = await childByLabel(a.sysfs, '/sys/devices/platform/visorchipset');
    const install = await childByLabel(a.sysfs, 'install', chipset);
    const textid = (await childByLabel(a.sysfs, 'textid', install))!;
    const item = await a.sysfs.getTreeItem(textid);
    assert.strictEqual(item.contextValue, 'sysfsWritable');
    assert.strictEqual(item.description, '0');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', textid, '7'), true);
    await views('textid = 7', async () => {
      const n = await childByLabel(a.sysfs, 'textid', await childByLabel(a.sysfs, 'install', await childByLabel(a.sysfs, '/sys/devices/platform/visorchipset')));
      return (await a.sysfs.getTreeItem(n!)).description === '7' || undefined;
    });
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', '/sys/devices/platform/visorchipset/install/error', '1'), false);
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.revealInSysfs', 'vbus2:dev0'), true);
    assert.strictEqual((a.views.sysfs.selection[0] as { path: string }).path, '/sys/devices/visorbus2/vbus2:dev0');
  });

  test('Function Drivers and the status bar', async () => {
    assert.deepStrictEqual(await labels(a.drivers), ['visorhba', 'visornic', 'visorinput']);
    const bound = await labels(a.drivers, await childByLabel(a.drivers, 'Bound devices', await childByLabel(a.drivers, 'visorhba')));
    assert.deepStrictEqual(bound, ['vbus2:dev0', 'vbus2:dev2']);
    assert.match(a.statusBar.item.text, /visorbus 12 ms · stopped/);
  });
});
