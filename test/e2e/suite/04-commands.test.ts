// Commands that work without a debug session: New Scenario, Run Scenario (headless emulator), Show sysfs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, exampleScenario, workspaceDir } from './helpers';
import type { RunResult } from '../../../src/extension/scenarioCommands';

suite('commands', () => {
  suiteSetup(() => api());
  teardown(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  test('New Scenario (untitled) opens the template, which parses clean', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('visorbus.newScenario', 'untitled');
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())!;
    assert.strictEqual(doc.languageId, 'visor');
    assert.match(doc.getText(), /device create 2:0 type=vhba/);
    assert.deepStrictEqual(
      vscode.languages.getDiagnostics(doc.uri).map((d) => d.message),
      [],
    );
  });

  test('New Scenario (workspace) writes the file and opens it', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('visorbus.newScenario', 'workspace', 'made/new.visor');
    assert.strictEqual(uri.fsPath, path.join(workspaceDir(), 'made', 'new.visor'));
    assert.ok(fs.existsSync(uri.fsPath));
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath);
    // a second time does not overwrite it
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.newScenario', 'workspace', 'made/new.visor'), undefined);
  });

  test('Run Scenario runs the emulator headless and reports in the Visorbus output', async () => {
    const result = await vscode.commands.executeCommand<RunResult>('visorbus.runScenario', vscode.Uri.file(exampleScenario()));
    assert.strictEqual(result.exitCode, 0, `exit code 0; stderr: ${result.stderr}\nstdout: ${result.stdout}`);
    assert.ok(result.passed, 'every expect line held');
    assert.match(result.stdout, /vbus2:dev0/, 'the run prints the bus/device tree');
  });

  test('Run Scenario reports a failing expect, with its line in the Problems panel', async () => {
    const file = path.join(workspaceDir(), 'failing.visor');
    fs.writeFileSync(
      file,
      'chipset init\nbus create 2\ndevice create 2:0 type=vhba\nwait 10ms\nexpect /sys/bus/visorbus/devices/vbus2:dev0/driver == visornic\n',
    );
    const result = await vscode.commands.executeCommand<RunResult>('visorbus.runScenario', vscode.Uri.file(file));
    assert.strictEqual(result.passed, false);
    assert.strictEqual(result.failedExpects.length, 1);
    assert.strictEqual(result.failedExpects[0].line, 5);
    const problems = vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.source === 'visorbus run');
    assert.strictEqual(problems.length, 1);
    assert.strictEqual(problems[0].range.start.line, 4);
    assert.match(problems[0].message, /visornic/);
  });

  test('Show sysfs and Open Channel Inspector without a session', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.showSysfs'), true);
    assert.strictEqual(await vscode.commands.executeCommand('visorbus.openChannelInspector', 'controlvm'), undefined);
  });
});
