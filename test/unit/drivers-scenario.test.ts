import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseScenario } from '../../src/emulator/scenario/parser';
import { newRun } from '../../src/emulator/host/scenariofile';
import type { ScenarioRun } from '../../src/emulator/scenario/runner';

/** The repository root (tests run from out/test/unit). */
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Run scenario text as if it were the file `dir/name` (relative paths resolve in `dir`). */
function run(text: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-scn-')), name = 'test.visor'): ScenarioRun {
  const sc = parseScenario(text, path.join(dir, name));
  const errors = sc.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(
    errors.map((d) => `${d.line}: ${d.message}`),
    [],
    'the scenario parses',
  );
  const r = newRun(sc);
  r.runToEnd();
  r.emu.shutdown();
  return r;
}

function failures(r: ScenarioRun): string[] {
  return [
    ...r.errors.map((e) => `line ${e.line}: error: ${e.message}`),
    ...r.expects.filter((e) => !e.pass).map((e) => `line ${e.line}: ${e.subject} ${e.op} ${e.expected} (actual ${e.actual})`),
  ];
}

/** Copy an example (and its driver folder) into a temporary directory and run it there. */
function runExample(name: string): ScenarioRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-example-'));
  const src = path.join(ROOT, 'examples');
  fs.copyFileSync(path.join(src, name), path.join(dir, name));
  if (fs.existsSync(path.join(src, 'my-driver'))) fs.cpSync(path.join(src, 'my-driver'), path.join(dir, 'my-driver'), { recursive: true });
  return run(fs.readFileSync(path.join(dir, name), 'utf8'), dir, name);
}

describe('function drivers in scenarios', () => {
  for (const example of ['visorhba.visor', 'visornic.visor', 'visorinput.visor', 'my-driver.visor']) {
    it('a net device uevent carries INTERFACE and IFINDEX, not DEVNAME (netdev_uevent); /sys/class/net/eth0/ifindex matches', () => {
      const r = run('chipset init\nbus create 2\ndevice create 2:1 type=vnic\nwait 10ms\n');
      const ue = r.emu.engine.uevents.find((u) => u.env.SUBSYSTEM === 'net');
      assert.ok(ue, 'a net uevent');
      assert.equal(ue.action, 'add');
      assert.equal(ue.devpath, '/devices/visorbus2/vbus2:dev1/net/eth0');
      assert.equal(ue.env.INTERFACE, 'eth0');
      assert.equal(ue.env.IFINDEX, '2', 'ifindex 1 is the loopback device');
      assert.equal(ue.env.DEVNAME, undefined);
      assert.equal(r.emu.sysfs.read('/sys/class/net/eth0/ifindex'), '2\n');
    });

    it(`examples/${example}: every expect holds`, () => {
      const r = runExample(example);
      assert.deepEqual(failures(r), []);
      assert.ok(r.expects.length >= 8, 'the example checks something');
    });
  }

  it('autoloads the built-in drivers by module alias and binds them', () => {
    const r = run(`
chipset init
bus create 1
bus create 2
device create 1:1 type=keyboard
device create 1:2 type=mouse
device create 2:0 type=vhba
device create 2:1 type=vnic
wait 20ms
expect /sys/bus/visorbus/devices/vbus1:dev1/driver == visorinput
expect /sys/bus/visorbus/devices/vbus1:dev2/driver == visorinput
expect /sys/bus/visorbus/devices/vbus2:dev0/driver == visorhba
expect /sys/bus/visorbus/devices/vbus2:dev1/driver == visornic
expect 2:0.header.features == 0x8
expect 2:1.header.features == 0x48
`);
    assert.deepEqual(failures(r), []);
    assert.equal(r.expects.length, 6);
  });

  it("disk images are created relative to the scenario folder and hold the guest's data after the run", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-disk-'));
    const r = run(
      `
chipset init
bus create 2
device create 2:0 type=vhba
disk 2:0 attach lun=0 image=data/disk0.img size=128k
wait 60ms
disk 2:0 write lun=0 lba=3 "written by the guest"
wait 20ms
`,
      dir,
    );
    // the folder does not exist: attach fails with a located error, and so does the write to the missing disk
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [5, 7],
    );
    assert.match(r.errors[0].message, /directory .*data does not exist/);
    assert.match(r.errors[1].message, /no disk for 2:0 LUN 0/);
    fs.mkdirSync(path.join(dir, 'data'));
    const r2 = run(
      `
chipset init
bus create 2
device create 2:0 type=vhba
disk 2:0 attach lun=0 image=data/disk0.img size=128k
wait 60ms
disk 2:0 write lun=0 lba=3 "written by the guest"
wait 20ms
expect /sys/block/sda/size == 256
expect counter "disk 2:0 lun=0 writes" == 1
`,
      dir,
    );
    assert.deepEqual(failures(r2), []);
    const img = fs.readFileSync(path.join(dir, 'data', 'disk0.img'));
    assert.equal(img.length, 128 * 1024);
    assert.equal(img.subarray(3 * 512, 3 * 512 + 20).toString('latin1'), 'written by the guest');
    assert.ok(r2.emu.kernel.guest.block.disks.get('sda'));
  });

  it('partition recovery with disk and network I/O in flight loses nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-recover-'));
    const r = run(
      `
chipset init
bus create 2
device create 2:0 type=vhba
disk 2:0 attach lun=0 image=r.img size=64k
device create 2:1 type=vnic
wait 60ms
net 2:1 open
wait 5ms
fault 2:0 lost-response lun=0 count=2
disk 2:0 write lun=0 lba=1 "one"
disk 2:0 write lun=0 lba=2 "two"
disk 2:0 write lun=0 lba=3 "three"
net 2:1 xmit "in flight"
partition recover 2
wait 100ms
disk 2:0 read lun=0 lba=2 count=1
wait 20ms
expect counter "disk 2:0 lun=0 lastread" == two
expect counter "net 2:1 wire_tx" == 1
net 2:1 send "after"
wait 5ms
expect counter "net 2:1 lastrx" == after
`,
      dir,
    );
    assert.deepEqual(failures(r), []);
    const img = fs.readFileSync(path.join(dir, 'r.img'));
    for (const [lba, text] of [
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ] as const)
      assert.equal(img.subarray(lba * 512, lba * 512 + text.length).toString('latin1'), text);
  });

  it('typed text reaches "visor Keyboard" only once a reader opens it', () => {
    const r = run(`
chipset init
bus create 1
device create 1:1 type=keyboard
wait 10ms
keyboard 1:1 type "Hello"
wait 30ms
expect counter "input \\"visor Keyboard\\" keys" == 0
input 1:1 open
wait 20ms
expect counter "input \\"visor Keyboard\\" text" == Hello
`);
    assert.deepEqual(failures(r), []);
    const kbd = r.emu.kernel.guest.input.byName('visor Keyboard')!;
    assert.equal(kbd.text, 'Hello');
  });

  it('the same scenario gives the same trace twice in one process (driver cookies are per run)', () => {
    const text = fs.readFileSync(path.join(ROOT, 'examples', 'visornic.visor'), 'utf8');
    const a = run(text);
    const b = run(text);
    assert.deepEqual(failures(a), []);
    assert.equal(a.emu.engine.log.count, b.emu.engine.log.count);
    assert.equal(a.emu.engine.log.checksum, b.emu.engine.log.checksum);
  });

  it('back-end command errors are located at their line and the run goes on', () => {
    const r = run(`
chipset init
bus create 2
device create 2:1 type=vnic
wait 10ms
disk 2:1 attach lun=0 image=x.img
net 2:1 open
net 2:1 send hex:0011
wait 5ms
expect counter "net 2:1 posted" == 32
`);
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [6, 8],
    );
    assert.match(r.errors[0].message, /414815ed-c58c-11da-95a9-00e08161165f/);
    assert.match(r.errors[1].message, /at least 14 bytes/);
    assert.equal(r.expects.filter((e) => e.pass).length, 1);
    assert.ok(r.emu.kernel.guest.net.devices.get('2:1')?.up);
  });
});
