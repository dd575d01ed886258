/**
 * The device commands of the Buses & Devices views: pause, resume, destroy (delivered through
 * the controlvm channel while the session is stopped), function breakpoints on a device's
 * callbacks, reveal in sysfs, copy a GUID.
 */
import * as vscode from 'vscode';
import { BusNode, DeviceNode } from '../views/devicesTree';
import { DriversNode } from '../views/driversTree';
import { errorText } from '../views/model';
import { DeviceAction } from '../protocol';
import { VisorbusCore, requireSession, resolveDevice } from './core';

export function registerDeviceCommands(core: VisorbusCore, revealSysfs: (p: string) => Promise<boolean>): void {
  core.context.subscriptions.push(
    vscode.commands.registerCommand('visorbus.device.pause', (arg: unknown) => deviceAction(core, arg, 'pause')),
    vscode.commands.registerCommand('visorbus.device.resume', (arg: unknown) => deviceAction(core, arg, 'resume')),
    vscode.commands.registerCommand('visorbus.device.destroy', (arg: unknown) => deviceAction(core, arg, 'destroy')),
    vscode.commands.registerCommand('visorbus.device.breakOnProbe', (arg: unknown) => breakOn(core, arg, 'probe')),
    vscode.commands.registerCommand('visorbus.device.breakOnPause', (arg: unknown) => breakOn(core, arg, 'pause')),
    vscode.commands.registerCommand('visorbus.device.breakOnChannelInterrupt', (arg: unknown) => breakOn(core, arg, 'channel_interrupt')),
    vscode.commands.registerCommand('visorbus.device.revealInSysfs', async (arg: unknown) => {
      const d = await resolveDevice(core, arg);
      return d ? revealSysfs(d.sysfsPath) : false;
    }),
    vscode.commands.registerCommand('visorbus.copyGuid', copyGuid),
  );
}

async function deviceAction(core: VisorbusCore, arg: unknown, action: DeviceAction): Promise<boolean> {
  const st = requireSession(core);
  const d = await resolveDevice(core, arg);
  if (!st || !d) return false;
  if (!st.stopped) {
    void vscode.window.showWarningMessage(`Visorbus: pause the session first; a device ${action} is delivered through the controlvm channel while stopped.`);
    return false;
  }
  try {
    await st.client.deviceAction(d.id, action);
    vscode.window.setStatusBarMessage(`Visorbus: ${action} of ${d.name} queued in the controlvm channel; it runs on the next continue or step`, 5000);
    core.model.invalidate();
    return true;
  } catch (e) {
    void vscode.window.showErrorMessage(`Visorbus: ${action} ${d.name} failed: ${errorText(e)}`);
    return false;
  }
}

async function breakOn(core: VisorbusCore, arg: unknown, callback: string): Promise<string | undefined> {
  const d = await resolveDevice(core, arg);
  if (!d) return undefined;
  const name = `${d.name}.${callback}`;
  const exists = vscode.debug.breakpoints.some((b) => b instanceof vscode.FunctionBreakpoint && b.functionName === name);
  if (!exists) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(name)]);
  vscode.window.setStatusBarMessage(`Visorbus: breakpoint on ${name}`, 4000);
  return name;
}

async function copyGuid(arg: unknown): Promise<string | undefined> {
  let guid: string | undefined;
  if (arg instanceof DeviceNode) guid = arg.info.typeGuid;
  else if (arg instanceof BusNode) guid = arg.info.channel.typeGuid;
  else if (typeof arg === 'string') guid = arg;
  else if (arg && typeof arg === 'object' && (arg as DriversNode).kind === 'channelType') guid = (arg as { guid: string }).guid;
  if (!guid) return undefined;
  await vscode.env.clipboard.writeText(guid);
  vscode.window.setStatusBarMessage(`Copied ${guid}`, 3000);
  return guid;
}
