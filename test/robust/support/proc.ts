/**
 * Child processes of the robustness tests: the CLI run to completion while its peak resident
 * memory is sampled (VmHWM from /proc, so the figure is the process's own high-water mark),
 * and the peak of a process that stays alive.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');
export const CLI = path.join(ROOT, 'dist', 'emulator.js');

/** Peak resident set of a live process in MiB (VmHWM), or undefined when it is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** Highest VmHWM seen while it ran, in MiB. */
  peakMiB: number;
  ms: number;
}

export interface CliOptions {
  cwd?: string;
  /** Do not read stdout for this long at first (a slow reader); default 0. */
  readDelayMs?: number;
  /** Keep only the last this many characters of stdout. */
  keepOut?: number;
  /** Kill it after this long (a guard against a hang, not a measurement). */
  killAfterMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** `node dist/emulator.js ARGS`, sampling its peak memory every 20 ms until it exits. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    let out = '';
    let err = '';
    let peak = 0;
    const keep = o.keepOut ?? 4 * 1024 * 1024;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err += d));
    const read = () => child.stdout.on('data', (d: string) => (out = (out + d).slice(-keep))).resume();
    if (o.readDelayMs) {
      child.stdout.pause();
      setTimeout(read, o.readDelayMs);
    } else read();
    const sample = setInterval(() => {
      const p = peakRssMiB(child.pid!);
      if (p !== undefined) peak = Math.max(peak, p);
    }, 20);
    const guard = o.killAfterMs ? setTimeout(() => child.kill('SIGKILL'), o.killAfterMs) : undefined;
    child.on('close', (code, signal) => {
      clearInterval(sample);
      if (guard) clearTimeout(guard);
      resolve({ code, signal, out, err, peakMiB: peak, ms: Date.now() - t0 });
    });
  });
}
