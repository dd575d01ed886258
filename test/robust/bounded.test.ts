/**
 * Bounded work and memory, and honest output, for everything a scenario can ask (issue 16,
 * findings 6, 8, 9, 10, 13, 17): a long `run` piped to a slow reader holds back instead of
 * buffering; wheel steps, read sizes, waits and HZ have limits with located errors; a driver
 * that never returns or calls process.exit is reported, and the run ends; values with control
 * characters cannot drive the terminal or forge a located error line; guest addresses and
 * channel sizes that make no sense get clear errors. Peak resident memory is measured from
 * /proc (VmHWM) and must stay under 500 MB.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './support/proc';
import { newRun } from '../../src/emulator/host/scenariofile';
import { parseScenario } from '../../src/emulator/scenario/parser';

const RSS_LIMIT_MIB = 500;
const PREAMBLE =
  'chipset init\nbus create 1 name=console\nbus create 2 name=io\ndevice create 1:1 type=keyboard\ndevice create 1:2 type=mouse\ndevice create 2:0 type=vhba\ninput 1:1 open\ninput 1:2 open\nwait 20ms\n';

describe('robust: bounded work, memory and output', function () {
  this.timeout(120000);
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-bounded-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function scenario(name: string, text: string): string {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  }

  it(`finding 6: run of a million events into a slow pipe holds back instead of buffering (peak RSS < ${RSS_LIMIT_MIB} MB)`, async () => {
    const f = scenario('long.visor', `${PREAMBLE}wait 600s\nwait 600s\nwait 600s\n`);
    const r = await runCli(['run', f], { readDelayMs: 3000, keepOut: 64 * 1024 });
    assert.equal(r.code, 0, r.err);
    const events = Number(/: (\d+) events, virtual time/.exec(r.out)?.[1]);
    process.stdout.write(`      run | slow reader: ${events} events, peak RSS ${r.peakMiB.toFixed(0)} MiB\n`);
    assert.ok(events > 1_000_000, `${events} events`);
    assert.ok(r.peakMiB < RSS_LIMIT_MIB, `${r.peakMiB} MiB`);
  });

  it(`finding 8: mouse wheel 2147483647 and a 1 TiB read are refused at their lines (peak RSS < ${RSS_LIMIT_MIB} MB); the largest allowed ones run`, async () => {
    const f = scenario(
      'wheel.visor',
      `${PREAMBLE}mouse 1:2 wheel 2147483647\nmouse 1:2 wheel -10001\ndisk 2:0 attach lun=0 image=big.img size=1099511627776\nwait 50ms\ndisk 2:0 read lun=0 lba=0 count=2097152\n`,
    );
    const r = await runCli(['run', f]);
    assert.equal(r.code, 1);
    assert.match(r.err, /wheel\.visor:10:\d+: error: wheel amount '2147483647' is too large for one line \(at most 10000 notches either way\)/);
    assert.match(r.err, /wheel\.visor:11:\d+: error: wheel amount '-10001' is too large/);
    assert.match(r.err, /wheel\.visor:14:\d+: error: count='2097152' is too many sectors for one read \(at most 32768, 16 MiB\); read in parts/);
    process.stdout.write(`      refused wheel/read lines: peak RSS ${r.peakMiB.toFixed(0)} MiB\n`);
    assert.ok(r.peakMiB < RSS_LIMIT_MIB, `${r.peakMiB} MiB`);
    // At the limits they run, within the memory bound.
    const g = scenario(
      'wheel-ok.visor',
      `${PREAMBLE}mouse 1:2 wheel 10000\nmouse 1:2 wheel -10000\ndisk 2:0 attach lun=0 image=big.img size=1099511627776\nwait 50ms\ndisk 2:0 read lun=0 lba=2147450880 count=32768\nwait 2s\n`,
    );
    const ok = await runCli(['run', g]);
    assert.equal(ok.code, 0, ok.out.slice(-3000) + ok.err);
    assert.match(ok.out, /guest read of 32768 sector\(s\) at LBA 2147450880 on sd\w+ completed/);
    process.stdout.write(`      wheel 10000 both ways and a 16 MiB read of a 1 TiB image: peak RSS ${ok.peakMiB.toFixed(0)} MiB\n`);
    assert.ok(ok.peakMiB < RSS_LIMIT_MIB, `${ok.peakMiB} MiB`);
  });

  it('finding 9: huge waits and HZ are refused; the longest wait allowed ends', async () => {
    const f = scenario('waits.visor', 'chipset init\nwait 9007199254740991j\nwait 4294967296j\nwait 601s\nwait 600001ms\nwait 10ms\n');
    const r = await runCli(['run', f]);
    assert.equal(r.code, 1);
    for (const [line, text] of [
      [2, '9007199254740991j'],
      [3, '4294967296j'],
      [4, '601s'],
      [5, '600001ms'],
    ] as const) {
      assert.match(r.err, new RegExp(`waits\\.visor:${line}:6: error: wait '${text}' is too long: one wait is at most 600 s of virtual time`));
    }
    const hz = await runCli(['run', f, '--hz', '1000000000']);
    assert.equal(hz.code, 2);
    assert.match(hz.err, /--hz must be a whole number from 1 to 10000, not '1000000000'/);
    // In jiffies the bound depends on HZ: checked when the wait runs.
    const j = scenario('jiffies.visor', 'chipset init\nwait 600001j\nwait 600000j\n');
    const rj = await runCli(['run', j]);
    assert.equal(rj.code, 1);
    assert.match(rj.out, /jiffies\.visor:2:1: error: wait of 600001 jiffies is too long at HZ=1000: one wait is at most 600 s of virtual time/);
    assert.match(rj.out, /virtual time 600\.\d+ s/, 'the longest allowed wait runs to its end');
  });

  it('finding 10: a driver that never returns is stopped with its stack; process.exit in a driver is reported as such', async () => {
    fs.writeFileSync(
      path.join(tmp, 'spin.js'),
      `module.exports = {
  name: 'spin',
  channelTypes: [{ guid: 'aabbccdd-0000-4000-8000-000000000001', name: 'spin', minBytes: 128, version: 1 }],
  probe(dev) {
    let n = 0;
    for (;;) n++; // never returns
  },
  remove() {}, pause(d, c) { c(0); }, resume(d, c) { c(0); },
};
`,
    );
    const f = scenario(
      'spin.visor',
      'chipset init\ndriver load ./spin.js\nbus create 2\ndevice create 2:0 type=aabbccdd-0000-4000-8000-000000000001\nwait 10ms\n',
    );
    const r = await runCli(['run', f, '--driver-timeout', '1000'], { killAfterMs: 60000 });
    assert.equal(r.signal, null, 'it ended by itself');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /visorbus-emu: driver code spin\.probe\(vbus2:dev0\) did not return within \d+\.\d s of wall time \(an endless loop\?\); the run was stopped there\n\s+at Object\.probe \(\S*spin\.js:6:\d+\)/,
    );
    assert.match(r.out, /call +vbus2:dev0 +spin\.probe\(vbus2:dev0\)/, 'the trace up to the stop was printed');
    process.stdout.write(`      endless probe stopped after ${r.ms} ms (limit 1000 ms)\n`);
    // The same at the module's top level, under test.
    fs.writeFileSync(path.join(tmp, 'spintop.js'), 'for (;;) {}\n');
    const t = scenario('spintop.visor', 'chipset init\ndriver load ./spintop.js\n');
    const rt = await runCli(['test', t, '--driver-timeout', '500'], { killAfterMs: 60000 });
    assert.equal(rt.code, 1);
    assert.match(rt.err, /driver code loading driver module \S*spintop\.js did not return/);

    fs.writeFileSync(
      path.join(tmp, 'quit.js'),
      `module.exports = {
  name: 'quit',
  channelTypes: [{ guid: 'aabbccdd-0000-4000-8000-000000000002', name: 'quit', minBytes: 128, version: 1 }],
  probe() { process.exit(3); },
  remove() {}, pause(d, c) { c(0); }, resume(d, c) { c(0); },
};
`,
    );
    const q = scenario(
      'quit.visor',
      'chipset init\ndriver load ./quit.js\nbus create 2\ndevice create 2:0 type=aabbccdd-0000-4000-8000-000000000002\nwait 10ms\nlog "still running"\n',
    );
    const rq = await runCli(['run', q]);
    assert.notEqual(rq.code, 3, 'the driver did not decide the exit code');
    assert.match(
      rq.out,
      /quit\.probe\(vbus2:dev0\) threw: process\.exit\(3\) called in quit\.probe\(vbus2:dev0\): driver code cannot end the emulator, so the call was stopped there/,
    );
    assert.match(rq.out, /still running/, 'the run went on');
  });

  it('finding 13: control characters in values are escaped: no terminal escapes, no forged located lines', async () => {
    const f = scenario(
      'inject.visor',
      `${PREAMBLE}keyboard 1:1 press "\\x1b]0;T\\x07\\nfake.visor:1:1: error: forged"\nlog "\\x1b[2J\\x0dcleared"\nbus create 3 name="a\\x1b[31mred"\n`,
    );
    const r = await runCli(['run', f]);
    const all = r.out + r.err;
    // eslint-disable-next-line no-control-regex -- looking for the raw control characters
    assert.doesNotMatch(all, /\x1b|\x07/, 'no ESC or BEL reaches the terminal');
    assert.doesNotMatch(all, /^fake\.visor:1:1: error: forged/m, 'no forged error line');
    assert.match(all, /\\x1b\]0;T\\x07\\nfake\.visor:1:1: error: forged/, 'the value is shown, escaped');
    assert.match(all, /\\x1b\[2J\\rcleared/);
  });

  it('finding 17: addresses past the guest-physical space, bytes=0: clear errors at their lines', () => {
    const text =
      'chipset init\nbus create 4 addr=9007199254740000\nbus create 5 bytes=0\ndevice create 4:0 type=vhba addr=0xfffffffffffff000\nbus create 6 addr=0x20000000\n';
    const run = newRun(parseScenario(text, path.join(tmp, 'addr.visor')));
    run.runToEnd();
    run.emu.shutdown();
    const errs = run.errors.map((e) => `${e.line}: ${e.message}`);
    assert.match(errs[0], /^2: addr=0x1ffffffffffc20 with \d+ bytes does not fit in the guest-physical address space \(52 bits, below 0x10000000000000\)$/);
    assert.match(errs[1], /^3: bytes=0: a channel needs at least one byte/);
    assert.equal(errs.length, 2, errs.join('\n'));
    assert.ok(run.emu.busDevice(6), 'a sane address still works');
  });
});
