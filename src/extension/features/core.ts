/**
 * What the feature modules share: the extension context, the "Visorbus" output channel, the
 * visorbus debug sessions and the model the views read; and the two questions most commands
 * ask first — is there a session, and which device does this argument name.
 */
import * as vscode from 'vscode';
import { VisorbusSessions, SessionState } from '../debug/sessions';
import { VisorbusModel } from '../views/model';
import { DeviceNode } from '../views/devicesTree';
import { DeviceInfo, deviceIdFromName } from '../protocol';

export interface VisorbusCore {
  context: vscode.ExtensionContext;
  output: vscode.OutputChannel;
  sessions: VisorbusSessions;
  model: VisorbusModel;
}

/** The current session, or undefined after telling the user how to start one. */
export function requireSession(core: VisorbusCore): SessionState | undefined {
  const st = core.sessions.current;
  if (!st) void vscode.window.showInformationMessage('Visorbus: no visorbus debug session. Open a .visor scenario and press F5.');
  return st;
}

/** A device command's argument: a tree node, a DeviceInfo, or a name ("2:0", "vbus2:dev0"). */
export async function resolveDevice(core: VisorbusCore, arg: unknown): Promise<DeviceInfo | undefined> {
  if (arg instanceof DeviceNode) return arg.info;
  if (typeof arg === 'string') return core.model.findDevice(deviceIdFromName(arg));
  if (arg && typeof arg === 'object' && 'id' in arg && 'name' in arg && 'sysfsPath' in arg) return arg as DeviceInfo;
  return undefined;
}
