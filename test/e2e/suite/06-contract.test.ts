// The views, the channel inspector and the device actions against the real debug adapter, reached
// the way `attach` reaches it: over TCP (DebugAdapterServer) to `visorbus-emu dap --port N`, with
// the token that server requires. Two real scenarios: a bus of 10,000 devices (paging) and an IO
// bus with vhba and vnic devices (inspector edits, the tree's context actions, sysfs, drivers).
// What the views show is compared with what the adapter answers to the same visorbus requests.
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import { DapServer, startDapServer } from '../lib/dapServer';
import { BULK_DEVICES, Scenario, VHBA_GUID, writeBulkScenario, writeIoScenario } from '../lib/scenarios';
import { api, childByLabel, DapRecorder, EXTENSION_ID, labels, removeAllBreakpoints, stopAllSessions, waitFor, workspaceDir } from './helpers';
import type { VisorbusApi } from '../../../src/extension/extension';
import type { ChannelInspector } from '../../../src/extension/inspector/inspector';
import type { DeviceInfo } from '../../../src/extension/protocol';
import type { DevicesNode } from '../../../src/extension/views/devicesTree';

/** A bus item's description ends with its device count (after the partition name, when it has one). */
const count = (n: number) => new RegExp(`(^|· )${n} devices$`);

/** How long the views may take to follow the adapter: a loaded extension host answers slowly. */
const VIEWS_MS = 120000;

/** Generous: creating 10,000 devices takes tens of seconds on a loaded machine. */
const RUN_MS = 240000;

/** One attach session on the real adapter, stopped at the first `wait` after the scenario's devices. */
class RealSession {
  server!: DapServer;
  session!: vscode.DebugSession;
  threadId = 1;

  constructor(readonly dap: DapRecorder) {}

  async start(scenario: Scenario): Promise<void> {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    this.server = await startDapServer(path.join(ext.extensionPath, 'dist', 'emulator.js'));
    const mark = this.dap.mark;
    const config = {
      type: 'visorbus',
      request: 'attach',
      name: `real ${path.basename(scenario.file)}`,
      port: this.server.port,
      token: this.server.token,
      scenario: scenario.file,
      stopOnEntry: true,
      checkpoints: 0,
    };
    assert.ok(await vscode.debug.startDebugging(undefined, config), 'startDebugging returned true');
    const entry = await this.dap.event('stopped', (b) => b.reason === 'entry', mark);
    this.threadId = (entry.body?.threadId as number) ?? 1;
    this.session = vscode.debug.activeDebugSession!;
  }

  /** Continue to a line breakpoint on the scenario's first settling `wait`. */
  async runToSettle(scenario: Scenario): Promise<void> {
    vscode.debug.addBreakpoints([
      new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(scenario.file), new vscode.Position(scenario.settleLine - 1, 0))),
    ]);
    await waitFor('the breakpoint to be set', vscode.debug.onDidChangeBreakpoints, () => vscode.debug.breakpoints.length === 1 || undefined);
    const mark = this.dap.mark;
    await this.session.customRequest('continue', { threadId: this.threadId });
    const stopped = await this.dap.event('stopped', () => true, mark, RUN_MS);
    assert.strictEqual(stopped.body?.reason, 'breakpoint', JSON.stringify(stopped.body));
    this.threadId = (stopped.body?.threadId as number) ?? this.threadId;
    removeAllBreakpoints();
  }

  /** Step over scenario lines until `check` holds (queued device actions land at the guest's next poll). */
  async stepUntil(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const mark = this.dap.mark;
      await this.session.customRequest('next', { threadId: this.threadId });
      await this.dap.event('stopped', () => true, mark);
      if (await check()) return;
    }
    assert.fail(`${what}: not after 6 steps`);
  }

  async devices(bus: number, start = 0, count = 200): Promise<{ total: number; devices: DeviceInfo[] }> {
    return this.session.customRequest('visorbus/devices', { bus, start, count });
  }

  async stop(): Promise<void> {
    await stopAllSessions();
    removeAllBreakpoints();
    this.server?.stop();
  }
}

suite('real adapter over TCP (attach): a bus of 10,000 devices', function () {
  this.timeout(RUN_MS + 60000);
  let a: VisorbusApi;
  let dap: DapRecorder;
  let real: RealSession;
  let scenario: Scenario;

  suiteSetup(async () => {
    a = await api();
    removeAllBreakpoints();
    dap = new DapRecorder();
    real = new RealSession(dap);
    scenario = writeBulkScenario(path.join(workspaceDir(), 'contract'));
    await real.start(scenario);
  });
  suiteTeardown(async () => {
    await real?.stop();
    dap.dispose();
  });

  const views = <T>(what: string, check: () => Promise<T | undefined>) => waitFor(what, a.model.onDidInvalidate, check, VIEWS_MS);

  test('attach resolves host 127.0.0.1; before the chipset is up the view says so', async () => {
    assert.strictEqual(real.session.configuration.host, '127.0.0.1');
    assert.strictEqual(real.session.configuration.token, real.server.token);
    await views('the "chipset not initialized" message', async () => (await labels(a.devices))[0] === 'chipset not initialized yet' || undefined);
  });

  test('the 10,000 devices are paged 200 at a time with "Load more…", as visorbus/devices pages them', async () => {
    await real.runToSettle(scenario);
    const bus3 = await views('visorbus3', () => childByLabel(a.devices, 'visorbus3'));
    assert.match(String((await a.devices.getTreeItem(bus3)).description), count(BULK_DEVICES));
    const page1 = (await a.devices.getChildren(bus3))!;
    assert.strictEqual(page1.length, 201, '200 devices and a "Load more…" item');
    const moreItem = await a.devices.getTreeItem(page1[200]);
    assert.strictEqual(moreItem.label, 'Load more…');
    assert.strictEqual(moreItem.description, `200 of ${BULK_DEVICES} shown`);
    assert.strictEqual(moreItem.command?.command, 'visorbus.loadMore.bus3');
    const loaded = waitFor('the bus to reload', a.devices.onDidChangeTreeData, () => true);
    await vscode.commands.executeCommand(moreItem.command!.command, ...(moreItem.command!.arguments ?? []));
    await loaded;
    const page2 = (await a.devices.getChildren(bus3))!;
    assert.strictEqual(page2.length, 401);
    assert.strictEqual((await a.devices.getTreeItem(page2[400])).description, `400 of ${BULK_DEVICES} shown`);
    const shown = await Promise.all(page2.slice(200, 400).map(async (n) => (await a.devices.getTreeItem(n)).label));
    const { total, devices } = await real.devices(3, 200, 200);
    assert.strictEqual(total, BULK_DEVICES);
    assert.deepStrictEqual(
      shown,
      devices.map((d) => d.name),
      "the second page is the adapter's second page",
    );
    assert.strictEqual(shown[199], 'vbus3:dev399');
  });

  test('Destroy Device on a tree item: the bus loses it in the tree and in visorbus/devices', async () => {
    const bus3 = (await childByLabel(a.devices, 'visorbus3'))!;
    const dev0 = (await childByLabel(a.devices, 'vbus3:dev0', bus3))!;
    assert.strictEqual((await a.devices.getTreeItem(dev0)).contextValue, 'deviceUnbound');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.destroy', dev0), true);
    await real.stepUntil('vbus3:dev0 destroyed', async () => (await real.devices(3, 0, 1)).total === BULK_DEVICES - 1);
    assert.strictEqual((await real.devices(3, 0, 1)).devices[0].name, 'vbus3:dev1');
    await views('bus 3 with 9999 devices and no vbus3:dev0', async () => {
      const bus = (await childByLabel(a.devices, 'visorbus3'))!;
      const gone = !(await childByLabel(a.devices, 'vbus3:dev0', bus));
      return (gone && count(BULK_DEVICES - 1).test(String((await a.devices.getTreeItem(bus)).description))) || undefined;
    });
  });
});

/** What the suites on the vhba/vnic scenario share: the API, the attached session and two waits on the views. */
interface IoSuite {
  a: VisorbusApi;
  real: RealSession;
  dap: DapRecorder;
  views<T>(what: string, check: () => Promise<T | undefined>): Promise<T>;
  device(name: string): Promise<DevicesNode>;
}

/** A suite attached over TCP to a fresh adapter running the vhba/vnic scenario up to where its devices settle. */
function ioSuite(title: string, body: (s: IoSuite) => void): void {
  suite(title, function () {
    this.timeout(RUN_MS);
    const s = {
      views: (what, check) => waitFor(what, s.a.model.onDidInvalidate, check, VIEWS_MS),
      device: async (name) => {
        const bus = await s.views(`visorbus${name[4]}`, () => childByLabel(s.a.devices, `visorbus${name[4]}`));
        return s.views(name, () => childByLabel(s.a.devices, name, bus));
      },
    } as IoSuite;
    suiteSetup(async () => {
      s.a = await api();
      removeAllBreakpoints();
      s.dap = new DapRecorder();
      s.real = new RealSession(s.dap);
      const scenario = writeIoScenario(path.join(workspaceDir(), 'contract'));
      await s.real.start(scenario);
      await s.real.runToSettle(scenario);
    });
    suiteTeardown(async () => {
      await s.real?.stop();
      s.dap.dispose();
    });
    body(s);
  });
}

ioSuite('real adapter over TCP (attach): vhba and vnic devices in the tree and the channel inspector', (s) => {
  const { device } = s;

  test('device items show what visorbus/devices says: state icon, driver, type, channel, queue fill, GUID, sysfs', async () => {
    const dev = await device('vbus2:dev0');
    const item = await s.a.devices.getTreeItem(dev);
    const info = (await s.real.devices(2)).devices.find((d) => d.name === 'vbus2:dev0')!;
    const fill = info.queues.map((q) => `${q.pending}/${q.maxSlots - 1}`).join(' ');
    assert.strictEqual(item.description, `visorhba · sparvhba · 0x${info.physaddr.toString(16)} (65536 bytes) · q ${fill}`);
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'pass-filled');
    assert.strictEqual(item.contextValue, 'deviceRunning');
    const tip = (item.tooltip as vscode.MarkdownString).value;
    assert.match(tip, new RegExp(VHBA_GUID));
    assert.match(tip, /\/sys\/devices\/visorbus2\/vbus2:dev0/);
    assert.strictEqual((await s.a.devices.getTreeItem(await device('vbus1:dev3'))).contextValue, 'deviceUnbound');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.copyGuid', dev), VHBA_GUID);
    assert.strictEqual(await vscode.env.clipboard.readText(), VHBA_GUID);
  });

  test('channel inspector: a field edited from the webview is written, and read back from the adapter', async () => {
    const inspector = (await vscode.commands.executeCommand<ChannelInspector>('visorbus.device.inspect', await device('vbus2:dev0')))!;
    const channel = () => inspector.current!.channel;
    assert.match(channel().header.find((f) => f.name === 'signature')!.display, /ECNL/);
    assert.strictEqual(inspector.current!.window.bytes.length, 512);
    assert.deepStrictEqual([...inspector.current!.window.bytes.subarray(0, 4)], [0x45, 0x43, 0x4e, 0x4c]);
    const features = () => channel().header.find((f) => f.name === 'features')!;
    assert.deepStrictEqual([features().offset, features().size, features().value, features().writable], [24, 8, '8', true]);
    const readBack = async () => {
      const r = await s.real.session.customRequest('readMemory', { memoryReference: channel().memoryReference, offset: 24, count: 8 });
      return [...Buffer.from(r.data, 'base64')];
    };
    // a well-formed edit from the webview: writeMemory, then the `memory` event refreshes the inspector
    const mark = s.dap.mark;
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: '0x48' });
    await s.dap.event('memory', () => true, mark);
    await waitFor('features = 0x48', inspector.onDidRefresh, () => features().value === '72' || undefined);
    assert.deepStrictEqual(await readBack(), [0x48, 0, 0, 0, 0, 0, 0, 0]);
    // malformed or mismatched messages change nothing
    const before = s.dap.mark;
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: -1, size: 8, value: '1' });
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: 'not a number' });
    await inspector.onMessage({ type: 'writeField', name: 'size', offset: 24, size: 8, value: '1' });
    await inspector.onMessage({ type: 'writeField', name: 'features', offset: 24, size: 8, value: String(2n ** 64n) });
    await inspector.onMessage({ type: 'eval', code: 'x' });
    await inspector.onMessage('writeField');
    assert.ok(!s.dap.messages.slice(before).some((m) => m.event === 'memory'), 'no memory was written');
    assert.deepStrictEqual(await readBack(), [0x48, 0, 0, 0, 0, 0, 0, 0]);
    assert.strictEqual(features().value, '72');
    // the hex window moves
    await inspector.onMessage({ type: 'window', offset: 0x210 });
    assert.strictEqual(inspector.current!.window.offset, 0x210);
    inspector.panel.dispose();
  });
});

ioSuite('real adapter over TCP (attach): context actions on vhba and vnic devices, sysfs, drivers', (s) => {
  const { views, device } = s;
  /** Show the Explorer instead of the Visorbus side bar, and wait until VS Code says its views are hidden. */
  const hideVisorbusViews = async () => {
    await vscode.commands.executeCommand('workbench.view.explorer');
    const hidden = () => (!s.a.views.sysfs.visible && !s.a.views.devices.visible) || undefined;
    await waitFor(
      'Visorbus views hidden',
      (e) => vscode.Disposable.from(s.a.views.sysfs.onDidChangeVisibility(e), s.a.views.devices.onDidChangeVisibility(e)),
      hidden,
      VIEWS_MS,
    );
  };
  const stateOf = async (bus: number, name: string) => (await s.real.devices(bus)).devices.find((d) => d.name === name)?.state;

  test('Pause Device on a tree item: paused in visorbus/devices after a step, and the item turns paused', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.pause', await device('vbus2:dev1')), true);
    await s.real.stepUntil('vbus2:dev1 paused', async () => (await stateOf(2, 'vbus2:dev1')) === 'paused');
    await views('vbus2:dev1 paused in the tree', async () => {
      const it = await s.a.devices.getTreeItem(await device('vbus2:dev1'));
      return (it.contextValue === 'devicePaused' && (it.iconPath as vscode.ThemeIcon).id === 'debug-pause') || undefined;
    });
  });

  test('Resume and Destroy on tree items: running again, and the bus loses the destroyed device', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.resume', await device('vbus2:dev1')), true);
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.destroy', await device('vbus2:dev2')), true);
    await s.real.stepUntil('vbus2:dev1 running and vbus2:dev2 gone', async () => {
      const { devices } = await s.real.devices(2);
      return devices.find((d) => d.name === 'vbus2:dev1')?.state === 'running' && !devices.some((d) => d.name === 'vbus2:dev2');
    });
    await views('vbus2:dev1 running and bus 2 with 2 devices', async () => {
      const it = await s.a.devices.getTreeItem(await device('vbus2:dev1'));
      const bus2 = await s.a.devices.getTreeItem((await childByLabel(s.a.devices, 'visorbus2'))!);
      return (it.contextValue === 'deviceRunning' && count(2).test(String(bus2.description))) || undefined;
    });
    assert.deepStrictEqual(await labels(s.a.devices, await childByLabel(s.a.devices, 'visorbus2')), ['vbus2:dev0', 'vbus2:dev1']);
  });

  test('sysfs: values shown, writable attribute written, read-only refused, reveal', async () => {
    const install = async () => childByLabel(s.a.sysfs, 'install', await childByLabel(s.a.sysfs, '/sys/devices/platform/visorchipset'));
    const textid = (await childByLabel(s.a.sysfs, 'textid', await install()))!;
    const item = await s.a.sysfs.getTreeItem(textid);
    assert.strictEqual(item.contextValue, 'sysfsWritable');
    assert.strictEqual(item.description, '0');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', textid, '7'), true);
    await views(
      'textid = 7',
      async () => (await s.a.sysfs.getTreeItem((await childByLabel(s.a.sysfs, 'textid', await install()))!)).description === '7' || undefined,
    );
    const r = await s.real.session.customRequest('visorbus/sysfs', { path: '/sys/devices/platform/visorchipset/install' });
    assert.strictEqual(r.entries.find((e: { name: string }) => e.name === 'textid')?.value, '7');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.sysfs.write', '/sys/devices/visorbus2/vbus2:dev0/typeguid', 'x'), false);
    // a reveal into a hidden view (another side bar shown) must still land
    await hideVisorbusViews();
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.device.revealInSysfs', await device('vbus2:dev0')), true);
    assert.strictEqual(s.a.views.sysfs.visible, true);
    const selected = () => (s.a.views.sysfs.selection[0] as { path?: string } | undefined)?.path === '/sys/devices/visorbus2/vbus2:dev0' || undefined;
    await waitFor('vbus2:dev0 selected in sysfs', s.a.views.sysfs.onDidChangeSelection, selected, VIEWS_MS);
  });

  test('Show in Buses & Devices (a bound device of Function Drivers) selects the device, also from another side bar', async () => {
    await hideVisorbusViews();
    await vscode.commands.executeCommand('visorbus.device.reveal', 'vbus2:dev1');
    const selected = () => (s.a.views.devices.selection[0] as { info?: { name: string } } | undefined)?.info?.name === 'vbus2:dev1' || undefined;
    await waitFor('vbus2:dev1 selected in Buses & Devices', s.a.views.devices.onDidChangeSelection, selected, VIEWS_MS);
    assert.strictEqual(s.a.views.devices.visible, true);
  });

  test('Function Drivers lists what visorbus/topology says; the status bar shows its time', async () => {
    const topo = await s.real.session.customRequest('visorbus/topology', {});
    const names: string[] = topo.drivers.map((d: { name: string }) => d.name);
    assert.deepStrictEqual([...(await labels(s.a.drivers))].sort(), [...names].sort());
    const hba = topo.drivers.find((d: { name: string }) => d.name === 'visorhba');
    assert.deepStrictEqual(hba.devices, ['vbus2:dev0']);
    assert.deepStrictEqual(
      await labels(s.a.drivers, await childByLabel(s.a.drivers, 'Bound devices', await childByLabel(s.a.drivers, 'visorhba'))),
      hba.devices,
    );
    assert.match(s.a.statusBar.item.text, new RegExp(`visorbus ${topo.time.ms} ms · stopped`));
  });
});
