/**
 * Channel inspector tabs survive a window reload: VS Code keeps the tab and its webview state
 * (the device, see media/inspector.js) and hands the panel back here; the tab then follows the
 * visorbus session that runs, or says there is none.
 */
import * as vscode from 'vscode';
import { VisorbusSessions } from '../debug/sessions';
import { ChannelInspector } from './inspector';

/** A device id the inspector can show: "2:0" or "controlvm". */
export function restoredDevice(state: unknown): string | undefined {
  const d = (state as { device?: unknown } | undefined)?.device;
  return typeof d === 'string' && /^(\d{1,5}:\d{1,5}|controlvm)$/.test(d) ? d : undefined;
}

export function registerInspectorRestore(context: vscode.ExtensionContext, sessions: VisorbusSessions, log: vscode.OutputChannel): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(ChannelInspector.viewType, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
      const device = restoredDevice(state);
      if (!device) {
        log.appendLine(`[inspector] not restoring a tab without a device: ${JSON.stringify(state)?.slice(0, 200)}`);
        panel.dispose();
        return;
      }
      ChannelInspector.restore(context, sessions, log, panel, device);
    },
  });
}
