/**
 * "Visorbus: Run Scenario": a headless run (`node dist/emulator.js run FILE --trace TRACE
 * --progress`). The full event trace goes to a file; the "Visorbus" output channel gets the
 * CLI's summary (scenario lines and kernel log, bounded; the tree; the expect lines as links)
 * and a link to the trace. A notification shows the progress and can cancel the run.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

export interface FailedExpect {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface RunResult {
  /** stdout and stderr are the last RUN_TAIL_CHARS of each (stdout is the CLI's summary, as in the output channel). */
  file: string;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The `expect` lines that did not hold (the CLI prints them as `FILE:LINE:COL: FAILED: …`). */
  failedExpects: FailedExpect[];
  passed: boolean;
  /** The workspace was not trusted: the run loaded no user driver modules (`--no-user-drivers`). */
  untrusted: boolean;
  /** The user cancelled the run (its emulator was killed). */
  cancelled: boolean;
  /** The file that holds the run's whole event trace. */
  traceFile: string;
}

/** A run's emulator process has started: its pid (the end-to-end tests measure its memory). */
export interface RunStart {
  pid: number;
  file: string;
  traceFile: string;
}

/** How much of a run's stdout / stderr a RunResult keeps: a long run's output is not held in memory. */
export const RUN_TAIL_CHARS = 256 * 1024;

/** `visorbus-emu: progress P% (line L of N)`, which `run --progress` prints on stderr. */
const PROGRESS_LINE = /^visorbus-emu: progress (\d+)% \(line (\d+) of (\d+)\)$/;

/** The CLI arguments of a headless run: workspace trust and the settings decide what the scenario may do. */
export function runArguments(
  file: string,
  trusted: boolean,
  folders: readonly string[],
  settings: { allowOutsideFiles?: boolean; driverTimeoutMs?: number },
  traceFile?: string,
): string[] {
  const args = ['run', file];
  if (traceFile !== undefined) args.push('--trace', traceFile, '--progress');
  // Untrusted: no user code, and host files only inside the workspace whatever the settings say.
  if (!trusted) args.push('--no-user-drivers');
  else if (settings.allowOutsideFiles) args.push('--allow-outside-files');
  for (const f of folders) args.push('--workspace', f);
  if (typeof settings.driverTimeoutMs === 'number' && Number.isInteger(settings.driverTimeoutMs) && settings.driverTimeoutMs >= 0)
    args.push('--driver-timeout', String(settings.driverTimeoutMs));
  return args;
}

/**
 * Where a run of `scenario` writes its trace: the `visorbus.run.traceFile` setting
 * (`${fileBasenameNoExtension}` and `${fileDirname}` replaced; relative to the scenario's
 * folder), or by default `traces/NAME.trace` in the extension's storage for the workspace.
 */
export function traceFilePath(setting: string | undefined, scenario: string, storageDir: string): string {
  const name = path.basename(scenario).replace(/\.visor$/i, '');
  if (!setting?.trim()) return path.join(storageDir, 'traces', `${name}.trace`);
  const p = setting
    .trim()
    .replace(/\$\{fileBasenameNoExtension\}/g, name)
    .replace(/\$\{fileDirname\}/g, path.dirname(scenario));
  return path.resolve(path.dirname(scenario), p);
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

/** A `FILE:LINE:COL: ok|FAILED|error:` line with FILE made absolute, so that the output channel links it. */
export function linkLocation(line: string, cwd: string): string {
  const m = /^(.+?):(\d+):(\d+): (ok|FAILED|error): /.exec(line);
  return m && !path.isAbsolute(m[1]) ? path.resolve(cwd, m[1]) + line.slice(m[1].length) : line;
}

export function formatDuration(ms: number): string {
  return ms < 10000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** What one run needs to start its emulator. */
export interface RunSpec {
  emulator: string;
  file: string;
  args: string[];
  traceFile: string;
  untrusted: boolean;
}

/** Reports of a running emulator, for the output channel and the progress notification. */
export interface RunWatch {
  line(text: string): void;
  progress(pct: number, line: number, lines: number): void;
  started(pid: number): void;
}

/**
 * Spawn the emulator and collect what a RunResult needs: summary lines go to `watch.line`
 * (locations made absolute), progress lines to `watch.progress`; cancelling kills it.
 */
export function spawnRun(spec: RunSpec, watch: RunWatch, token: vscode.CancellationToken): Promise<RunResult> {
  const started = Date.now();
  const cwd = path.dirname(spec.file);
  return new Promise<RunResult>((resolve) => {
    const child = spawn(process.execPath, [spec.emulator, ...spec.args], {
      cwd,
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) watch.started(child.pid);
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
    const stdout = new OutputTail((l) => {
      expects(l);
      watch.line(linkLocation(l, cwd));
    });
    const stderr = new OutputTail();
    const errLines = new OutputTail((l) => {
      const m = PROGRESS_LINE.exec(l);
      if (m) watch.progress(Number(m[1]), Number(m[2]), Number(m[3]));
      else {
        stderr.add(l + '\n');
        watch.line(linkLocation(l, cwd));
      }
    });
    child.stdout.setEncoding('utf8').on('data', (c: string) => stdout.add(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => errLines.add(c));
    let cancelled = false;
    const cancel = token.onCancellationRequested(() => {
      cancelled = true;
      child.kill();
    });
    child.on('error', (e) => {
      stderr.add(e.message);
      watch.line(`cannot start the emulator: ${e.message}`);
    });
    child.on('close', (exitCode, signal) => {
      cancel.dispose();
      stdout.end();
      errLines.end();
      expects('');
      resolve({
        file: spec.file,
        exitCode,
        signal,
        stdout: stdout.text,
        stderr: stderr.text,
        ms: Date.now() - started,
        failedExpects,
        passed: !cancelled && exitCode === 0 && failedExpects.length === 0,
        untrusted: spec.untrusted,
        cancelled,
        traceFile: spec.traceFile,
      });
    });
  });
}

/** "passed", "failed (…)", "cancelled", "stopped (SIGNAL)". */
export function verdict(result: RunResult): string {
  const failed = result.failedExpects.length;
  return result.cancelled
    ? 'cancelled'
    : result.signal
      ? `stopped (${result.signal})`
      : result.exitCode !== 0
        ? `failed (exit code ${result.exitCode})`
        : failed
          ? `failed (${failed} expect line${failed === 1 ? '' : 's'} did not hold)`
          : 'passed';
}

/** Make sure the trace's folder exists; false (and a message) when it cannot be made. */
export async function prepareTraceFolder(traceFile: string, output: vscode.OutputChannel): Promise<boolean> {
  try {
    await fs.promises.mkdir(path.dirname(traceFile), { recursive: true });
    return true;
  } catch (e) {
    output.appendLine(`cannot create the folder of the trace file ${traceFile}: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}
