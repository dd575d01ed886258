/**
 * `visorbus-emu`: run, test and inspect scenarios, or serve the debugger.
 *   visorbus-emu run FILE [--json | --trace TRACEFILE] [--progress] [RUN OPTIONS]
 *   visorbus-emu test FILE... [RUN OPTIONS]
 *   visorbus-emu check FILE           (parse only: diagnostics)
 *   visorbus-emu channel FILE BUS:DEV|controlvm [--out PATH] [RUN OPTIONS]
 *   visorbus-emu dap [--port N]
 * RUN OPTIONS: --hz N, --no-autoload, --no-user-drivers, --allow-outside-files,
 * --workspace DIR, --driver-timeout MS.
 */
import * as fs from 'node:fs';
import { ScenarioFileError, openRun, readScenarioFile } from './scenariofile';
import { formatEvent, formatExpects, formatRunError, formatTree, jsonReport } from './report';
import { parseScenario, formatDiagnostic } from '../scenario/parser';
import { ScenarioRun } from '../scenario/runner';
import { EmulatorError, EmulatorOptions } from '../emulator';
import { isMainThread, workerData } from 'node:worker_threads';
import { runDap } from '../debug/dapmain';
import { MODEL_WORKER_ROLE } from '../debug/modelhost';
import { workerMain } from '../debug/worker/main';
import { FixKernelBugs, KERNEL_BUG_NAMES, kernelBugFixes } from '../kernel/kernelbugs';
import { DEFAULT_DRIVER_TIMEOUT_MS, MAX_HZ } from '../limits';
import { installExitGuard } from '../visorbus/driverguard';
import { SyncOut } from './syncout';
import { DriverWatchdog, RunInterrupted } from './watchdog';
import { RunHeadlines, SUMMARY_EVENT_LINES } from './runsummary';
import { RunProgress, plannedWaitJiffies } from './runprogress';

const USAGE = `usage:
  visorbus-emu run FILE [--json] [RUN OPTIONS]              run a scenario: event trace and final bus/device tree (exit 1 on errors or failed expects)
    --trace TRACEFILE     write the event trace to TRACEFILE; stdout gets a summary: the scenario lines and
                          kernel log (at most ${SUMMARY_EVENT_LINES} lines), the totals, the tree and the expect lines
    --progress            print \`visorbus-emu: progress P% (line L of N)\` lines on stderr while the run goes
  visorbus-emu test FILE... [RUN OPTIONS]                   run the expect lines; exit 1 when one fails
  visorbus-emu check FILE...                                report scenario errors without running
  visorbus-emu channel FILE BUS:DEV|controlvm [--out PATH]  raw bytes of a channel after the scenario
  visorbus-emu dap [--port N]                               Debug Adapter Protocol server (stdio, or TCP on 127.0.0.1 with a token)
RUN OPTIONS (run, test, channel):
  --hz N                  jiffies per second (1…${MAX_HZ}, default 1000)
  --no-autoload           do not load the built-in driver of a new device's type
  --no-user-drivers       refuse \`driver load ./module.js\` (user code): for scenarios you do not trust
  --allow-outside-files   let the scenario name host files (disk images, driver modules) outside its folder
  --workspace DIR         a folder the scenario's host files may also be in (repeatable)
  --driver-timeout MS     stop the run when driver code runs longer than MS of wall time (default ${DEFAULT_DRIVER_TIMEOUT_MS}; 0: never)
  --fix-kernel-bugs all|NAME,...   correct kernel defects (${KERNEL_BUG_NAMES.join(', ')}); default: the kernel's behaviour`;

class UsageError extends Error {}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

/** Every value of a repeatable option. */
function options(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let v = option(args, name); v !== undefined; v = option(args, name)) out.push(v);
  return out;
}

function flag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function intOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not '${v}'`);
  return Number(v);
}

/** --fix-kernel-bugs all|NAME,NAME: which kernel defects the run corrects (none by default). */
function fixOption(args: string[]): FixKernelBugs | undefined {
  const v = option(args, '--fix-kernel-bugs');
  if (v === undefined) return undefined;
  const fix: FixKernelBugs = v === 'all' ? true : v.split(',').filter((x) => x);
  const checked = kernelBugFixes(fix);
  if (typeof checked === 'string') throw new UsageError(`--fix-kernel-bugs: ${checked.replace(/^"fixKernelBugs": /, '')}`);
  return fix;
}

/** No argument may look like an option we do not know. */
function noUnknownOptions(args: string[]): void {
  const bad = args.find((a) => a.startsWith('--'));
  if (bad) throw new UsageError(`unknown option '${bad}'`);
}

/** The run options shared by run, test and channel (removed from args). */
function runOptions(args: string[]): EmulatorOptions {
  const hz = intOption('--hz', option(args, '--hz'), 1, MAX_HZ);
  const autoload = !flag(args, '--no-autoload');
  const allowUserDrivers = !flag(args, '--no-user-drivers');
  const allowOutside = flag(args, '--allow-outside-files');
  const roots = options(args, '--workspace');
  for (const r of roots) if (!fs.existsSync(r) || !fs.statSync(r).isDirectory()) throw new UsageError(`--workspace ${r}: not a folder`);
  const driverTimeoutMs = intOption('--driver-timeout', option(args, '--driver-timeout'), 0, 24 * 3600 * 1000) ?? DEFAULT_DRIVER_TIMEOUT_MS;
  const fixKernelBugs = fixOption(args);
  noUnknownOptions(args);
  installExitGuard();
  watchdog = new DriverWatchdog(driverTimeoutMs);
  return { hz, autoload, allowUserDrivers, files: { roots, allowOutside }, fixKernelBugs };
}

/** The watchdog of this invocation (run, test, channel). */
let watchdog: DriverWatchdog | undefined;

function runFile(file: string, opts: EmulatorOptions, start?: (run: ScenarioRun) => void): ScenarioRun {
  const run = openRun(file, opts);
  start?.(run);
  try {
    const go = () => run.runToEnd();
    if (watchdog) watchdog.run(go);
    else go();
  } finally {
    run.emu.shutdown();
  }
  return run;
}

/** Where `run` writes: the trace (stdout, or the --trace file with a summary on stdout) and --progress. */
interface RunSinks {
  file: string;
  out: SyncOut;
  /** The --trace file's output, or undefined: the trace goes to stdout. */
  trace?: { path: string; fd: number; out: SyncOut };
  progress: boolean;
}

/**
 * The text trace is printed while the run goes: a long run keeps no events in memory, the
 * output waits for a slow reader, and a run that is killed has printed everything up to the
 * kill (every acknowledged disk write too). With --trace, stdout gets the headlines only.
 */
function streamRun(r: ScenarioRun, s: RunSinks): { headlines?: RunHeadlines; progress?: RunProgress } {
  const clock = r.emu.engine.clock;
  const traceOut = s.trace?.out ?? s.out;
  traceOut.write(`# ${s.file}: event trace (HZ=${clock.hz})\n`);
  const headlines = s.trace ? new RunHeadlines(s.out, clock.hz) : undefined;
  if (s.trace) s.out.write(`# ${s.file}: scenario lines and kernel log (HZ=${clock.hz}); every event is in ${s.trace.path}\n`);
  const progress = s.progress ? new RunProgress(new SyncOut(2), r.scenario.steps.length, plannedWaitJiffies(r.scenario, clock)) : undefined;
  r.emu.engine.log.onEvent((ev) => {
    traceOut.write(formatEvent(ev, clock.hz) + '\n');
    headlines?.add(ev);
    progress?.update(r.index, ev.jiffies);
  });
  return { headlines, progress };
}

/** The end of a text run: totals, the bus/device tree, the expect lines and the errors. */
function runReport(run: ScenarioRun, s: RunSinks): string[] {
  const hz = run.emu.engine.clock.hz;
  const lines: string[] = ['', `# ${s.file}: ${run.emu.engine.log.count} events, virtual time ${(run.emu.engine.jiffies / hz).toFixed(3)} s (HZ=${hz})`];
  if (s.trace) lines.push(`# ${run.index} of ${run.scenario.steps.length} scenario lines run; event trace: ${s.trace.path}`);
  lines.push('', '# bus/device tree', formatTree(run));
  const ex = formatExpects(run);
  if (ex.length) lines.push('', '# expect', ...ex);
  for (const e of run.errors) lines.push(formatRunError(e));
  return lines;
}

/** Open the --trace file for writing (created or emptied). */
function openTrace(p: string | undefined): RunSinks['trace'] {
  if (p === undefined) return undefined;
  try {
    const fd = fs.openSync(p, 'w');
    return { path: p, fd, out: new SyncOut(fd) };
  } catch (e) {
    throw new UsageError(`--trace ${p}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function cmdRun(args: string[], out: SyncOut): number {
  const json = flag(args, '--json');
  const tracePath = option(args, '--trace');
  const progress = flag(args, '--progress');
  if (json && tracePath !== undefined) throw new UsageError('--trace and --json do not go together: --json prints every event in its document');
  const emu = runOptions(args);
  const file = args.shift();
  if (!file) throw new UsageError('run needs a scenario FILE');
  if (args.length) throw new UsageError(`unexpected argument '${args[0]}'`);
  const sinks: RunSinks = { file, out, progress, trace: openTrace(tracePath) };
  let live: ReturnType<typeof streamRun> = {};
  try {
    const run = runFile(file, { ...emu, keepEvents: json }, json ? undefined : (r) => (live = streamRun(r, sinks)));
    if (json) out.write(JSON.stringify(jsonReport(run), null, 2) + '\n');
    else {
      if (sinks.trace) live.headlines?.finish(sinks.trace.path);
      out.write(runReport(run, sinks).join('\n') + '\n');
    }
    live.progress?.done();
    return run.errors.length || run.expects.some((r) => !r.pass) ? 1 : 0;
  } finally {
    if (sinks.trace) {
      sinks.trace.out.flush();
      fs.closeSync(sinks.trace.fd);
    }
  }
}

function cmdTest(args: string[], out: SyncOut): number {
  const emu = runOptions(args);
  if (!args.length) throw new UsageError('test needs at least one scenario FILE');
  let failed = 0;
  let total = 0;
  for (const file of args) {
    let run: ScenarioRun;
    try {
      run = runFile(file, emu);
    } catch (e) {
      if (e instanceof ScenarioFileError) {
        out.flush();
        reportFileError(e);
        failed++;
        continue;
      }
      throw e;
    }
    for (const line of formatExpects(run)) out.write(line + '\n');
    for (const e of run.errors) out.write(formatRunError(e) + '\n');
    const bad = run.expects.filter((r) => !r.pass).length + run.errors.length;
    total += run.expects.length;
    failed += bad;
  }
  out.write(`${total - Math.min(total, failed)} of ${total} expectations held${failed ? `; ${failed} failure(s)` : ''}\n`);
  return failed ? 1 : 0;
}

function cmdCheck(args: string[], out: SyncOut): number {
  if (!args.length) throw new UsageError('check needs a scenario FILE');
  noUnknownOptions(args);
  let errors = 0;
  for (const file of args) {
    const sc = parseScenario(readScenarioFile(file), file);
    for (const d of sc.diagnostics) out.write(formatDiagnostic(d) + '\n');
    errors += sc.diagnostics.filter((d) => d.severity === 'error').length;
  }
  return errors ? 1 : 0;
}

function cmdChannel(args: string[], out: SyncOut): number {
  const outFile = option(args, '--out');
  const emu = runOptions(args);
  const [file, target, ...rest] = args;
  if (!file || !target) throw new UsageError('channel needs a scenario FILE and BUS:DEV (or controlvm)');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const run = runFile(file, emu);
  for (const e of run.errors) process.stderr.write(formatRunError(e) + '\n');
  let addr: number;
  let size: number;
  if (target === 'controlvm') {
    addr = run.emu.chipset.controlvm.physaddr;
    size = run.emu.chipset.controlvm.nbytes;
  } else {
    const m = /^(\d+|0x[0-9a-f]+):(\d+|0x[0-9a-f]+)$/i.exec(target);
    if (!m) throw new UsageError(`malformed device name '${target}' (expected BUS:DEV, e.g. 2:0, or controlvm)`);
    const bd = run.emu.backendDevices.get(`${Number(m[1])}:${Number(m[2])}`);
    if (!bd) throw new UsageError(`device ${target} has no channel at the end of ${file}`);
    addr = bd.physaddr;
    size = bd.nbytes;
  }
  const bytes = run.emu.memory.read(addr, size);
  if (outFile) {
    fs.writeFileSync(outFile, bytes);
    process.stderr.write(`wrote ${bytes.length} bytes of ${target} (guest-physical 0x${addr.toString(16)}) to ${outFile}\n`);
  } else out.writeBytes(bytes);
  return 0;
}

function reportFileError(e: ScenarioFileError): void {
  process.stderr.write(`visorbus-emu: ${e.message}\n`);
  for (const d of e.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const cmd = args.shift();
  const out = new SyncOut(1);
  try {
    switch (cmd) {
      case 'run':
      case 'test':
      case 'channel':
        return cmd === 'run' ? cmdRun(args, out) : cmd === 'test' ? cmdTest(args, out) : cmdChannel(args, out);
      case 'check':
        return cmdCheck(args, out);
      case 'dap': {
        const port = intOption('--port', option(args, '--port'), 1, 65535);
        if (args.length) throw new UsageError(`unexpected argument '${args[0]}'`);
        await runDap({ port });
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    out.flush();
    if (e instanceof UsageError) {
      process.stderr.write(`visorbus-emu: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof ScenarioFileError) {
      reportFileError(e);
      return 1;
    }
    if (e instanceof EmulatorError) {
      process.stderr.write(`visorbus-emu: ${e.message}\n`);
      return 1;
    }
    if (e instanceof RunInterrupted) {
      process.stderr.write(`visorbus-emu: ${e.message}\n`);
      return e.stall ? 1 : 130;
    }
    process.stderr.write(`visorbus-emu: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 70;
  } finally {
    out.flush();
    await watchdog?.stop();
    watchdog = undefined;
  }
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === MODEL_WORKER_ROLE) {
  // The debug adapter's model thread: the same bundle, started as a worker.
  workerMain();
} else if (require.main === module) {
  process.setSourceMapsEnabled(true);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`visorbus-emu: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
