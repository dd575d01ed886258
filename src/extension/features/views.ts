/**
 * The tree views (Buses & Devices, Function Drivers, sysfs, Timeline; and their copies in the
 * Run and Debug side bar), their descriptions, and the commands that work on them: refresh,
 * load more, show/reveal sysfs, follow a link, write an attribute, reveal a device.
 */
import * as vscode from 'vscode';
import { DevicesTreeProvider, MoreNode } from '../views/devicesTree';
import { DriversTreeProvider } from '../views/driversTree';
import { errorText } from '../views/model';
import { SysfsNode, SysfsTreeProvider } from '../views/sysfsTree';
import { registerTimeline } from '../views/timelineCommands';
import { TimelineNode, TimelineTreeProvider } from '../views/timelineTree';
import { deviceDisplayName, deviceIdFromName } from '../protocol';
import { VisorbusCore, requireSession } from './core';

export interface VisorbusViews {
  devices: DevicesTreeProvider;
  drivers: DriversTreeProvider;
  sysfs: SysfsTreeProvider;
  timeline: TimelineTreeProvider;
  views: { devices: vscode.TreeView<unknown>; drivers: vscode.TreeView<unknown>; sysfs: vscode.TreeView<unknown>; timeline: vscode.TreeView<TimelineNode> };
  /** Select a sysfs path in the sysfs view; false when there is no session or it is not shown. */
  revealSysfs(p: string): Promise<boolean>;
}

export function registerViews(core: VisorbusCore): VisorbusViews {
  const { context, sessions, model } = core;
  const devices = new DevicesTreeProvider(model);
  const drivers = new DriversTreeProvider(model);
  const sysfs = new SysfsTreeProvider(model);
  const timeline = registerTimeline(sessions);
  const devicesView = vscode.window.createTreeView('visorbus.devices', { treeDataProvider: devices, showCollapseAll: true });
  const driversView = vscode.window.createTreeView('visorbus.drivers', { treeDataProvider: drivers, showCollapseAll: true });
  const sysfsView = vscode.window.createTreeView('visorbus.sysfs', { treeDataProvider: sysfs, showCollapseAll: true });
  const views = [
    devicesView,
    driversView,
    sysfsView,
    vscode.window.createTreeView('visorbus.debug.devices', { treeDataProvider: devices, showCollapseAll: true }),
    vscode.window.createTreeView('visorbus.debug.drivers', { treeDataProvider: drivers }),
    vscode.window.createTreeView('visorbus.debug.sysfs', { treeDataProvider: sysfs }),
  ];

  const updateViewDescriptions = () => {
    const st = sessions.current;
    const text = st?.last ? `${st.stopped ? 'stopped' : 'running'} · ${st.last.time.ms} ms` : st ? st.session.name : '';
    for (const v of views) v.description = text;
  };

  const revealSysfs = async (p: string) => {
    if (!requireSession(core)) return false;
    await sysfs.getChildren(undefined); // the roots decide where reveal stops climbing
    if (!sysfs.isShown(p)) {
      void vscode.window.showInformationMessage(`Visorbus: ${p} is outside the sysfs trees shown.`);
      return false;
    }
    await revealIn(sysfsView, 'visorbus.sysfs', sysfs.node(p), { select: true, focus: true, expand: true });
    return true;
  };

  context.subscriptions.push(
    devices,
    drivers,
    sysfs,
    ...views,
    ...timeline.disposables,
    sessions.onDidChange(updateViewDescriptions),
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
    vscode.commands.registerCommand('visorbus.device.reveal', async (name: string) => {
      const node = devices.deviceNode(deviceIdFromName(name)) ?? devices.deviceNode(name);
      if (node) await revealIn(devicesView, 'visorbus.devices', node, { select: true, focus: true });
      else void vscode.window.showInformationMessage(`Visorbus: ${deviceDisplayName(name)} is not loaded in Buses & Devices (use "Load more…").`);
    }),
    vscode.commands.registerCommand('visorbus.sysfs.followLink', async (node: SysfsNode) => {
      const target = node instanceof SysfsNode ? node.resolvedTarget : undefined;
      if (target) await revealSysfs(target);
    }),
    vscode.commands.registerCommand('visorbus.sysfs.write', (node: SysfsNode | string, value?: string) => writeSysfs(core, node, value)),
  );
  return {
    devices,
    drivers,
    sysfs,
    timeline: timeline.provider,
    revealSysfs,
    views: {
      devices: devicesView as vscode.TreeView<unknown>,
      drivers: driversView as vscode.TreeView<unknown>,
      sysfs: sysfsView as vscode.TreeView<unknown>,
      timeline: timeline.view,
    },
  };
}

/** How long a hidden view may take to open before the reveal is tried anyway. */
const SHOW_VIEW_MS = 5000;

/**
 * Reveal an item in a view that may be hidden. VS Code silently drops a reveal into a view that is
 * still opening (its tree has not fetched its roots yet), so the view is opened first and the
 * reveal waits until VS Code reports it shown.
 */
async function revealIn<T>(view: vscode.TreeView<T>, viewId: string, node: T, options: { select: boolean; focus: boolean; expand?: boolean }): Promise<void> {
  if (!view.visible) {
    const subs: vscode.Disposable[] = [];
    const shown = new Promise<void>((resolve) => {
      subs.push(view.onDidChangeVisibility((e) => e.visible && resolve()));
      const timer = setTimeout(resolve, SHOW_VIEW_MS);
      subs.push({ dispose: () => clearTimeout(timer) });
    });
    await vscode.commands.executeCommand(`${viewId}.focus`);
    if (!view.visible) await shown;
    subs.forEach((d) => d.dispose());
  }
  await view.reveal(node, options);
}

/** `echo VALUE > PATH` in the session's sysfs (asks for the value when none is given). */
async function writeSysfs(core: VisorbusCore, node: SysfsNode | string, value?: string): Promise<boolean> {
  const st = requireSession(core);
  const p = node instanceof SysfsNode ? node.path : node;
  if (!st || typeof p !== 'string') return false;
  value ??= await vscode.window.showInputBox({
    title: `echo VALUE > ${p}`,
    prompt: `New value of ${p}`,
    value: node instanceof SysfsNode ? node.value : undefined,
  });
  if (value === undefined) return false;
  try {
    await st.client.sysfsWrite(p, value);
    core.output.appendLine(`[sysfs] echo ${JSON.stringify(value)} > ${p}`);
    core.model.invalidate();
    return true;
  } catch (e) {
    void vscode.window.showErrorMessage(`Visorbus: echo ${value} > ${p}: ${errorText(e)}`);
    return false;
  }
}
