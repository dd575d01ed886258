import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/emulator.js');
const DEFAULT = path.join(ROOT, 'scenarios/default.visor');

function emu(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(name: string, content: string | Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-cli-'));
  const f = path.join(dir, name);
  fs.writeFileSync(f, content);
  return f;
}

function noStackTrace(text: string): void {
  assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `stack trace in output:\n${text}`);
}

describe('visorbus-emu CLI', () => {
  it('run prints the event trace and the seed topology with drivers bound', () => {
    const r = emu(['run', DEFAULT]);
    assert.equal(r.code, 0, r.err + r.out.slice(-3000));
    assert.match(r.out, /^\s+1\s+0\.000s\s+step\s+scenario\s+line \d+: chipset init/m);
    assert.match(r.out, /# bus\/device tree/);
    for (const name of ['vbus1:dev1', 'vbus1:dev2', 'vbus1:dev3', 'vbus2:dev0', 'vbus2:dev1']) assert.match(r.out, new RegExp(`^  ${name}`, 'm'));
    assert.match(r.out, /^ {2}vbus2:dev0 +sparvhba +visorhba +running/m);
    assert.match(r.out, /^ {2}vbus1:dev3 +- +- +unbound/m);
  });

  it('run --json gives ordered events and the sysfs map', () => {
    const r = emu(['run', DEFAULT, '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { events: { n: number; kind: string }[]; sysfs: Record<string, string>; checksum: string };
    assert.ok(doc.events.length > 100);
    doc.events.forEach((e, i) => assert.equal(e.n, i + 1));
    assert.equal(doc.sysfs['/sys/devices/visorbus2/vbus2:dev0/channel/typename'], 'sparvhba');
    assert.equal(doc.sysfs['/sys/bus/visorbus/devices/vbus1:dev1'], '-> ../../../devices/visorbus1/vbus1:dev1');
    const again = JSON.parse(emu(['run', DEFAULT, '--json']).out) as { checksum: string };
    assert.equal(again.checksum, doc.checksum, 'deterministic');
  });

  it('test exits 0 when every expect holds and 1 with file:line, expected and actual otherwise', () => {
    const ok = emu(['test', DEFAULT]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /expectations held$/m);
    const f = tmp('bad.visor', 'chipset init\nbus create 2\nexpect /sys/devices/visorbus2/partition_name == io\n');
    const bad = emu(['test', f]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, new RegExp(`bad\\.visor:3:1: FAILED: /sys/devices/visorbus2/partition_name == io\\n\\s+expected: io\\n\\s+actual:\\s+\\(null\\)`));
  });

  it('channel writes the raw channel bytes, starting with the ECNL signature', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-ch-')), 'ch.bin');
    const r = emu(['channel', DEFAULT, '2:0', '--out', out]);
    assert.equal(r.code, 0, r.err);
    const b = fs.readFileSync(out);
    assert.equal(b.subarray(0, 8).toString('hex'), '45434e4c00000000');
    assert.equal(b.length, Number(b.readBigUInt64LE(16)));
    const cv = emu(['channel', DEFAULT, 'controlvm', '--out', out]);
    assert.equal(cv.code, 0);
    assert.equal(fs.statSync(out).size, 36608);
  });

  it('bad input gets a clear error and a non-zero exit, never a stack trace', () => {
    const cases: [string[], RegExp][] = [
      [['run', '/nonexistent/x.visor'], /no such file/],
      [['run', os.tmpdir()], /is a directory/],
      [['run', tmp('garbage.visor', Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0x80, 7, 8]))], /looks binary/],
      [['run', tmp('huge.visor', 'chipset init\n' + 'a'.repeat(100 * 1024 * 1024) + '\n')], /huge\.visor:2:1: error: line is too long/],
      [['run', tmp('typo.visor', 'chipset init\nbux create 2\n')], /typo\.visor:2:1: error: unknown command 'bux'/],
      [['channel', DEFAULT, '9:9'], /device 9:9 has no channel/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['run'], /run needs a scenario FILE/],
      [['run', DEFAULT, '--hz', 'fast'], /--hz must be a whole number from 1 to 10000/],
    ];
    for (const [args, re] of cases) {
      const r = emu(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, re, `${args.join(' ')}: ${r.err}`);
      noStackTrace(r.err + r.out);
    }
  });

  it('a runtime error is reported with its scenario line and the run goes on', () => {
    const f = tmp(
      'rt.visor',
      'chipset init\necho 5 > /sys/devices/visorbus9/partition_name\nbus create 3\nexpect /sys/devices/visorbus3/partition_name == (null)\n',
    );
    const r = emu(['test', f]);
    assert.equal(r.code, 1);
    assert.match(r.out, /rt\.visor:2:1: error: echo 5 > \/sys\/devices\/visorbus9\/partition_name: No such file or directory/);
    assert.match(r.out, /rt\.visor:4:1: ok/);
  });

  it('a kernel oops (visorchannel_signalremove dividing by max_slots 0) is a located error; the emulator does not crash', () => {
    const r = emu(['run', path.join(ROOT, 'test/dap/fixtures/oops.visor')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /oops\.visor:8:1: error: kernel oops: divide error in visorchannel_signalremove\(vbus3:dev0, queue 0\): % max_slots with max_slots 0/);
    assert.match(r.out, /# bus\/device tree/, 'the run went on to the end');
    noStackTrace(r.err);
  });

  it('--fix-kernel-bugs: the kernel wedges on a payload over 128 KiB by default; oversizedPayload refuses it; unknown names are usage errors', () => {
    const f = tmp('big.visor', 'chipset init\nbus create 1\ncontrolvm send id=0x104 bus=1 flags=2 payload_bytes=200000\n');
    const kernel = emu(['run', f]);
    assert.equal(kernel.code, 1);
    assert.match(kernel.out, /big\.visor:3:1: error: the guest did not acknowledge CONTROLVM_BUS_CONFIGURE/);
    const fixed = emu(['run', f, '--fix-kernel-bugs', 'oversizedPayload']);
    assert.equal(fixed.code, 0, fixed.out + fixed.err);
    assert.match(fixed.out, /response CONTROLVM_BUS_CONFIGURE: failed, status 400 \(CONTROLVM_RESP_PAYLOAD_INVALID\)/);
    assert.equal(emu(['test', f, '--fix-kernel-bugs', 'all']).code, 0);
    const bad = emu(['run', f, '--fix-kernel-bugs', 'promisc']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /unknown name 'promisc' \(known: promiscEnable, staleCmdrsp, busConfigureName, flowControl, oversizedPayload\)/);
    noStackTrace(bad.err);
  });

  it('check reports every located diagnostic without running', () => {
    const f = tmp('diag.visor', 'chipset init\ndevice create 3:0 type=vhab\nwait 10\n');
    const r = emu(['check', f]);
    assert.equal(r.code, 1);
    assert.match(r.out, /diag\.visor:2:\d+: error: .*/);
    assert.match(r.out, /diag\.visor:3:6: error: missing unit in '10'/);
  });
});
