// Run Scenario on a long scenario (about six million events): the emulator's memory stays
// bounded (VmHWM of its process, sampled from /proc), the output channel gets the summary and
// the trace goes to a file; a run can be cancelled. The Run time and the CLI's time writing
// the trace to a file are printed for comparison, never asserted.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { longScenario, peakRssMiB } from '../../cli/longscenario';
import { api, waitFor, workspaceDir } from './helpers';
import type { RunResult, RunStart } from '../../../src/extension/scenarioCommands';

const RSS_LIMIT_MIB = 300;

/** Run the command on `file`, sampling its emulator's peak memory every 20 ms. */
async function runMeasured(file: string, during?: (start: RunStart) => void): Promise<{ result: RunResult; peakMiB: number; pid?: number }> {
  const scenarios = (await api()).scenarios;
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  let pid: number | undefined;
  const sub = scenarios.onDidStartRun((s) => {
    pid = s.pid;
    timer = setInterval(() => (peak = Math.max(peak, peakRssMiB(s.pid) ?? peak)), 20);
    during?.(s);
  });
  try {
    const result = await vscode.commands.executeCommand<RunResult>('visorbus.runScenario', vscode.Uri.file(file));
    return { result, peakMiB: peak, pid };
  } finally {
    sub.dispose();
    clearInterval(timer);
  }
}

/** Wall time of `visorbus-emu run FILE > OUT` (the CLI writing its trace to a file). */
function cliToFileMs(emulator: string, file: string, out: string): Promise<number> {
  const fd = fs.openSync(out, 'w');
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [emulator, 'run', file], {
      cwd: path.dirname(file),
      stdio: ['ignore', fd, 'ignore'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      fs.closeSync(fd);
      if (code === 0) resolve(Date.now() - t0);
      else reject(new Error(`the CLI exited with ${code}`));
    });
  });
}

/** The text of the Visorbus output channel, once it holds `what`. */
function outputText(what: RegExp): Promise<string> {
  const find = () =>
    vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && /Visorbus/.test(d.uri.toString()) && what.test(d.getText()))?.getText();
  return waitFor(`the Visorbus output to show ${what}`, vscode.workspace.onDidChangeTextDocument, find, 30000);
}

suite('Run Scenario: a long run', function () {
  this.timeout(15 * 60 * 1000);
  let file: string;
  suiteSetup(async () => {
    await api();
    file = path.join(workspaceDir(), 'long-run.visor');
    fs.writeFileSync(file, longScenario());
  });
  suiteTeardown(() => fs.rmSync(file, { force: true }));

  test(`six million events: the emulator stays under ${RSS_LIMIT_MIB} MB, the summary is in the output, the trace in a file`, async () => {
    const { result, peakMiB } = await runMeasured(file);
    assert.ok(result.passed, `passed; stderr: ${result.stderr}\nstdout: ${result.stdout.slice(-3000)}`);
    const events = Number(/: (\d+) events, virtual time/.exec(result.stdout)?.[1]);
    assert.ok(events > 5_500_000, `${events} events`);
    assert.match(result.stdout, /^ {2}vbus1:dev10 +keyboard +visorinput +running/m, 'the final tree');
    assert.match(result.stdout, /28 of 28 scenario lines run/);
    assert.ok(result.stdout.length < 200 * 1024, `a summary, not the trace: ${result.stdout.length} characters`);
    assert.ok(fs.statSync(result.traceFile).size > 400 * 1024 * 1024, 'the whole trace is in the file');
    const text = await outputText(/long-run\.visor: passed in /);
    assert.ok(text.includes(`${file}:28:1: ok: /sys/bus/visorbus/devices/vbus1:dev1/driver == visorinput`), 'the expect line, with a path the output links');
    assert.ok(text.includes(`event trace: ${vscode.Uri.file(result.traceFile).toString()}`), 'a link to the trace');
    assert.ok(peakMiB > 0, 'the memory was sampled');
    const emulator = path.join(vscode.extensions.getExtension('visorbus-studio.visorbus-studio')!.extensionPath, 'dist', 'emulator.js');
    const cliMs = await cliToFileMs(emulator, file, result.traceFile + '.cli');
    fs.rmSync(result.traceFile + '.cli', { force: true });
    console.log(
      `      Run Scenario: ${events} events in ${(result.ms / 1000).toFixed(1)} s, emulator peak RSS ${peakMiB.toFixed(0)} MiB; CLI to a file: ${(cliMs / 1000).toFixed(1)} s`,
    );
    assert.ok(peakMiB < RSS_LIMIT_MIB, `${peakMiB} MiB`);
  });

  test('a run can be cancelled: its emulator is stopped and the run says "cancelled"', async () => {
    const scenarios = (await api()).scenarios;
    const { result, pid } = await runMeasured(file, () => scenarios.cancelRuns());
    assert.ok(pid, 'the emulator started');
    assert.strictEqual(result.cancelled, true);
    assert.strictEqual(result.passed, false);
    assert.strictEqual(peakRssMiB(pid!), undefined, 'the emulator process is gone');
    await outputText(/long-run\.visor: cancelled in /);
  });
});
