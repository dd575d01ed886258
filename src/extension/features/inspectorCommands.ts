/** "Open Channel Inspector" (palette, view title, a device's inline action): which channel, then the inspector. */
import * as vscode from 'vscode';
import { ChannelInspector } from '../inspector/inspector';
import { errorText } from '../views/model';
import { VisorbusCore, requireSession, resolveDevice } from './core';
import { WALKTHROUGH_KEYS, walkthroughDone } from './walkthrough';

export function registerInspectorCommands(core: VisorbusCore): void {
  core.context.subscriptions.push(
    vscode.commands.registerCommand('visorbus.openChannelInspector', (arg?: unknown) => openInspector(core, arg)),
    vscode.commands.registerCommand('visorbus.device.inspect', (arg?: unknown) => openInspector(core, arg)),
  );
}

async function openInspector(core: VisorbusCore, arg?: unknown): Promise<ChannelInspector | undefined> {
  const st = requireSession(core);
  if (!st) return undefined;
  let id: string | undefined;
  if (arg === 'controlvm') id = 'controlvm';
  else if (arg !== undefined) id = (await resolveDevice(core, arg))?.id;
  id ??= await pickChannel(core);
  if (!id) return undefined;
  const inspector = ChannelInspector.show(core.context, core.sessions, core.output, st, id);
  walkthroughDone(WALKTHROUGH_KEYS.inspected);
  await inspector.refresh();
  return inspector;
}

/** A quick pick of controlvm and every device of the session. */
async function pickChannel(core: VisorbusCore): Promise<string | undefined> {
  const { model } = core;
  const items: (vscode.QuickPickItem & { id: string })[] = [{ label: 'controlvm', description: 'the controlvm channel (visorchipset)', id: 'controlvm' }];
  try {
    const topo = await (model.topology() ?? Promise.reject(new Error('no session')));
    for (const b of topo.buses) {
      const page = await (model.devices(b.bus) ?? Promise.resolve({ devices: [], total: 0 }));
      for (const d of page.devices) items.push({ label: d.name, description: `${d.driver ?? 'no driver'} · ${d.typeName || d.typeGuid}`, id: d.id });
    }
  } catch (e) {
    core.output.appendLine(`[inspector] cannot list devices: ${errorText(e)}`);
  }
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Channel to inspect' }))?.id;
}
