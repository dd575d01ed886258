/** "Visorbus: New Scenario", "Run Scenario" (headless, see scenarioRun.ts) and "Debug Scenario". */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { LANGUAGE_ID, scenarioLaunchConfig } from './debug/configuration';
import { RunResult, RunSpec, RunStart, formatDuration, prepareTraceFolder, spawnRun, traceFilePath, runArguments, verdict } from './scenarioRun';

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

export type { FailedExpect, RunResult, RunStart } from './scenarioRun';
export { RUN_TAIL_CHARS, parseFailedExpects, runArguments } from './scenarioRun';

async function pickScenario(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active?.languageId === LANGUAGE_ID) return active.uri;
  const files = await vscode.workspace.findFiles('**/*.visor', '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage('Visorbus: no .visor scenario in the workspace. Create one with "Visorbus: New Scenario".');
    return undefined;
  }
  if (files.length === 1) return files[0];
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { placeHolder: 'Scenario to run' },
  );
  return pick?.uri;
}

/** The file the emulator should read: saved first; an untitled scenario goes to a temp file. */
async function scenarioFile(uri: vscode.Uri): Promise<string> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
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
  private readonly started = new vscode.EventEmitter<RunStart>();
  /** A run's emulator process started. */
  readonly onDidStartRun = this.started.event;
  private readonly running = new Set<vscode.CancellationTokenSource>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.OutputChannel,
  ) {}

  dispose(): void {
    this.runProblems.dispose();
    this.started.dispose();
  }

  get emulatorPath(): string {
    return this.context.asAbsolutePath(path.join('dist', 'emulator.js'));
  }

  /** Run a scenario headless: a summary in the "Visorbus" output channel, the whole trace in a file. */
  async run(uri?: vscode.Uri): Promise<RunResult | undefined> {
    uri ??= await pickScenario();
    if (!uri) return undefined;
    const file = await scenarioFile(uri);
    const name = path.basename(uri.path);
    const spec = this.runSpec(file);
    this.output.show(true);
    if (spec.untrusted)
      this.output.appendLine('[trust] this workspace is not trusted: the run loads no user driver modules and uses no files outside the workspace');
    if (!(await prepareTraceFolder(spec.traceFile, this.output))) return undefined;
    this.output.appendLine(`$ node ${path.relative(this.context.extensionPath, this.emulatorPath)} ${spec.args.join(' ')}`);
    // Cancelled from the notification or by cancelRuns().
    const cancel = new vscode.CancellationTokenSource();
    this.running.add(cancel);
    try {
      const result = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Visorbus: running ${name}`,
          cancellable: true,
        },
        (progress, token) => {
          const link = token.onCancellationRequested(() => cancel.cancel());
          let shown = 0;
          return spawnRun(
            spec,
            {
              line: (l) => this.output.appendLine(l),
              progress: (pct, line, lines) => {
                progress.report({ increment: Math.max(0, pct - shown), message: `${pct}% · line ${line} of ${lines}` });
                shown = Math.max(shown, pct);
              },
              started: (pid) => this.started.fire({ pid, file, traceFile: spec.traceFile }),
            },
            cancel.token,
          ).finally(() => link.dispose());
        },
      );
      this.report(uri, name, result);
      return result;
    } finally {
      this.running.delete(cancel);
      cancel.dispose();
    }
  }

  /** Cancel every headless run in progress (as the notification's Cancel button does). */
  cancelRuns(): void {
    for (const c of this.running) c.cancel();
  }

  /** The emulator's arguments for `file`: trust, settings and the trace file. */
  private runSpec(file: string): RunSpec {
    const trusted = vscode.workspace.isTrusted;
    const settings = vscode.workspace.getConfiguration('visorbus');
    const storage = (this.context.storageUri ?? this.context.globalStorageUri).fsPath;
    // Untrusted: the trace goes to the extension's storage, never where the workspace says.
    const traceFile = traceFilePath(trusted ? settings.get<string>('run.traceFile') : undefined, file, storage);
    const args = runArguments(
      file,
      trusted,
      (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      {
        allowOutsideFiles: settings.get<boolean>('allowOutsideFiles', false),
        driverTimeoutMs: settings.get<number>('driverTimeoutMs'),
      },
      traceFile,
    );
    return { emulator: this.emulatorPath, file, args, traceFile, untrusted: !trusted };
  }

  /** The end of a run: the trace link and verdict in the output, Problems, a message. */
  private report(uri: vscode.Uri, name: string, result: RunResult): void {
    if (result.untrusted && /user driver modules are turned off/.test(result.stdout)) {
      void vscode.window
        .showWarningMessage(
          `Visorbus: this workspace is not trusted, so ${name} ran without its own driver modules (\`driver load ./…\` lines were refused). Trust the workspace to run them.`,
          'Manage Workspace Trust',
        )
        .then((c) => {
          if (c) void vscode.commands.executeCommand('workbench.trust.manage');
        });
    }
    const said = verdict(result);
    if (!result.cancelled) this.output.appendLine(`event trace: ${vscode.Uri.file(result.traceFile).toString()}`);
    this.output.appendLine(`${name}: ${said} in ${formatDuration(result.ms)}`);
    this.output.appendLine('');
    this.runProblems.set(
      uri,
      result.failedExpects.map((f) => {
        const line = Math.max(0, f.line - 1);
        const d = new vscode.Diagnostic(
          new vscode.Range(line, Math.max(0, f.column - 1), line, Number.MAX_SAFE_INTEGER),
          `expect failed: ${f.message}`,
          vscode.DiagnosticSeverity.Error,
        );
        d.source = 'visorbus run';
        return d;
      }),
    );
    if (result.passed) {
      vscode.window.setStatusBarMessage(`$(pass) Visorbus: ${name} passed`, 5000);
    } else if (result.cancelled) {
      vscode.window.setStatusBarMessage(`Visorbus: ${name} cancelled`, 5000);
    } else {
      void vscode.window.showErrorMessage(`Visorbus: ${name} ${said}. See the Visorbus output.`, 'Show Output', 'Open Trace').then((c) => {
        if (c === 'Show Output') this.output.show();
        else if (c === 'Open Trace') void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.traceFile));
      });
    }
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
      prompt: 'Scenario file (relative to the workspace folder)',
      value: 'scenario.visor',
      validateInput: (v) => (/\.visor$/.test(v.trim()) ? undefined : 'The name must end with .visor'),
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
