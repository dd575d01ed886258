/**
 * Visorbus Studio: debugger contribution for the embedded visorbus emulator, tree views, channel
 * inspector, `.visor` language support, commands and status bar. The emulator runs in its own
 * process (dist/emulator.js); the extension talks to it only through DAP.
 */
import * as vscode from 'vscode';
import { VisorbusAdapterFactory, VisorbusConfigurationProvider, restrictForTrust, applySettings, validate } from './debug/configuration';
import { DEBUG_TYPE, VisorbusSessions } from './debug/sessions';
import { ChannelInspector } from './inspector/inspector';
import { registerInspectorRestore } from './inspector/restore';
import { registerLanguageFeatures } from './language/language';
import { registerDeviceHovers } from './language/deviceHover';
import { ScenarioCommands } from './scenarioCommands';
import { VisorbusStatusBar } from './statusBar';
import { BusNode, DeviceNode, DevicesTreeProvider, MoreNode } from './views/devicesTree';
import { DriversNode, DriversTreeProvider } from './views/driversTree';
import { errorText, VisorbusModel } from './views/model';
import { SysfsNode, SysfsTreeProvider } from './views/sysfsTree';
import { registerTimeline } from './views/timelineCommands';
import { TimelineNode, TimelineTreeProvider } from './views/timelineTree';
import { DeviceAction, DeviceInfo, deviceDisplayName, deviceIdFromName } from './protocol';

/** What activate() returns: used by the extension-host tests to look at the views' content. */
export interface VisorbusApi {
  sessions: VisorbusSessions;
  model: VisorbusModel;
  devices: DevicesTreeProvider;
  drivers: DriversTreeProvider;
  sysfs: SysfsTreeProvider;
  timeline: TimelineTreeProvider;
  views: { devices: vscode.TreeView<unknown>; drivers: vscode.TreeView<unknown>; sysfs: vscode.TreeView<unknown>; timeline: vscode.TreeView<TimelineNode> };
  statusBar: VisorbusStatusBar;
  scenarios: ScenarioCommands;
  diagnostics: vscode.DiagnosticCollection;
  inspectors(): ChannelInspector[];
  config: { provider: VisorbusConfigurationProvider; restrictForTrust: typeof restrictForTrust; applySettings: typeof applySettings; validate: typeof validate };
}

export function activate(context: vscode.ExtensionContext): VisorbusApi {
  const output = vscode.window.createOutputChannel('Visorbus');
  const sessions = new VisorbusSessions();
  const model = new VisorbusModel(sessions);
  const devices = new DevicesTreeProvider(model);
  const drivers = new DriversTreeProvider(model);
  const sysfs = new SysfsTreeProvider(model);
  const statusBar = new VisorbusStatusBar(sessions);
  const scenarios = new ScenarioCommands(context, output);
  const configProvider = new VisorbusConfigurationProvider(output);
  const timeline = registerTimeline(sessions);

  const devicesView = vscode.window.createTreeView('visorbus.devices', { treeDataProvider: devices, showCollapseAll: true });
  const driversView = vscode.window.createTreeView('visorbus.drivers', { treeDataProvider: drivers, showCollapseAll: true });
  const sysfsView = vscode.window.createTreeView('visorbus.sysfs', { treeDataProvider: sysfs, showCollapseAll: true });
  const views = [devicesView, driversView, sysfsView,
    vscode.window.createTreeView('visorbus.debug.devices', { treeDataProvider: devices, showCollapseAll: true }),
    vscode.window.createTreeView('visorbus.debug.drivers', { treeDataProvider: drivers }),
    vscode.window.createTreeView('visorbus.debug.sysfs', { treeDataProvider: sysfs })];

  const updateViewDescriptions = () => {
    const st = sessions.current;
    const text = st?.last ? `${st.stopped ? 'stopped' : 'running'} · ${st.last.time.ms} ms` : st ? st.session.name : '';
    for (const v of views) v.description = text;
  };

  const requireSession = () => {
    const st = sessions.current;
    if (!st) void vscode.window.showInformationMessage('Visorbus: no visorbus debug session. Open a .visor scenario and press F5.');
    return st;
  };

  /** A device command's argument: a tree node, a DeviceInfo, or a name ("2:0", "vbus2:dev0"). */
  const resolveDevice = async (arg: unknown): Promise<DeviceInfo | undefined> => {
    if (arg instanceof DeviceNode) return arg.info;
    if (typeof arg === 'string') return model.findDevice(deviceIdFromName(arg));
    if (arg && typeof arg === 'object' && 'id' in arg && 'name' in arg && 'sysfsPath' in arg) return arg as DeviceInfo;
    return undefined;
  };

  const deviceAction = async (arg: unknown, action: DeviceAction) => {
    const st = requireSession();
    const d = await resolveDevice(arg);
    if (!st || !d) return false;
    if (!st.stopped) {
      void vscode.window.showWarningMessage(`Visorbus: pause the session first; a device ${action} is delivered through the controlvm channel while stopped.`);
      return false;
    }
    try {
      await st.client.deviceAction(d.id, action);
      vscode.window.setStatusBarMessage(`Visorbus: ${action} of ${d.name} queued in the controlvm channel; it runs on the next continue or step`, 5000);
      model.invalidate();
      return true;
    } catch (e) {
      void vscode.window.showErrorMessage(`Visorbus: ${action} ${d.name} failed: ${errorText(e)}`);
      return false;
    }
  };

  const breakOn = async (arg: unknown, callback: string) => {
    const d = await resolveDevice(arg);
    if (!d) return undefined;
    const name = `${d.name}.${callback}`;
    const exists = vscode.debug.breakpoints.some(b => b instanceof vscode.FunctionBreakpoint && b.functionName === name);
    if (!exists) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(name)]);
    vscode.window.setStatusBarMessage(`Visorbus: breakpoint on ${name}`, 4000);
    return name;
  };

  const openInspector = async (arg?: unknown) => {
    const st = requireSession();
    if (!st) return undefined;
    let id: string | undefined;
    if (arg === 'controlvm') id = 'controlvm';
    else if (arg !== undefined) id = (await resolveDevice(arg))?.id;
    if (!id) {
      const items: (vscode.QuickPickItem & { id: string })[] = [{ label: 'controlvm', description: 'the controlvm channel (visorchipset)', id: 'controlvm' }];
      try {
        const topo = await (model.topology() ?? Promise.reject(new Error('no session')));
        for (const b of topo.buses) {
          const page = await (model.devices(b.bus) ?? Promise.resolve({ devices: [], total: 0 }));
          for (const d of page.devices) items.push({ label: d.name, description: `${d.driver ?? 'no driver'} · ${d.typeName || d.typeGuid}`, id: d.id });
        }
      } catch (e) {
        output.appendLine(`[inspector] cannot list devices: ${errorText(e)}`);
      }
      id = (await vscode.window.showQuickPick(items, { placeHolder: 'Channel to inspect' }))?.id;
      if (!id) return undefined;
    }
    const inspector = ChannelInspector.show(context, sessions, output, st, id);
    await inspector.refresh();
    return inspector;
  };

  const revealSysfs = async (p: string) => {
    if (!requireSession()) return false;
    await sysfs.getChildren(undefined); // the roots decide where reveal stops climbing
    if (!sysfs.isShown(p)) {
      void vscode.window.showInformationMessage(`Visorbus: ${p} is outside the sysfs trees shown.`);
      return false;
    }
    await sysfsView.reveal(sysfs.node(p), { select: true, focus: true, expand: true });
    return true;
  };

  context.subscriptions.push(
    output, sessions, model, devices, drivers, sysfs, statusBar, scenarios, ...views, ...timeline.disposables,
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, configProvider),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, configProvider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new VisorbusAdapterFactory(context, output)),
    sessions.onDidChange(updateViewDescriptions),

    vscode.commands.registerCommand('visorbus.newScenario', (where?: 'untitled' | 'workspace', relPath?: string) => scenarios.create(where, relPath)),
    vscode.commands.registerCommand('visorbus.runScenario', (uri?: vscode.Uri) => scenarios.run(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('visorbus.debugScenario', (uri?: vscode.Uri) => scenarios.debug(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('visorbus.openChannelInspector', (arg?: unknown) => openInspector(arg)),
    vscode.commands.registerCommand('visorbus.device.inspect', (arg?: unknown) => openInspector(arg)),
    vscode.commands.registerCommand('visorbus.showSysfs', async (p?: string) => {
      if (typeof p === 'string') return revealSysfs(p);
      await vscode.commands.executeCommand('visorbus.sysfs.focus');
      return true;
    }),
    vscode.commands.registerCommand('visorbus.refresh', () => model.invalidate()),
    vscode.commands.registerCommand('visorbus.loadMore', (node: MoreNode | number) => {
      if (node instanceof MoreNode) model.loadMore(node.parent.info.bus);
      else if (typeof node === 'number') model.loadMore(node);
    }),
    vscode.commands.registerCommand('visorbus.device.pause', (arg: unknown) => deviceAction(arg, 'pause')),
    vscode.commands.registerCommand('visorbus.device.resume', (arg: unknown) => deviceAction(arg, 'resume')),
    vscode.commands.registerCommand('visorbus.device.destroy', (arg: unknown) => deviceAction(arg, 'destroy')),
    vscode.commands.registerCommand('visorbus.device.breakOnProbe', (arg: unknown) => breakOn(arg, 'probe')),
    vscode.commands.registerCommand('visorbus.device.breakOnPause', (arg: unknown) => breakOn(arg, 'pause')),
    vscode.commands.registerCommand('visorbus.device.breakOnChannelInterrupt', (arg: unknown) => breakOn(arg, 'channel_interrupt')),
    vscode.commands.registerCommand('visorbus.device.revealInSysfs', async (arg: unknown) => {
      const d = await resolveDevice(arg);
      return d ? revealSysfs(d.sysfsPath) : false;
    }),
    vscode.commands.registerCommand('visorbus.device.reveal', async (name: string) => {
      const node = devices.deviceNode(deviceIdFromName(name)) ?? devices.deviceNode(name);
      if (node) await devicesView.reveal(node, { select: true, focus: true });
      else void vscode.window.showInformationMessage(`Visorbus: ${deviceDisplayName(name)} is not loaded in Buses & Devices (use "Load more…").`);
    }),
    vscode.commands.registerCommand('visorbus.copyGuid', async (arg: unknown) => {
      let guid: string | undefined;
      if (arg instanceof DeviceNode) guid = arg.info.typeGuid;
      else if (arg instanceof BusNode) guid = arg.info.channel.typeGuid;
      else if (typeof arg === 'string') guid = arg;
      else if (arg && typeof arg === 'object' && (arg as DriversNode).kind === 'channelType') guid = (arg as { guid: string }).guid;
      if (!guid) return undefined;
      await vscode.env.clipboard.writeText(guid);
      vscode.window.setStatusBarMessage(`Copied ${guid}`, 3000);
      return guid;
    }),
    vscode.commands.registerCommand('visorbus.sysfs.followLink', async (node: SysfsNode) => {
      const target = node instanceof SysfsNode ? node.resolvedTarget : undefined;
      if (target) await revealSysfs(target);
    }),
    vscode.commands.registerCommand('visorbus.sysfs.write', async (node: SysfsNode | string, value?: string) => {
      const st = requireSession();
      const p = node instanceof SysfsNode ? node.path : node;
      if (!st || typeof p !== 'string') return false;
      value ??= await vscode.window.showInputBox({
        title: `echo VALUE > ${p}`, prompt: `New value of ${p}`,
        value: node instanceof SysfsNode ? node.value : undefined,
      });
      if (value === undefined) return false;
      try {
        await st.client.sysfsWrite(p, value);
        output.appendLine(`[sysfs] echo ${JSON.stringify(value)} > ${p}`);
        model.invalidate();
        return true;
      } catch (e) {
        void vscode.window.showErrorMessage(`Visorbus: echo ${value} > ${p}: ${errorText(e)}`);
        return false;
      }
    }),
  );

  const diagnostics = registerLanguageFeatures(context);
  context.subscriptions.push(registerInspectorRestore(context, sessions, output));
  registerDeviceHovers(context, sessions);
  output.appendLine(`Visorbus Studio ${context.extension.packageJSON.version} active (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'})`);

  return {
    sessions, model, devices, drivers, sysfs, statusBar, scenarios, diagnostics, timeline: timeline.provider,
    views: { devices: devicesView as vscode.TreeView<unknown>, drivers: driversView as vscode.TreeView<unknown>, sysfs: sysfsView as vscode.TreeView<unknown>, timeline: timeline.view },
    inspectors: () => ChannelInspector.all(),
    config: { provider: configProvider, restrictForTrust, applySettings, validate },
  };
}

export function deactivate(): void {
  for (const i of ChannelInspector.all()) i.dispose();
}
