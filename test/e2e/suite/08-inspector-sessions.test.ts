// The channel inspector across sessions: one tab per device, which follows the visorbus session
// (a restart, a new F5), says "no session" in between with the old values marked stale, and says
// plainly when the session has no such device.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { api, DapRecorder, exampleScenario, removeAllBreakpoints, stopAllSessions, waitFor } from './helpers';
import type { VisorbusApi } from '../../../src/extension/extension';
import type { ChannelInspector, InspectorView } from '../../../src/extension/inspector/inspector';

suite('channel inspector across sessions', function () {
  this.timeout(180000);
  let a: VisorbusApi;
  let dap: DapRecorder;
  let inspector: ChannelInspector;
  let threadId = 0;

  suiteSetup(async () => {
    a = await api();
    await stopAllSessions();
    removeAllBreakpoints();
    for (const i of a.inspectors()) i.dispose();
    dap = new DapRecorder();
  });
  suiteTeardown(async () => {
    await stopAllSessions();
    removeAllBreakpoints();
    for (const i of a.inspectors()) i.dispose();
    dap.dispose();
  });

  /** F5 on the example scenario (no launch.json): resolves at the stop on entry. */
  async function f5(): Promise<vscode.DebugSession> {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(exampleScenario()));
    const mark = dap.mark;
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'visorbus', name: 'Debug devices.visor', request: 'launch' }));
    threadId = (await dap.event('stopped', (b) => b.reason === 'entry', mark)).body?.threadId as number;
    return vscode.debug.activeDebugSession!;
  }

  /** Continue to the probe of vbus2:dev1 (the function breakpoint set below): the device exists there. */
  async function continueToProbe(session: vscode.DebugSession): Promise<void> {
    const mark = dap.mark;
    await session.customRequest('continue', { threadId });
    threadId = (await dap.event('stopped', (b) => b.reason === 'function breakpoint', mark)).body?.threadId as number;
  }

  function viewIs(what: string, pred: (v: InspectorView) => boolean): Promise<InspectorView> {
    return waitFor(`the inspector to show ${what}`, inspector.onDidChangeView, () => (pred(inspector.view) ? inspector.view : undefined), 30000);
  }

  const signature = () => inspector.current?.channel.header.find((f) => f.name === 'signature')?.display ?? '';

  function inspectorTabs(): vscode.Tab[] {
    return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Channel vbus2:dev1');
  }

  test('one tab per device: opening the inspector again reveals the same tab', async () => {
    const session = await f5();
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('vbus2:dev1.probe')]);
    await waitFor('the breakpoint to be set', vscode.debug.onDidChangeBreakpoints, () => vscode.debug.breakpoints.length === 1 || undefined);
    await continueToProbe(session);
    inspector = (await vscode.commands.executeCommand<ChannelInspector>('visorbus.device.inspect', 'vbus2:dev1'))!;
    assert.strictEqual(inspector.view.kind, 'live');
    assert.match(inspector.view.status, /^stopped/);
    assert.match(signature(), /ECNL/);
    const again = await vscode.commands.executeCommand<ChannelInspector>('visorbus.device.inspect', 'vbus2:dev1');
    assert.strictEqual(again, inspector, 'the same inspector');
    assert.strictEqual(a.inspectors().filter((i) => i.device === '2:1').length, 1);
    assert.strictEqual(inspectorTabs().length, 1, 'one tab');
  });

  test('after a restart the tab says the device does not exist yet, then shows it again', async () => {
    const session = vscode.debug.activeDebugSession!;
    const mark = dap.mark;
    await vscode.commands.executeCommand('workbench.action.debug.restart');
    threadId = (await dap.event('stopped', (b) => b.reason === 'entry', mark)).body?.threadId as number;
    const missing = await viewIs('that vbus2:dev1 does not exist', (v) => v.kind === 'missing');
    assert.match(missing.notice ?? '', /vbus2:dev1 does not exist/);
    assert.match(missing.status, /^stopped/, 'the session is stopped on entry, not running');
    assert.strictEqual(inspector.current, undefined, 'no values of the run before the restart');
    await continueToProbe(vscode.debug.activeDebugSession ?? session);
    await viewIs('the channel again', (v) => v.kind === 'live');
    assert.match(signature(), /ECNL/);
    assert.strictEqual(inspector.view.stale, false);
  });

  test('between sessions the tab says "no session" and marks the old values stale', async () => {
    const live = inspector.current;
    await stopAllSessions();
    const v = await viewIs('no session', (x) => x.kind === 'noSession');
    assert.strictEqual(v.status, 'no session');
    assert.doesNotMatch(v.status, /running|stopped/);
    assert.strictEqual(v.stale, true, 'the values shown are marked stale');
    assert.match(v.notice ?? '', /No visorbus debug session/);
    assert.strictEqual(inspector.current, live, 'the last values stay, greyed out');
    // Refresh (the webview's button) with no session keeps saying so; nothing fails
    await inspector.onMessage({ type: 'refresh' });
    assert.strictEqual(inspector.view.kind, 'noSession');
    assert.strictEqual(inspector.lastError, undefined);
  });

  test('a new F5 reattaches the same tab to the new session', async () => {
    const session = await f5();
    await viewIs('the new session', (v) => v.kind !== 'noSession');
    assert.strictEqual(inspector.state?.session.id, session.id, 'follows the new session');
    await continueToProbe(session);
    const v = await viewIs('the channel in the new session', (x) => x.kind === 'live');
    assert.strictEqual(v.stale, false);
    assert.match(signature(), /ECNL/);
    assert.strictEqual(inspectorTabs().length, 1, 'still one tab');
    assert.strictEqual(a.inspectors().length, 1);
  });
});
