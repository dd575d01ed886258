/**
 * Channel inspector: a webview that shows one channel decoded (`visorbus/channel`) beside a hex view
 * (`readMemory`), refreshed on every stop and on `visorbus/changed` / `memory` events. A writable
 * field can be edited (`writeMemory`); "Open in binary view" opens VS Code's own memory view.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { SessionState, VisorbusSessions } from '../debug/sessions';
import { ChannelView, deviceDisplayName } from '../protocol';
import { errorText } from '../views/model';
import { encodeFieldValue, findWritableField, FromWebview, HEX_WINDOW, parseWebviewMessage } from './messages';

export const HEX_EDITOR_ID = 'ms-vscode.hexeditor';
export const VIEW_MEMORY_COMMAND = 'workbench.debug.viewlet.action.viewMemory';

export interface InspectorSnapshot {
  device: string;
  channel: ChannelView;
  window: { offset: number; bytes: Uint8Array };
}

/**
 * The URI VS Code 1.100 gives a debug session's memory (debugUtils `getUriForDebugMemory`), served by
 * the workbench's memory file system over DAP readMemory/writeMemory; the binary view opens it.
 */
export function debugMemoryUri(sessionId: string, memoryReference: string, range?: { from: number; to: number }, displayName = 'memory'): vscode.Uri {
  return vscode.Uri.from({
    scheme: 'vscode-debug-memory',
    authority: sessionId,
    path: '/' + encodeURIComponent(memoryReference) + `/${encodeURIComponent(displayName)}.bin`,
    query: range ? `?range=${range.from}:${range.to}` : undefined,
  });
}

export class ChannelInspector implements vscode.Disposable {
  static readonly viewType = 'visorbus.channelInspector';
  private static readonly panels = new Map<string, ChannelInspector>();

  /** Open (or reveal) the inspector of `device` ("2:0" or "controlvm") in this session. */
  static show(context: vscode.ExtensionContext, sessions: VisorbusSessions, log: vscode.OutputChannel,
    st: SessionState, device: string): ChannelInspector {
    const key = `${st.session.id}/${device}`;
    const existing = ChannelInspector.panels.get(key);
    if (existing) {
      existing.panel.reveal(undefined, false);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(ChannelInspector.viewType, `Channel ${deviceDisplayName(device)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media')],
      });
    const inspector = new ChannelInspector(context, sessions, log, st, device, panel);
    ChannelInspector.panels.set(key, inspector);
    return inspector;
  }

  static all(): ChannelInspector[] {
    return [...ChannelInspector.panels.values()];
  }

  private snapshot: InspectorSnapshot | undefined;
  private windowOffset = 0;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private ended = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly refreshedEmitter = new vscode.EventEmitter<InspectorSnapshot | undefined>();
  /** Fired after each refresh (with the new data, or undefined when it failed). */
  readonly onDidRefresh = this.refreshedEmitter.event;
  lastError: string | undefined;

  private constructor(
    private readonly context: vscode.ExtensionContext,
    sessions: VisorbusSessions,
    private readonly log: vscode.OutputChannel,
    readonly state: SessionState,
    readonly device: string,
    readonly panel: vscode.WebviewPanel,
  ) {
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'visorbus.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      this.refreshedEmitter,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage(m => this.onMessage(m)),
      sessions.onDidChange(e => {
        if (e.session?.id !== state.session.id) return;
        if (e.reason === 'ended') {
          this.ended = true;
          void this.post({ type: 'ended' });
        } else if (e.reason === 'stopped' || e.reason === 'changed' || e.reason === 'memory') {
          void this.refresh();
        } else if (e.reason === 'continued') {
          void this.post({ type: 'running' });
        }
      }),
    );
  }

  get current(): InspectorSnapshot | undefined {
    return this.snapshot;
  }

  /** Re-read the channel and the shown bytes; concurrent calls collapse into one more read. */
  refresh(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.load();
      } while (this.again);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    try {
      const channel = await this.state.client.channel(this.device);
      if (this.windowOffset >= channel.nbytes) this.windowOffset = 0;
      const bytes = await this.state.client.readMemory(channel.memoryReference, this.windowOffset,
        Math.min(HEX_WINDOW, channel.nbytes - this.windowOffset));
      this.snapshot = { device: this.device, channel, window: { offset: this.windowOffset, bytes } };
      this.lastError = undefined;
      await this.postSnapshot();
      this.refreshedEmitter.fire(this.snapshot);
    } catch (e) {
      this.lastError = errorText(e);
      await this.post({ type: 'error', message: this.lastError });
      this.refreshedEmitter.fire(undefined);
    }
  }

  private postSnapshot(): Thenable<boolean> {
    const s = this.snapshot;
    if (!s) return Promise.resolve(false);
    const last = this.state.last;
    return this.post({
      type: 'update',
      device: s.device,
      name: deviceDisplayName(s.device),
      channel: s.channel,
      window: { offset: s.window.offset, data: Buffer.from(s.window.bytes).toString('base64') },
      stopped: this.state.stopped,
      time: last ? last.time : undefined,
    });
  }

  private post(message: unknown): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  /** Handle a message from the webview after checking it. */
  async onMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.log.appendLine(`[inspector] ignored malformed message from the webview: ${safeJson(raw)}`);
      return;
    }
    await this.handle(msg);
  }

  private async handle(msg: FromWebview): Promise<void> {
    switch (msg.type) {
      case 'ready':
        if (this.snapshot) await this.postSnapshot();
        else await this.refresh();
        return;
      case 'refresh':
        return this.refresh();
      case 'window': {
        const nbytes = this.snapshot?.channel.nbytes ?? 0;
        if (msg.offset >= nbytes) return;
        this.windowOffset = msg.offset - (msg.offset % 16);
        return this.refresh();
      }
      case 'openBinary':
        return this.openBinaryView();
      case 'writeField':
        return this.writeField(msg.name, msg.offset, msg.size, msg.value);
    }
  }

  async writeField(name: string, offset: number, size: number, value: string): Promise<void> {
    const ch = this.snapshot?.channel;
    const fail = async (why: string) => {
      await this.post({ type: 'writeResult', ok: false, name, message: why });
      void vscode.window.showErrorMessage(`Visorbus: cannot write ${name}: ${why}`);
    };
    if (!ch) return fail('the channel is not loaded');
    const field = findWritableField(ch, name, offset, size);
    if (typeof field === 'string') return fail(field);
    const bytes = encodeFieldValue(value, size);
    if (typeof bytes === 'string') return fail(bytes);
    try {
      await this.state.client.writeMemory(ch.memoryReference, offset, bytes);
      this.log.appendLine(`[inspector] ${deviceDisplayName(this.device)} ${name} (+${offset}, ${size} bytes) <- ${value}`);
      await this.post({ type: 'writeResult', ok: true, name });
    } catch (e) {
      return fail(errorText(e));
    }
    await this.refresh();
  }

  /** The channel in VS Code's debug memory file system (what "Open in binary view" shows). */
  binaryViewUri(range?: { from: number; to: number }): vscode.Uri | undefined {
    const ch = this.snapshot?.channel;
    return ch ? debugMemoryUri(this.state.session.id, ch.memoryReference, range) : undefined;
  }

  async openBinaryView(): Promise<void> {
    const ch = this.snapshot?.channel;
    if (!ch) return;
    const context = { sessionId: this.state.session.id, variable: { memoryReference: ch.memoryReference, name: deviceDisplayName(this.device) } };
    if (vscode.extensions.getExtension(HEX_EDITOR_ID)) {
      await vscode.commands.executeCommand(VIEW_MEMORY_COMMAND, context);
      return;
    }
    const install = 'Install Hex Editor and Open';
    const choice = await vscode.window.showInformationMessage(
      `VS Code shows debug memory in the Hex Editor extension (${HEX_EDITOR_ID}), which is not installed. ` +
      `The channel is memoryReference ${ch.memoryReference} (${debugMemoryUri(context.sessionId, ch.memoryReference).toString()}).`,
      install);
    if (choice === install) await vscode.commands.executeCommand(VIEW_MEMORY_COMMAND, context);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = crypto.randomBytes(16).toString('base64');
    const media = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'media', f)).toString();
    const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${webview.cspSource} 'nonce-${nonce}'`;
    const title = `Channel ${deviceDisplayName(this.device)}`;
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${media('inspector.css')}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<header class="toolbar" role="toolbar" aria-label="Channel inspector">
  <h1 id="title">${escapeHtml(title)}</h1>
  <span id="status" class="status" role="status" aria-live="polite">loading…</span>
  <button id="refresh" type="button" aria-label="Refresh the channel">Refresh</button>
  <button id="binary" type="button" aria-label="Open the channel memory in VS Code's binary view">Open in binary view</button>
</header>
<div id="error" class="error" role="alert" hidden></div>
<main class="layout">
  <section id="decoded" class="decoded" aria-label="Decoded channel"></section>
  <section id="hex" class="hex" aria-label="Channel bytes">
    <div class="hexnav">
      <button id="hexPrev" type="button" aria-label="Previous bytes">◀</button>
      <label for="hexGoto">offset</label>
      <input id="hexGoto" type="text" size="10" spellcheck="false" aria-label="Go to channel offset (hex or decimal)">
      <button id="hexNext" type="button" aria-label="Next bytes">▶</button>
    </div>
    <pre id="hexBody" class="hexbody" tabindex="0" aria-label="Hex dump"></pre>
  </section>
</main>
<script nonce="${nonce}" src="${media('inspector.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    for (const [k, v] of ChannelInspector.panels) if (v === this) ChannelInspector.panels.delete(k);
    const ds = this.disposables.splice(0);
    for (const d of ds) d.dispose();
    this.panel.dispose();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 300) ?? String(x);
  } catch {
    return String(x);
  }
}
