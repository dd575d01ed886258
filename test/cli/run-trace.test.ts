/** `visorbus-emu run --trace FILE` (summary on stdout, every event in FILE) and `--progress`. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/emulator.js');
const DEFAULT = path.join(ROOT, 'scenarios/default.visor');
const EVENT_LINE = /^ *\d+ +\d+\.\d{3}s {2}\S+/;

function emu(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('visorbus-emu run --trace / --progress', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-trace-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--trace writes the whole event trace to the file; stdout has the scenario lines, kernel log, tree and expects', () => {
    const trace = path.join(dir, 'default.trace');
    const plain = emu(['run', DEFAULT]);
    const r = emu(['run', DEFAULT, '--trace', trace]);
    assert.equal(r.code, plain.code, r.err);
    const traced = fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => EVENT_LINE.test(l));
    assert.deepEqual(
      traced,
      plain.out.split('\n').filter((l) => EVENT_LINE.test(l)),
      'the file holds the same trace as stdout without --trace',
    );
    const kinds = new Set(
      r.out
        .split('\n')
        .filter((l) => EVENT_LINE.test(l))
        .map((l) => l.trim().split(/\s+/)[2]),
    );
    assert.deepEqual([...kinds].sort(), ['error', 'log', 'step'], 'stdout: scenario lines and kernel log (errors too) only');
    assert.match(r.out, new RegExp(`every event is in ${trace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.out, /^# \d+ of \d+ scenario lines run; event trace: /m);
    assert.match(r.out, /^ {2}vbus2:dev0 +sparvhba +visorhba +running/m);
    assert.match(r.out, /^# expect\n.*default\.visor:\d+:\d+: ok: /m);
    assert.match(r.out, /: \d+ events, virtual time \d+\.\d{3} s/);
  });

  it('--trace keeps at most 1000 scenario-line and kernel-log lines on stdout: the first and the last', () => {
    const f = path.join(dir, 'many.visor');
    fs.writeFileSync(f, 'chipset init\n' + Array.from({ length: 1500 }, (_, i) => `wait ${i + 1}j\n`).join(''));
    const r = emu(['run', f, '--trace', path.join(dir, 'many.trace')]);
    assert.equal(r.code, 0, r.err);
    const shown = r.out.split('\n').filter((l) => EVENT_LINE.test(l));
    assert.equal(shown.length, 1000);
    assert.match(shown[0], /line 1: chipset init/);
    assert.match(shown[shown.length - 1], /line 1501: wait 1500j/);
    assert.match(r.out, /^# … \d+ scenario-line and kernel-log events left out here; they are in .*many\.trace$/m);
    assert.match(r.out, /1501 of 1501 scenario lines run/);
  });

  it('--progress prints rising percentages on stderr, ending at 100% with the last line', () => {
    const f = path.join(dir, 'waits.visor');
    fs.writeFileSync(
      f,
      'chipset init\nbus create 1\ndevice create 1:1 type=keyboard\ninput 1:1 open\nwait 10s\nwait 30s\nexpect /sys/bus/visorbus/devices/vbus1:dev1/driver == visorinput\n',
    );
    const r = emu(['run', f, '--progress', '--trace', path.join(dir, 'waits.trace')]);
    assert.equal(r.code, 0, r.err);
    const steps = r.err
      .trim()
      .split('\n')
      .map((l) => /^visorbus-emu: progress (\d+)% \(line (\d+) of 7\)$/.exec(l));
    assert.ok(
      steps.every((m) => m),
      r.err,
    );
    const pcts = steps.map((m) => Number(m![1]));
    assert.ok(pcts.length > 50, `${pcts.length} progress lines`);
    assert.ok(
      pcts.every((p, i) => i === 0 || p > pcts[i - 1]),
      'rising',
    );
    assert.deepEqual(steps[steps.length - 1]!.slice(1), ['100', '7']);
    // 10 s of the 40 s planned: the first wait ends at 25%.
    assert.ok(
      steps.some((m) => m![1] === '24' && m![2] === '5'),
      'the first wait is a quarter of the time',
    );
    assert.equal(emu(['run', f]).err, '', 'nothing on stderr without --progress');
  });

  it('--trace with --json, or a trace file that cannot be written, is a usage error', () => {
    const both = emu(['run', DEFAULT, '--json', '--trace', path.join(dir, 'x.trace')]);
    assert.equal(both.code, 2);
    assert.match(both.err, /--trace and --json do not go together/);
    const bad = emu(['run', DEFAULT, '--trace', path.join(dir, 'no', 'such', 'dir', 'x.trace')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--trace .*x\.trace: cannot write \(ENOENT\)/);
  });
});
