// The end of a run, step back, the Timeline view and the live status bar, in the real VS Code:
// the bundled adapter runs examples/workspace/devices.visor to its end; the session stays, a device
// is inspected there, the run steps back, and a probe landmark of the Timeline is clicked (its
// command run, as a click does); the call stack, the editor and Buses & Devices follow.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, childByLabel, DapRecorder, exampleScenario, labels, removeAllBreakpoints, stopAllSessions, waitFor, workspaceDir } from './helpers';
import type { VisorbusApi } from '../../../src/extension/extension';

suite('end of run, timeline and live refresh', function () {
  this.timeout(120000);
  let a: VisorbusApi;
  let dap: DapRecorder;

  suiteSetup(async () => {
    a = await api();
    removeAllBreakpoints();
    await stopAllSessions();
    dap = new DapRecorder();
  });
  suiteTeardown(async () => {
    await stopAllSessions();
    dap.dispose();
  });

  async function deviceNames(): Promise<string[]> {
    const names: string[] = [];
    for (const bus of (await a.devices.getChildren()) ?? []) names.push(...(await labels(a.devices, bus)));
    return names;
  }

  async function activeFrame(): Promise<vscode.DebugStackFrame> {
    return waitFor('an active stack frame', vscode.debug.onDidChangeActiveStackItem, () =>
      vscode.debug.activeStackItem instanceof vscode.DebugStackFrame ? vscode.debug.activeStackItem : undefined,
    );
  }

  /** Send a request that stops again, and return the stop's body and the top frame. */
  async function stopAfter(command: string, args: Record<string, unknown>): Promise<{ reason: string; line: number; name: string; path?: string }> {
    const session = vscode.debug.activeDebugSession!;
    const mark = dap.mark;
    await session.customRequest(command, args);
    const stopped = await dap.event('stopped', () => true, mark);
    const trace = await session.customRequest('stackTrace', { threadId: stopped.body?.threadId });
    const top = trace.stackFrames[0] as { line: number; name: string; source?: { path?: string } };
    return { reason: String(stopped.body?.reason), line: top.line, name: top.name, path: top.source?.path };
  }

  test('the run stops at its end; the final state is inspectable; step back twice', async () => {
    const mark = dap.mark;
    assert.ok(
      await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: 'visorbus',
        name: 'To the end',
        request: 'launch',
        scenario: exampleScenario(),
        stopOnEntry: false,
      }),
    );
    const end = await dap.event('stopped', () => true, mark);
    assert.strictEqual(end.body?.reason, 'end');
    assert.strictEqual(end.body?.description, 'Scenario finished');
    assert.ok(vscode.debug.activeDebugSession, 'the session is still there');
    await waitFor('the status bar to say finished', a.sessions.onDidChange, () => /· finished/.test(a.statusBar.item.text) || undefined);

    // The final state: the device tree and the channel inspector show it.
    await waitFor('vbus2:dev2 in Buses & Devices', a.model.onDidInvalidate, async () => ((await deviceNames()).includes('vbus2:dev2') ? true : undefined));
    const inspector = await vscode.commands.executeCommand<{
      current?: { channel: { header: { name: string; display: string }[] } };
      panel: vscode.WebviewPanel;
    }>('visorbus.device.inspect', 'vbus2:dev0');
    assert.match(inspector!.current!.channel.header.find((f) => f.name === 'signature')!.display, /ECNL/);
    inspector!.panel.dispose();

    const threadId = end.body?.threadId as number;
    const back1 = await stopAfter('stepBack', { threadId });
    assert.deepStrictEqual([back1.reason, back1.line], ['step', 24]);
    const back2 = await stopAfter('stepBack', { threadId });
    assert.deepStrictEqual([back2.reason, back2.line], ['step', 23]);
    const frame = await activeFrame();
    assert.strictEqual(frame.session.id, vscode.debug.activeDebugSession!.id);
  });

  test('clicking a probe landmark in the Timeline travels there: call stack, editor and tree follow', async () => {
    await vscode.commands.executeCommand('visorbus.timeline.focus');
    assert.deepStrictEqual(await vscode.commands.executeCommand('visorbus.timeline.filter', ['probe']), ['probe']);
    const probe = await waitFor('the vbus2:dev0 probe landmark', a.timeline.onDidRefresh, async () => {
      const nodes = (await a.timeline.getChildren()) ?? [];
      for (const n of nodes) {
        const item = a.timeline.getTreeItem(n);
        if (item.label === 'visorhba.probe(vbus2:dev0)') return item;
      }
      return undefined;
    });
    assert.match(String(probe.description), /^#\d+ · /);
    const cmd = probe.command!;
    const editorsBefore = vscode.window.activeTextEditor?.document.uri.toString();
    const mark = dap.mark;
    assert.strictEqual(await vscode.commands.executeCommand(cmd.command, ...(cmd.arguments ?? [])), true);
    const stopped = await dap.event('stopped', () => true, mark);
    assert.strictEqual(stopped.body?.reason, 'goto');
    const frame = await waitFor('the probe frame to be the active stack item', vscode.debug.onDidChangeActiveStackItem, async () => {
      const item = vscode.debug.activeStackItem;
      if (!(item instanceof vscode.DebugStackFrame)) return undefined;
      const trace = await item.session.customRequest('stackTrace', { threadId: item.threadId });
      const names: string[] = trace.stackFrames.map((f: { name: string }) => f.name);
      return names.some((n) => n.includes('visorhba.probe(vbus2:dev0)')) ? names : undefined;
    });
    assert.ok(frame.length > 0);
    // The editor shows where the probe is (the driver's source), not the scenario's last line.
    const editor = await waitFor('the editor to move to the probe', vscode.window.onDidChangeActiveTextEditor, () =>
      vscode.window.activeTextEditor && vscode.window.activeTextEditor.document.uri.toString() !== editorsBefore ? vscode.window.activeTextEditor : undefined,
    );
    assert.ok(editor.document.uri.toString() !== editorsBefore);
    // The tree is back at the first probe: vbus2:dev2 does not exist yet.
    const names = await waitFor('Buses & Devices at the probe', a.model.onDidInvalidate, async () => {
      const n = await deviceNames();
      return n.includes('vbus2:dev0') && !n.includes('vbus2:dev2') ? n : undefined;
    });
    assert.ok(!names.includes('vbus2:dev1'));
    const bus2 = await childByLabel(a.devices, 'visorbus2');
    assert.ok(bus2, 'bus 2 listed');
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.timeline.filter', []), undefined, 'an empty filter shows every kind');
  });

  test('during one long wait, the status bar time changes at least 3 times', async () => {
    await stopAllSessions();
    const file = path.join(workspaceDir(), 'longwait.visor');
    // One wait is at most 600 s of virtual time: sixteen polled devices make it last long enough to watch.
    const lines = [
      'chipset init',
      'bus create 2 devcount=16',
      ...Array.from({ length: 16 }, (_, i) => `device create 2:${i} type=${i % 2 ? 'vnic' : 'vhba'}`),
      'wait 600s',
    ];
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const mark = dap.mark;
    assert.ok(
      await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: 'visorbus',
        name: 'Long wait',
        request: 'launch',
        scenario: file,
        stopOnEntry: false,
      }),
    );
    const seen = new Set<string>();
    await waitFor(
      '3 different running times in the status bar',
      a.sessions.onDidChange,
      () => {
        const t = a.statusBar.item.text;
        if (/· running/.test(t)) seen.add(t);
        return seen.size >= 3 || undefined;
      },
      60000,
    );
    // Still inside the one wait line.
    const session = vscode.debug.activeDebugSession!;
    const from = dap.mark;
    await session.customRequest('pause', { threadId: 1 });
    const paused = await dap.event('stopped', () => true, from);
    const trace = await session.customRequest('stackTrace', { threadId: paused.body?.threadId });
    // (paths come back as vscode-remote URIs in code-server: match the source by name)
    const scenarioFrame = trace.stackFrames.find((f: { source?: { name?: string } }) => f.source?.name === 'longwait.visor');
    assert.strictEqual(
      scenarioFrame?.line,
      lines.length,
      JSON.stringify(trace.stackFrames.map((f: { name: string; line: number; source?: unknown }) => [f.name, f.line, f.source])),
    );
    assert.strictEqual(dap.messages.slice(mark, from).filter((m) => m.type === 'event' && m.event === 'stopped').length, 0, 'no stop before the pause');
    await stopAllSessions();
  });
});
