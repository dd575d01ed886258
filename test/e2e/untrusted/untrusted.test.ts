// A cloned repository nobody has trusted: its scenario loads its own driver module, which
// would leave a marker file if it ran, and names a disk image that is a symbolic link out of
// the workspace. Run (the command behind the CodeLens, the editor-title button and the
// explorer menu) and Debug must run none of it, and say so.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, DapRecorder, stopAllSessions, waitFor, workspaceDir } from '../suite/helpers';
import type { RunResult } from '../../../src/extension/scenarioCommands';

const EVIL_JS = `// Would run as the user: leaves a marker next to itself.
require('fs').writeFileSync(require('path').join(__dirname, 'evil-ran.marker'), 'evil.js ran');
module.exports = { name: 'evil', channelTypes: [], probe() { return 0; }, remove() {}, pause(d, c) { c(0); }, resume(d, c) { c(0); } };
`;

suite('untrusted workspace', function () {
  this.timeout(60000);
  let ws: string;
  let marker: string;
  let outside: string;

  suiteSetup(async () => {
    await api();
    ws = workspaceDir();
    marker = path.join(ws, 'evil-ran.marker');
    fs.writeFileSync(path.join(ws, 'evil.js'), EVIL_JS);
    fs.writeFileSync(path.join(ws, 'evil.visor'), 'chipset init\ndriver load ./evil.js\nbus create 2 name=io\ndevice create 2:0 type=vhba\nwait 10ms\n');
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-victim-'));
    fs.writeFileSync(path.join(outside, 'victim.txt'), 'the victim file\n');
    fs.rmSync(path.join(ws, 'disk.img'), { force: true });
    fs.symlinkSync(path.join(outside, 'victim.txt'), path.join(ws, 'disk.img'));
    fs.writeFileSync(
      path.join(ws, 'disk.visor'),
      'chipset init\nbus create 2 name=io\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=disk.img size=4k\nwait 50ms\ndisk 2:0 write lun=0 lba=0 "overwritten"\nwait 50ms\n',
    );
  });
  suiteTeardown(() => fs.rmSync(outside, { recursive: true, force: true }));
  teardown(() => stopAllSessions());

  test('the folder is open in restricted mode', () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
  });

  test("Run does not run the scenario's driver module and shows the refusal", async () => {
    const result = await vscode.commands.executeCommand<RunResult>('visorbus.runScenario', vscode.Uri.file(path.join(ws, 'evil.visor')));
    assert.strictEqual(result.untrusted, true);
    assert.strictEqual(fs.existsSync(marker), false, 'evil.js did not run');
    assert.match(
      result.stdout,
      /evil\.visor:2:1: error: user driver modules are turned off for this run \(an untrusted workspace, or --no-user-drivers\); '\.\/evil\.js' was not loaded/,
    );
    assert.strictEqual(result.exitCode, 1, 'the refused line makes the run fail');
    assert.match(result.stdout, /vbus2:dev0 +sparvhba +visorhba/, 'built-in drivers still work');
  });

  test('Run does not follow a symbolic link out of the workspace', async () => {
    const result = await vscode.commands.executeCommand<RunResult>('visorbus.runScenario', vscode.Uri.file(path.join(ws, 'disk.visor')));
    assert.match(
      result.stdout,
      /disk\.visor:4:1: error: disk attach: disk image disk\.img is a symbolic link \(or goes through one\) to .*victim\.txt, outside/,
    );
    assert.strictEqual(fs.readFileSync(path.join(outside, 'victim.txt'), 'utf8'), 'the victim file\n', 'the file outside is untouched');
  });

  test('Debug does not run it: VS Code asks for trust first, and our adapter would refuse the module anyway', async () => {
    const rec = new DapRecorder();
    try {
      // In restricted mode the workbench asks "Do you trust the authors…?" before any debugging (a
      // dialog the test host refuses); the session never starts, and nothing of the workspace runs.
      const started = vscode.commands.executeCommand<boolean>('visorbus.debugScenario', vscode.Uri.file(path.join(ws, 'evil.visor')));
      const outcome = await Promise.race([
        started.then(
          (ok) => (ok ? 'started' : 'refused'),
          () => 'refused',
        ),
        new Promise((r) => setTimeout(() => r('no session'), 8000)),
      ]);
      if (outcome === 'started') {
        await rec.event('output', (b) => /evil\.visor:2:1: error: user driver modules are turned off/.test(String(b.output)));
        await waitFor('the session to end', vscode.debug.onDidTerminateDebugSession, () => !vscode.debug.activeDebugSession || undefined);
      } else assert.strictEqual(vscode.debug.activeDebugSession, undefined, `no debug session (${outcome})`);
      assert.strictEqual(fs.existsSync(marker), false, 'evil.js did not run');
    } finally {
      rec.dispose();
    }
  });

  test('the debug configuration of an untrusted workspace loads no user module and keeps files inside', async () => {
    const a = await api();
    const { config, removed } = a.config.restrictForTrust(
      { type: 'visorbus', request: 'launch', name: 'x', scenario: 'evil.visor', drivers: ['evil.js'], allowOutsideFiles: true },
      vscode.workspace.isTrusted,
    );
    assert.deepStrictEqual(removed, ['evil.js']);
    assert.strictEqual(config.allowUserDrivers, false);
    assert.strictEqual(config.allowOutsideFiles, false);
  });
});
