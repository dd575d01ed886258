/** "Visorbus: New Scenario", "Run Scenario" (headless, `node dist/emulator.js run FILE`) and "Debug Scenario". */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { LANGUAGE_ID, scenarioLaunchConfig } from './debug/configuration';

export const SCENARIO_TEMPLATE = `# A visorbus scenario: one command a line, '#' starts a comment.
# F5 debugs it step by step; "Visorbus: Run Scenario" runs it headless and checks the expect lines.
chipset init

# bus 1: the console partition (keyboard, mouse)
bus create 1 name=console
device create 1:1 type=keyboard
device create 1:2 type=mouse

# bus 2: the IO partition (disk HBA, NIC)
bus create 2 name=io
device create 2:0 type=vhba bytes=0x10000
device create 2:1 type=vnic
wait 10ms                       # channel_interrupt polls run

expect /sys/bus/visorbus/devices/vbus2:dev0/driver == visorhba
device pause 2:0
device resume 2:0
wait 10ms
`;

export interface FailedExpect { file: string; line: number; column: number; message: string }

export interface RunResult {
  /** stdout and stderr are the last RUN_TAIL_CHARS of each (the whole output is in the Visorbus output channel). */
  file: string; exitCode: number | null; signal: string | null; stdout: string; stderr: string; ms: number;
  /** The `expect` lines that did not hold (the CLI prints them as `FILE:LINE:COL: FAILED: …`). */
  failedExpects: FailedExpect[];
  passed: boolean;
  /** The workspace was not trusted: the run loaded no user driver modules (`--no-user-drivers`). */
  untrusted: boolean;
}

/** How much of a run's stdout / stderr a RunResult keeps: a long run's output is not held in memory. */
export const RUN_TAIL_CHARS = 256 * 1024;

/** The CLI arguments of a headless run: workspace trust and the settings decide what the scenario may do. */
export function runArguments(file: string, trusted: boolean, folders: readonly string[], settings: { allowOutsideFiles?: boolean; driverTimeoutMs?: number }): string[] {
  const args = ['run', file];
  // Untrusted: no user code, and host files only inside the workspace whatever the settings say.
  if (!trusted) args.push('--no-user-drivers');
  else if (settings.allowOutsideFiles) args.push('--allow-outside-files');
  for (const f of folders) args.push('--workspace', f);
  if (typeof settings.driverTimeoutMs === 'number' && Number.isInteger(settings.driverTimeoutMs) && settings.driverTimeoutMs >= 0) args.push('--driver-timeout', String(settings.driverTimeoutMs));
  return args;
}

/** Collects a child's output a line at a time, keeping only a bounded tail. */
class OutputTail {
  text = '';
  private partial = '';
  constructor(private readonly onLine?: (line: string) => void) {}
  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-RUN_TAIL_CHARS);
    if (!this.onLine) return;
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!.slice(-RUN_TAIL_CHARS);
    for (const l of lines) this.onLine(l);
  }
  end(): void {
    if (this.partial) this.onLine?.(this.partial);
    this.partial = '';
  }
}

/** `FILE:LINE:COL: FAILED: what` lines of `visorbus-emu run`, with the indented detail lines after them. */
export function parseFailedExpects(output: string): FailedExpect[] {
  const out: FailedExpect[] = [];
  const lines = output.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^(.*):(\d+):(\d+): FAILED: (.*)$/.exec(lines[i]);
    if (!m) continue;
    const detail: string[] = [];
    while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1])) detail.push(lines[++i].trim());
    out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]), message: [m[4], ...detail].join('\n') });
  }
  return out;
}

async function pickScenario(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active?.languageId === LANGUAGE_ID) return active.uri;
  const files = await vscode.workspace.findFiles('**/*.visor', '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage('Visorbus: no .visor scenario in the workspace. Create one with "Visorbus: New Scenario".');
    return undefined;
  }
  if (files.length === 1) return files[0];
  const pick = await vscode.window.showQuickPick(files.map(f => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { placeHolder: 'Scenario to run' });
  return pick?.uri;
}

/** The file the emulator should read: saved first; an untitled scenario goes to a temp file. */
async function scenarioFile(uri: vscode.Uri): Promise<string> {
  const doc = vscode.workspace.textDocuments.find(d => d.uri.toString() === uri.toString());
  if (doc?.isUntitled) {
    const file = path.join(os.tmpdir(), `visorbus-untitled-${process.pid}.visor`);
    await fs.promises.writeFile(file, doc.getText());
    return file;
  }
  if (doc?.isDirty) await doc.save();
  return uri.fsPath;
}

export class ScenarioCommands implements vscode.Disposable {
  /** Failed `expect` lines of the last run of each scenario, in the Problems panel. */
  readonly runProblems = vscode.languages.createDiagnosticCollection('visorbus-run');

  constructor(private readonly context: vscode.ExtensionContext, private readonly output: vscode.OutputChannel) {}

  dispose(): void {
    this.runProblems.dispose();
  }

  get emulatorPath(): string {
    return this.context.asAbsolutePath(path.join('dist', 'emulator.js'));
  }

  /** Run a scenario headless; its output goes to the "Visorbus" output channel. */
  async run(uri?: vscode.Uri): Promise<RunResult | undefined> {
    uri ??= await pickScenario();
    if (!uri) return undefined;
    const file = await scenarioFile(uri);
    const name = path.basename(uri.path);
    const trusted = vscode.workspace.isTrusted;
    const settings = vscode.workspace.getConfiguration('visorbus');
    const args = runArguments(file, trusted, (vscode.workspace.workspaceFolders ?? []).map(f => f.uri.fsPath), {
      allowOutsideFiles: settings.get<boolean>('allowOutsideFiles', false), driverTimeoutMs: settings.get<number>('driverTimeoutMs'),
    });
    this.output.show(true);
    if (!trusted) this.output.appendLine('[trust] this workspace is not trusted: the run loads no user driver modules and uses no files outside the workspace');
    this.output.appendLine(`$ node ${path.relative(this.context.extensionPath, this.emulatorPath)} ${args.join(' ')}`);
    const started = Date.now();
    const result = await vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification, title: `Visorbus: running ${name}`, cancellable: true,
    }, (_progress, token) => new Promise<RunResult>(resolve => {
      const child = spawn(process.execPath, [this.emulatorPath, ...args], {
        cwd: path.dirname(file), env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The output channel gets everything; the result keeps a tail and the failed expects.
      const failedExpects: FailedExpect[] = [];
      let pending: string[] = [];
      const expects = (line: string) => {
        if (pending.length && /^\s+\S/.test(line)) {
          pending.push(line);
          return;
        }
        if (pending.length) failedExpects.push(...parseFailedExpects(pending.join('\n')));
        pending = / FAILED: /.test(line) ? [line] : [];
      };
      const stdout = new OutputTail(expects);
      const stderr = new OutputTail();
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        stdout.add(c);
        this.output.append(c);
      });
      child.stderr.on('data', (c: string) => {
        stderr.add(c);
        this.output.append(c);
      });
      const cancel = token.onCancellationRequested(() => child.kill());
      child.on('error', e => {
        stderr.add(e.message);
        this.output.appendLine(`cannot start the emulator: ${e.message}`);
      });
      child.on('close', (exitCode, signal) => {
        cancel.dispose();
        stdout.end();
        expects('');
        resolve({ file, exitCode, signal, stdout: stdout.text, stderr: stderr.text, ms: Date.now() - started, failedExpects, passed: exitCode === 0 && failedExpects.length === 0, untrusted: !trusted });
      });
    }));
    if (!trusted && /user driver modules are turned off/.test(result.stdout)) {
      void vscode.window.showWarningMessage(
        `Visorbus: this workspace is not trusted, so ${name} ran without its own driver modules (\`driver load ./…\` lines were refused). Trust the workspace to run them.`,
        'Manage Workspace Trust',
      ).then(c => {
        if (c) void vscode.commands.executeCommand('workbench.trust.manage');
      });
    }
    const failed = result.failedExpects.length;
    const verdict = result.signal ? `stopped (${result.signal})`
      : result.exitCode !== 0 ? `failed (exit code ${result.exitCode})`
        : failed ? `failed (${failed} expect line${failed === 1 ? '' : 's'} did not hold)` : 'passed';
    this.output.appendLine(`${name}: ${verdict} in ${result.ms} ms`);
    this.output.appendLine('');
    this.runProblems.set(uri, result.failedExpects.map(f => {
      const line = Math.max(0, f.line - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, Math.max(0, f.column - 1), line, Number.MAX_SAFE_INTEGER),
        `expect failed: ${f.message}`, vscode.DiagnosticSeverity.Error);
      d.source = 'visorbus run';
      return d;
    }));
    if (result.passed) {
      vscode.window.setStatusBarMessage(`$(pass) Visorbus: ${name} passed`, 5000);
    } else {
      void vscode.window.showErrorMessage(`Visorbus: ${name} ${verdict}. See the Visorbus output.`, 'Show Output').then(c => {
        if (c) this.output.show();
      });
    }
    return result;
  }

  async debug(uri?: vscode.Uri): Promise<boolean> {
    uri ??= await pickScenario();
    if (!uri) return false;
    const file = await scenarioFile(uri);
    return vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri), scenarioLaunchConfig(file));
  }

  /** Create a scenario from the template: untitled, or as a file in the workspace. */
  async create(where?: 'untitled' | 'workspace', relPath?: string): Promise<vscode.Uri | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!where) {
      const items: (vscode.QuickPickItem & { where: 'untitled' | 'workspace' })[] = [
        { label: '$(new-file) Untitled scenario', description: 'an unsaved .visor editor', where: 'untitled' },
      ];
      if (folder) items.push({ label: '$(file-add) Scenario file in the workspace', description: folder.name, where: 'workspace' });
      where = (await vscode.window.showQuickPick(items, { placeHolder: 'Where should the new scenario go?' }))?.where;
      if (!where) return undefined;
    }
    if (where === 'untitled' || !folder) {
      const doc = await vscode.workspace.openTextDocument({ language: LANGUAGE_ID, content: SCENARIO_TEMPLATE });
      await vscode.window.showTextDocument(doc);
      return doc.uri;
    }
    relPath ??= await vscode.window.showInputBox({
      prompt: 'Scenario file (relative to the workspace folder)', value: 'scenario.visor',
      validateInput: v => (/\.visor$/.test(v.trim()) ? undefined : 'The name must end with .visor'),
    });
    if (!relPath) return undefined;
    const uri = vscode.Uri.joinPath(folder.uri, relPath.trim());
    try {
      await vscode.workspace.fs.stat(uri);
      void vscode.window.showErrorMessage(`Visorbus: ${relPath} already exists.`);
      await vscode.window.showTextDocument(uri);
      return undefined;
    } catch {
      // does not exist yet: good
    }
    await vscode.workspace.fs.writeFile(uri, Buffer.from(SCENARIO_TEMPLATE));
    await vscode.window.showTextDocument(uri);
    return uri;
  }
}
