// Helpers for the extension-host tests: the extension's test API, waiting on events with a
// timeout (never sleeping), and a DAP tracker that records what the adapter sends.
import * as path from 'path';
import * as vscode from 'vscode';
import type { VisorbusApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'visorbus-studio.visorbus-studio';

export async function api(): Promise<VisorbusApi> {
  const ext = vscode.extensions.getExtension<VisorbusApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} not found`);
  return ext.isActive ? ext.exports : ext.activate();
}

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder open');
  return f.uri.fsPath;
}

export function exampleScenario(): string {
  return path.join(workspaceDir(), 'devices.visor');
}

/** Resolve when `check()` returns a truthy value, re-checking whenever `event` fires. */
export function waitFor<T>(what: string, event: vscode.Event<unknown>, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const subs: vscode.Disposable[] = [];
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      subs.forEach((d) => d.dispose());
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const test = async () => {
      try {
        const v = await check();
        if (v) finish(undefined, v);
      } catch (e) {
        finish(e as Error);
      }
    };
    subs.push(event(() => void test()));
    void test();
  });
}

export interface DapMessage {
  type: string;
  event?: string;
  command?: string;
  body?: Record<string, unknown>;
  success?: boolean;
  message?: string;
}

/** Records every message the visorbus adapter sends, for all sessions started after it. */
export class DapRecorder implements vscode.Disposable {
  readonly messages: DapMessage[] = [];
  private readonly emitter = new vscode.EventEmitter<DapMessage>();
  readonly onMessage = this.emitter.event;
  private readonly reg: vscode.Disposable;

  constructor() {
    this.reg = vscode.debug.registerDebugAdapterTrackerFactory('visorbus', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m: DapMessage) => {
          this.messages.push(m);
          this.emitter.fire(m);
        },
      }),
    });
  }

  /** The first event named `name` after index `from` that matches `pred`. */
  event(name: string, pred: (body: Record<string, unknown>) => boolean = () => true, from = 0, timeoutMs = 30000): Promise<DapMessage> {
    const find = () => this.messages.slice(from).find((m) => m.type === 'event' && m.event === name && pred(m.body ?? {}));
    return waitFor(`DAP event '${name}'`, this.onMessage, find, timeoutMs);
  }

  get mark(): number {
    return this.messages.length;
  }

  dispose(): void {
    this.reg.dispose();
    this.emitter.dispose();
  }
}

/** Every debug session started and not yet terminated (the active one is only the focused one). */
const liveSessions = new Map<string, vscode.DebugSession>();
vscode.debug.onDidStartDebugSession((s) => liveSessions.set(s.id, s));
vscode.debug.onDidTerminateDebugSession((s) => liveSessions.delete(s.id));

/** Stop every debug session, including one still terminating, and wait until none is left. */
export async function stopAllSessions(): Promise<void> {
  if (!vscode.debug.activeDebugSession && !liveSessions.size) return;
  const left = () => `${liveSessions.size} left: ${[...liveSessions.values()].map((s) => `${s.name} (${s.id})`).join(', ')}`;
  const ended = waitFor(
    'all debug sessions to end',
    vscode.debug.onDidTerminateDebugSession,
    () => (!vscode.debug.activeDebugSession && !liveSessions.size) || undefined,
    20000,
  ).catch((e: Error) => {
    throw new Error(`${e.message} (${left()})`);
  });
  await vscode.debug.stopDebugging();
  for (const s of [...liveSessions.values()]) await vscode.debug.stopDebugging(s);
  await ended;
}

export function removeAllBreakpoints(): void {
  if (vscode.debug.breakpoints.length) vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
}

/** Labels of tree items (resolved through the provider, as the view would). */
export async function labels<T>(provider: vscode.TreeDataProvider<T>, parent?: T): Promise<string[]> {
  const children = (await provider.getChildren(parent)) ?? [];
  return Promise.all(
    children.map(async (c) => {
      const item = await provider.getTreeItem(c);
      return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
    }),
  );
}

export async function childByLabel<T>(provider: vscode.TreeDataProvider<T>, label: string, parent?: T): Promise<T | undefined> {
  for (const c of (await provider.getChildren(parent)) ?? []) {
    const item = await provider.getTreeItem(c);
    const l = typeof item.label === 'string' ? item.label : item.label?.label;
    if (l === label) return c;
  }
  return undefined;
}
