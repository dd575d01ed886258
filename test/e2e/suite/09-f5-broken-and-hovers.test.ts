// F5 on a scenario with a syntax error starts nothing (no launch.json, the error in Problems), and
// hovering a device id in a scenario shows the device: its `device create` line without a session,
// the live device (driver, state, queues) while a session is stopped.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, DapRecorder, exampleScenario, removeAllBreakpoints, stopAllSessions, waitFor, workspaceDir } from './helpers';

const BROKEN_TEXT = 'chipset init\nbus create 2 name=io\ndevice crate 2:0 type=vhba\n';

suite('F5 on a broken scenario; device hovers', function () {
  this.timeout(120000);
  let dap: DapRecorder;
  const created: string[] = [];

  suiteSetup(async () => {
    await api();
    await stopAllSessions();
    removeAllBreakpoints();
    dap = new DapRecorder();
  });
  suiteTeardown(async () => {
    await stopAllSessions();
    removeAllBreakpoints();
    dap.dispose();
    for (const f of created) fs.rmSync(f, { force: true });
  });

  function brokenFile(name: string): string {
    const file = path.join(workspaceDir(), name);
    fs.writeFileSync(file, BROKEN_TEXT);
    created.push(file);
    return file;
  }

  const launchJson = () => path.join(workspaceDir(), '.vscode', 'launch.json');

  test('F5 on the open broken scenario starts no session and creates no launch.json', async () => {
    const file = brokenFile('broken-open.visor');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
    // what F5 without launch.json does: the provider resolves the open file
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
      type: 'visorbus',
      name: 'Debug broken-open.visor',
      request: 'launch',
    });
    assert.strictEqual(started, false, 'the launch is aborted');
    assert.strictEqual(vscode.debug.activeDebugSession, undefined);
    assert.strictEqual(fs.existsSync(launchJson()), false, 'no .vscode/launch.json');
    const diags = await waitFor('the error in Problems', vscode.languages.onDidChangeDiagnostics, () =>
      vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length
        ? vscode.languages.getDiagnostics(vscode.Uri.file(file))
        : undefined,
    );
    assert.strictEqual(diags[0].range.start.line, 2);
    assert.match(diags[0].message, /unknown subcommand 'crate'/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('a launch of a broken scenario that is not open puts its error in Problems', async () => {
    const file = brokenFile('broken-closed.visor');
    const uri = vscode.Uri.file(file);
    assert.strictEqual(vscode.languages.getDiagnostics(uri).length, 0);
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
      type: 'visorbus',
      name: 'broken',
      request: 'launch',
      scenario: file,
    });
    assert.strictEqual(started, false);
    const diags = vscode.languages.getDiagnostics(uri);
    assert.strictEqual(diags.length, 1, 'the error is listed although the file is not open');
    assert.strictEqual(diags[0].range.start.line, 2);
    assert.strictEqual(fs.existsSync(launchJson()), false);
  });

  /** The hover text at the first `2:0` of `device create 2:0`. */
  async function hoverOn20(): Promise<string> {
    const doc = await vscode.workspace.openTextDocument(exampleScenario());
    const line = doc
      .getText()
      .split('\n')
      .findIndex((l) => l.startsWith('device create 2:0'));
    const pos = new vscode.Position(line, 'device create 2'.length);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
    return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
  }

  test('hovering 2:0 without a session shows its device create line', async () => {
    const text = await hoverOn20();
    assert.match(text, /\*\*vbus2:dev0\*\* \(device 2:0\)/);
    assert.match(text, /`vhba`/);
    assert.match(text, /line 13: `device create 2:0 type=vhba bytes=0x10000`/);
    assert.match(text, /no debug session/);
  });

  test('hovering 2:0 while stopped shows the live device: driver, state, queues', async () => {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(exampleScenario()));
    vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('vbus2:dev1.probe')]);
    let mark = dap.mark;
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'visorbus', name: 'Debug devices.visor', request: 'launch' }));
    const entry = await dap.event('stopped', (b) => b.reason === 'entry', mark);
    const before = await hoverOn20();
    assert.match(before, /live in .*stopped/);
    assert.match(before, /vbus2:dev0 does not exist at this point of the run/);
    mark = dap.mark;
    await vscode.debug.activeDebugSession!.customRequest('continue', { threadId: entry.body?.threadId });
    await dap.event('stopped', (b) => b.reason === 'function breakpoint', mark);
    const text = await hoverOn20();
    assert.match(text, /\| driver \| visorhba \|/);
    assert.match(text, /\| state \| running \|/);
    assert.match(text, /\| queues \| q0 \d+\/\d+/);
    assert.match(text, /65536 bytes/);
  });
});
