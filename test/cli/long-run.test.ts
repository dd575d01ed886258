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
import { longScenario, peakRssMiB } from './longscenario';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/emulator.js');
const RSS_LIMIT_MIB = 300;

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
