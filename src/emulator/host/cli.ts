/**
 * `visorbus-emu`: run, test and inspect scenarios, or serve the debugger.
 *   visorbus-emu run FILE [--json] [--hz N] [--no-autoload] [--fix-kernel-bugs all|NAME,...]
 *   visorbus-emu test FILE... [--fix-kernel-bugs all|NAME,...]
 *   visorbus-emu check FILE           (parse only: diagnostics)
 *   visorbus-emu channel FILE BUS:DEV|controlvm [--out PATH]
 *   visorbus-emu dap [--port N]
 */
import * as fs from 'node:fs';
import { ScenarioFileError, openRun, readScenarioFile } from './scenariofile';
import { formatEvent, formatExpects, formatTree, jsonReport } from './report';
import { parseScenario, formatDiagnostic } from '../scenario/parser';
import { ScenarioRun } from '../scenario/runner';
import { EmulatorError } from '../emulator';
import { isMainThread, workerData } from 'node:worker_threads';
import { runDap } from '../debug/dapmain';
import { MODEL_WORKER_ROLE } from '../debug/modelhost';
import { workerMain } from '../debug/worker/main';
import { FixKernelBugs, KERNEL_BUG_NAMES, kernelBugFixes } from '../kernel/kernelbugs';

const USAGE = `usage:
  visorbus-emu run FILE [--json] [--hz N] [--no-autoload]   run a scenario: event trace and final bus/device tree (exit 1 on errors or failed expects)
  visorbus-emu test FILE...                                 run the expect lines; exit 1 when one fails
    run and test: --fix-kernel-bugs all|NAME,...            correct kernel defects (${KERNEL_BUG_NAMES.join(', ')}); default: the kernel's behaviour
  visorbus-emu check FILE...                                report scenario errors without running
  visorbus-emu channel FILE BUS:DEV|controlvm [--out PATH]  raw bytes of a channel after the scenario
  visorbus-emu dap [--port N]                               Debug Adapter Protocol server (stdio, or TCP on 127.0.0.1)`;

class UsageError extends Error {}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function flag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new UsageError(`${name} must be a positive integer, not '${v}'`);
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

function runFile(file: string, args: string[], keepEvents: boolean, start?: (run: ScenarioRun) => void, fixKernelBugs = fixOption(args)): ScenarioRun {
  const hz = positiveInt('--hz', option(args, '--hz'));
  const autoload = !flag(args, '--no-autoload');
  const run = openRun(file, { hz, autoload, keepEvents, fixKernelBugs });
  start?.(run);
  run.runToEnd();
  run.emu.shutdown();
  return run;
}

function cmdRun(args: string[]): number {
  const json = flag(args, '--json');
  const file = args.shift();
  if (!file) throw new UsageError('run needs a scenario FILE');
  // The text trace is printed while the run goes: a long run keeps no events in memory, and a
  // run that is killed has printed everything up to the kill (every acknowledged disk write too).
  const stream = (r: ScenarioRun) => {
    const hz = r.emu.engine.clock.hz;
    const out = process.stdout;
    // A reader that goes away (`| head`) just ends the output.
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    });
    out.write(`# ${file}: event trace (HZ=${hz})\n`);
    r.emu.engine.log.onEvent((ev) => {
      if (!out.destroyed) out.write(formatEvent(ev, hz) + '\n');
    });
  };
  const run = runFile(file, args, json, json ? undefined : stream);
  if (args.length) throw new UsageError(`unexpected argument '${args[0]}'`);
  if (json) {
    process.stdout.write(JSON.stringify(jsonReport(run), null, 2) + '\n');
  } else {
    const hz = run.emu.engine.clock.hz;
    const out: string[] = ['', `# ${file}: ${run.emu.engine.log.count} events, virtual time ${(run.emu.engine.jiffies / hz).toFixed(3)} s (HZ=${hz})`];
    out.push('', '# bus/device tree', formatTree(run));
    const ex = formatExpects(run);
    if (ex.length) out.push('', '# expect', ...ex);
    for (const e of run.errors) out.push(`${e.file}:${e.line}:${e.column}: error: ${e.message}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return run.errors.length || run.expects.some((r) => !r.pass) ? 1 : 0;
}

function cmdTest(args: string[]): number {
  const fixKernelBugs = fixOption(args);
  if (!args.length) throw new UsageError('test needs at least one scenario FILE');
  let failed = 0;
  let total = 0;
  for (const file of args) {
    let run: ScenarioRun;
    try {
      run = runFile(file, [], false, undefined, fixKernelBugs);
    } catch (e) {
      if (e instanceof ScenarioFileError) {
        reportFileError(e);
        failed++;
        continue;
      }
      throw e;
    }
    for (const line of formatExpects(run)) process.stdout.write(line + '\n');
    for (const e of run.errors) process.stdout.write(`${e.file}:${e.line}:${e.column}: error: ${e.message}\n`);
    const bad = run.expects.filter((r) => !r.pass).length + run.errors.length;
    total += run.expects.length;
    failed += bad;
  }
  process.stdout.write(`${total - Math.min(total, failed)} of ${total} expectations held${failed ? `; ${failed} failure(s)` : ''}\n`);
  return failed ? 1 : 0;
}

function cmdCheck(args: string[]): number {
  if (!args.length) throw new UsageError('check needs a scenario FILE');
  let errors = 0;
  for (const file of args) {
    const sc = parseScenario(readScenarioFile(file), file);
    for (const d of sc.diagnostics) process.stdout.write(formatDiagnostic(d) + '\n');
    errors += sc.diagnostics.filter((d) => d.severity === 'error').length;
  }
  return errors ? 1 : 0;
}

function cmdChannel(args: string[]): number {
  const out = option(args, '--out');
  const [file, target, ...rest] = args;
  if (!file || !target) throw new UsageError('channel needs a scenario FILE and BUS:DEV (or controlvm)');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const run = runFile(file, [], false);
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
  if (out) {
    fs.writeFileSync(out, bytes);
    process.stderr.write(`wrote ${bytes.length} bytes of ${target} (guest-physical 0x${addr.toString(16)}) to ${out}\n`);
  } else process.stdout.write(bytes);
  return 0;
}

function reportFileError(e: ScenarioFileError): void {
  process.stderr.write(`visorbus-emu: ${e.message}\n`);
  for (const d of e.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const cmd = args.shift();
  try {
    switch (cmd) {
      case 'run':
        return cmdRun(args);
      case 'test':
        return cmdTest(args);
      case 'check':
        return cmdCheck(args);
      case 'channel':
        return cmdChannel(args);
      case 'dap': {
        const port = positiveInt('--port', option(args, '--port'));
        if (args.length) throw new UsageError(`unexpected argument '${args[0]}'`);
        await runDap({ port });
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
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
    process.stderr.write(`visorbus-emu: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 70;
  }
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === MODEL_WORKER_ROLE) {
  // The debug adapter's model thread: the same bundle, started as a worker.
  workerMain();
} else if (require.main === module) {
  process.setSourceMapsEnabled(true);
  main(process.argv.slice(2)).then(
    (code) => {
      if (process.argv[2] !== 'dap') process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`visorbus-emu: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
