/**
 * Channel inspector: a webview that shows one channel decoded (`visorbus/channel`) beside a hex view
 * (`readMemory`), refreshed on every stop and on `visorbus/changed` / `memory` events. A writable
 * field can be edited (`writeMemory`); "Open in binary view" opens VS Code's own memory view.
 *
 * A tab belongs to a device, not to a session: there is one tab per device, and it follows the
 * visorbus session the views show. When that session ends the tab says "no session" and greys
 * out what it last read; a new (or restarted) session makes it read the channel again, and a
 * device that does not exist there is said plainly instead of showing old values.
 */
import * as vscode from 'vscode';
import { SessionChange, SessionState, VisorbusSessions } from '../debug/sessions';
import { ChannelView, deviceDisplayName } from '../protocol';
import { errorText } from '../views/model';
import { encodeFieldValue, findWritableField, FromWebview, HEX_WINDOW, parseWebviewMessage } from './messages';
import { inspectorHtml } from './page';

export const HEX_EDITOR_ID = 'ms-vscode.hexeditor';
export const VIEW_MEMORY_COMMAND = 'workbench.debug.viewlet.action.viewMemory';

export interface InspectorSnapshot {
  device: string;
  channel: ChannelView;
  window: { offset: number; bytes: Uint8Array };
}

/**
 * What the tab shows, in words a user reads: `live` (the channel of the attached session),
 * `missing` (that session has no such device), `noSession` (none runs: old values greyed out),
 * `error` (the last read failed), `loading` (not read yet).
 */
export interface InspectorView {
  kind: 'loading' | 'live' | 'missing' | 'noSession' | 'error';
  /** The toolbar's status text, e.g. "stopped · t = 12 ms · Debug devices.visor" or "no session". */
  status: string;
  /** The notice line under the toolbar (no session, no such device, the error), if any. */
  notice?: string;
  /** The values shown are from a session that has ended. */
  stale: boolean;
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

/** The toolbar status of a session: its state, virtual time and name. */
export function sessionStatus(st: SessionState): string {
  const t = st.last ? `t = ${st.last.time.ms} ms` : '';
  return [st.stopped ? 'stopped' : 'running', t, st.session.name].filter(Boolean).join(' · ');
}

export class ChannelInspector implements vscode.Disposable {
  static readonly viewType = 'visorbus.channelInspector';
  private static readonly panels = new Map<string, ChannelInspector>();

  /** Open the inspector of `device` ("2:0" or "controlvm"), or reveal its tab; it follows `st` from now on. */
  static show(
    context: vscode.ExtensionContext,
    sessions: VisorbusSessions,
    log: vscode.OutputChannel,
    st: SessionState | undefined,
    device: string,
  ): ChannelInspector {
    const existing = ChannelInspector.panels.get(device);
    if (existing) {
      existing.panel.reveal(undefined, false);
      if (st && existing.state !== st) existing.attach(st);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      ChannelInspector.viewType,
      `Channel ${deviceDisplayName(device)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      ChannelInspector.options(context),
    );
    return ChannelInspector.adopt(context, sessions, log, device, panel, st);
  }

  /** A tab VS Code kept across a window reload (the webview serializer hands it back). */
  static restore(
    context: vscode.ExtensionContext,
    sessions: VisorbusSessions,
    log: vscode.OutputChannel,
    panel: vscode.WebviewPanel,
    device: string,
  ): ChannelInspector {
    const existing = ChannelInspector.panels.get(device);
    if (existing) {
      // one tab per device: the restored duplicate goes
      panel.dispose();
      return existing;
    }
    panel.webview.options = ChannelInspector.options(context);
    return ChannelInspector.adopt(context, sessions, log, device, panel, sessions.current);
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media')] };
  }

  private static adopt(
    context: vscode.ExtensionContext,
    sessions: VisorbusSessions,
    log: vscode.OutputChannel,
    device: string,
    panel: vscode.WebviewPanel,
    st: SessionState | undefined,
  ): ChannelInspector {
    const inspector = new ChannelInspector(context, sessions, log, device, panel, st);
    ChannelInspector.panels.set(device, inspector);
    return inspector;
  }

  static all(): ChannelInspector[] {
    return [...ChannelInspector.panels.values()];
  }

  private snapshot: InspectorSnapshot | undefined;
  private attached: SessionState | undefined;
  /** Bumped on every attach/detach: a read that started for another session is dropped. */
  private generation = 0;
  private shown: InspectorView;
  private windowOffset = 0;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly refreshedEmitter = new vscode.EventEmitter<InspectorSnapshot | undefined>();
  private readonly viewEmitter = new vscode.EventEmitter<InspectorView>();
  /** Fired after each refresh (with the new data, or undefined when it failed). */
  readonly onDidRefresh = this.refreshedEmitter.event;
  /** Fired whenever what the tab shows changes (status, notice, staleness). */
  readonly onDidChangeView = this.viewEmitter.event;
  lastError: string | undefined;

  private constructor(
    context: vscode.ExtensionContext,
    private readonly sessions: VisorbusSessions,
    private readonly log: vscode.OutputChannel,
    readonly device: string,
    readonly panel: vscode.WebviewPanel,
    st: SessionState | undefined,
  ) {
    this.attached = st;
    this.shown = st ? { kind: 'loading', status: sessionStatus(st), stale: false } : this.noSessionView();
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'visorbus.svg');
    panel.webview.html = inspectorHtml(panel.webview, context.extensionUri, device);
    this.disposables.push(
      this.refreshedEmitter,
      this.viewEmitter,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      sessions.onDidChange((e) => this.onSessionChange(e)),
    );
  }

  /** The last channel read, while it belongs to a live session or is marked stale. */
  get current(): InspectorSnapshot | undefined {
    return this.snapshot;
  }

  /** The session the tab follows, if one runs. */
  get state(): SessionState | undefined {
    return this.attached;
  }

  get view(): InspectorView {
    return this.shown;
  }

  private onSessionChange(e: SessionChange): void {
    const mine = this.attached !== undefined && e.session?.id === this.attached.session.id;
    switch (e.reason) {
      case 'ended':
        if (!mine) return;
        this.detach();
        // another visorbus session still runs: follow it
        if (this.sessions.current) this.attach(this.sessions.current);
        return;
      case 'started':
      case 'focus': {
        // a session that just started has no model yet: its first stop (or change) reads the channel
        const cur = this.sessions.current;
        if (cur && cur !== this.attached) this.attach(cur, e.reason === 'focus');
        return;
      }
      case 'stopped':
      case 'changed':
      case 'memory':
        if (mine) void this.refresh();
        return;
      case 'continued':
        if (mine && this.shown.kind === 'live') this.setView({ ...this.shown, status: sessionStatus(this.attached!) });
        return;
    }
  }

  /** Follow `st` from now on, and read the channel there now unless `read` is false. */
  attach(st: SessionState, read = true): void {
    this.attached = st;
    this.generation++;
    this.setView({
      kind: 'loading',
      status: sessionStatus(st),
      notice: `Waiting for ${st.session.name} to read ${deviceDisplayName(this.device)}…`,
      stale: this.snapshot !== undefined,
    });
    if (read) void this.refresh();
  }

  /** The session ended: say so, and keep the last values only greyed out. */
  private detach(): void {
    this.attached = undefined;
    this.generation++;
    // a read that failed while the session was shutting down is no error of the tab
    this.lastError = undefined;
    this.setView(this.noSessionView());
  }

  private noSessionView(): InspectorView {
    const what = this.snapshot ? 'The values below are from the session that ended. ' : '';
    return {
      kind: 'noSession',
      status: 'no session',
      stale: this.snapshot !== undefined,
      notice: `No visorbus debug session. ${what}This tab reconnects when a visorbus session starts (F5 on a .visor scenario).`,
    };
  }

  private setView(v: InspectorView): void {
    this.shown = v;
    void this.post({ type: 'view', ...v });
    this.viewEmitter.fire(v);
  }

  /** Re-read the channel and the shown bytes; concurrent calls collapse into one more read. */
  refresh(): Promise<void> {
    if (!this.attached) {
      this.setView(this.noSessionView());
      return Promise.resolve();
    }
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
    const st = this.attached;
    if (!st) return;
    const generation = this.generation;
    try {
      const channel = await st.client.channel(this.device);
      if (this.windowOffset >= channel.nbytes) this.windowOffset = 0;
      const bytes = await st.client.readMemory(channel.memoryReference, this.windowOffset, Math.min(HEX_WINDOW, channel.nbytes - this.windowOffset));
      if (generation !== this.generation) return;
      this.snapshot = { device: this.device, channel, window: { offset: this.windowOffset, bytes } };
      this.lastError = undefined;
      this.shown = { kind: 'live', status: sessionStatus(st), stale: false };
      await this.postSnapshot();
      this.viewEmitter.fire(this.shown);
      this.refreshedEmitter.fire(this.snapshot);
    } catch (e) {
      if (generation !== this.generation) return;
      this.lastError = errorText(e);
      this.failed(st, this.lastError);
      this.refreshedEmitter.fire(undefined);
    }
  }

  /** A read failed: a device the session does not have is said plainly (no old values); other errors show as such. */
  private failed(st: SessionState, message: string): void {
    const name = deviceDisplayName(this.device);
    if (/has no channel|does not exist/.test(message)) {
      this.snapshot = undefined;
      const when = st.last ? ` at t = ${st.last.time.ms} ms` : '';
      this.setView({
        kind: 'missing',
        status: sessionStatus(st),
        stale: false,
        notice: `${name} does not exist in ${st.session.name}${when}. This tab shows it when the scenario creates it.`,
      });
      return;
    }
    this.setView({ kind: 'error', status: sessionStatus(st), stale: this.shown.stale, notice: `Cannot read ${name}: ${message}` });
  }

  private postSnapshot(): Thenable<boolean> {
    const s = this.snapshot;
    if (!s) return Promise.resolve(false);
    return this.post({
      type: 'update',
      device: s.device,
      name: deviceDisplayName(s.device),
      channel: s.channel,
      window: { offset: s.window.offset, data: Buffer.from(s.window.bytes).toString('base64') },
      view: this.shown,
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
        // the page was (re)loaded, e.g. brought to the front: never show what it had without checking
        if (this.attached) return this.refresh();
        await this.postSnapshot();
        this.setView(this.noSessionView());
        return;
      case 'refresh':
        return this.refresh();
      case 'window': {
        const nbytes = this.snapshot?.channel.nbytes ?? 0;
        if (msg.offset >= nbytes || !this.attached) return;
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
    const st = this.attached;
    const fail = async (why: string) => {
      await this.post({ type: 'writeResult', ok: false, name, message: why });
      void vscode.window.showErrorMessage(`Visorbus: cannot write ${name}: ${why}`);
    };
    if (!st) return fail('no visorbus debug session');
    if (!ch || this.shown.kind !== 'live') return fail('the channel is not loaded');
    const field = findWritableField(ch, name, offset, size);
    if (typeof field === 'string') return fail(field);
    const bytes = encodeFieldValue(value, size);
    if (typeof bytes === 'string') return fail(bytes);
    try {
      await st.client.writeMemory(ch.memoryReference, offset, bytes);
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
    return ch && this.attached ? debugMemoryUri(this.attached.session.id, ch.memoryReference, range) : undefined;
  }

  async openBinaryView(): Promise<void> {
    const ch = this.snapshot?.channel;
    if (!ch || !this.attached) return;
    const context = { sessionId: this.attached.session.id, variable: { memoryReference: ch.memoryReference, name: deviceDisplayName(this.device) } };
    if (vscode.extensions.getExtension(HEX_EDITOR_ID)) {
      await vscode.commands.executeCommand(VIEW_MEMORY_COMMAND, context);
      return;
    }
    const install = 'Install Hex Editor and Open';
    const choice = await vscode.window.showInformationMessage(
      `VS Code shows debug memory in the Hex Editor extension (${HEX_EDITOR_ID}), which is not installed. ` +
        `The channel is memoryReference ${ch.memoryReference} (${debugMemoryUri(context.sessionId, ch.memoryReference).toString()}).`,
      install,
    );
    if (choice === install) await vscode.commands.executeCommand(VIEW_MEMORY_COMMAND, context);
  }

  dispose(): void {
    for (const [k, v] of ChannelInspector.panels) if (v === this) ChannelInspector.panels.delete(k);
    const ds = this.disposables.splice(0);
    for (const d of ds) d.dispose();
    this.panel.dispose();
  }
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 300) ?? String(x);
  } catch {
    return String(x);
  }
}
