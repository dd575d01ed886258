/**
 * A long run (about six million events) written to a slow pipe, as in
 * `visorbus-emu run FILE | (sleep 5; cat >/dev/null)`: the emulator waits for the reader
 * instead of holding the trace, so its peak resident memory (VmHWM, sampled from /proc)
 * stays far below what the trace would take.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/emulator.js');
const RSS_LIMIT_MIB = 300;

/**
 * Ten opened keyboards polled every 10 ms for five waits of 600 s: two events a device a
 * poll, about 6 million events (a trace of about 550 MB).
 */
export function longScenario(devices = 10, waits = 5): string {
  const lines = ['chipset init', 'bus create 1 name=console'];
  for (let i = 1; i <= devices; i++) lines.push(`device create 1:${i} type=keyboard`);
  for (let i = 1; i <= devices; i++) lines.push(`input 1:${i} open`);
  for (let i = 0; i < waits; i++) lines.push('wait 600s');
  lines.push('expect /sys/bus/visorbus/devices/vbus1:dev1/driver == visorinput');
  return lines.join('\n') + '\n';
}

function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface PipedRun {
  code: number | null;
  peakMiB: number;
  tail: string;
  err: string;
}

/** `visorbus-emu ARGS | (sleep 5; tail -c 4096)`, sampling the emulator's peak memory until it exits. */
function runIntoSlowPipe(args: string[]): Promise<PipedRun> {
  return new Promise((resolve, reject) => {
    const reader = spawn('sh', ['-c', 'sleep 5; tail -c 4096'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', reader.stdin, 'pipe'] });
    // The emulator has its own copy of the pipe's write end; ours must close for the reader to see the end.
    reader.stdin.destroy();
    let err = '';
    let tail = '';
    let peak = 0;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    reader.stdout.setEncoding('utf8').on('data', (d: string) => (tail += d));
    const sample = setInterval(() => {
      peak = Math.max(peak, peakRssMiB(child.pid!) ?? 0);
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sample);
      reader.on('close', () => resolve({ code, peakMiB: peak, tail, err }));
    });
  });
}

describe('visorbus-emu run: a long run into a slow pipe', function () {
  this.timeout(15 * 60 * 1000);

  it(`six million events through a reader that starts after 5 s: peak RSS under ${RSS_LIMIT_MIB} MB`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-long-'));
    try {
      const file = path.join(dir, 'long.visor');
      fs.writeFileSync(file, longScenario());
      const r = await runIntoSlowPipe(['run', file]);
      assert.equal(r.code, 0, r.err);
      const events = Number(/: (\d+) events, virtual time/.exec(r.tail)?.[1]);
      process.stdout.write(`      run | (sleep 5; cat): ${events} events, emulator peak RSS ${r.peakMiB.toFixed(0)} MiB\n`);
      assert.ok(events > 5_500_000, `${events} events`);
      assert.match(r.tail, /long\.visor:\d+:1: ok: \/sys\/bus\/visorbus\/devices\/vbus1:dev1\/driver == visorinput/);
      assert.ok(r.peakMiB > 0, 'the memory was sampled');
      assert.ok(r.peakMiB < RSS_LIMIT_MIB, `${r.peakMiB} MiB`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
