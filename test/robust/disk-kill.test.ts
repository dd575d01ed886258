/**
 * Disk images and kills: `visorbus-emu run` drives a long write workload through visorhba to
 * an image file and is killed with SIGKILL part-way (the kill is triggered by the trace on
 * stdout, never by a timer). Every write the trace shows as completed to the guest before
 * the kill must be in the image, byte for byte, and a new run on the same image reads it
 * back. A read-only, missing or unwritable image gives a clear, located error.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'emulator.js');
const SECTOR = 512;
const WRITES = 6000;

/** The data written to LBA 3k (LBAs spread out so neighbours never share a sector). */
function record(k: number): Buffer {
  return Buffer.from(`record ${k} `.padEnd(96, String.fromCharCode(97 + (k % 26))), 'latin1');
}

function workload(image: string): string {
  const lines = ['chipset init', 'bus create 2 name=io', 'device create 2:0 type=vhba', `disk 2:0 attach lun=0 image=${image} size=16M`, 'wait 50ms'];
  for (let k = 0; k < WRITES; k++) lines.push(`disk 2:0 write lun=0 lba=${3 * k} "${record(k).toString('latin1')}"`, 'wait 1ms');
  lines.push('wait 100ms');
  return lines.join('\n') + '\n';
}

const COMPLETED = /IO partition \(disk\): guest write of (\d+) sector\(s\) at LBA (\d+) on \S+ completed/;

interface KilledRun {
  acked: number[];
  signal: NodeJS.Signals | null;
  code: number | null;
  lines: number;
}

/** Run the scenario and SIGKILL it once `killAfter` completed writes have been printed. */
function runAndKill(file: string, killAfter: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let lines = 0;
    let killed = false;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      lines++;
      const m = COMPLETED.exec(line);
      if (!m) return;
      assert.equal(Number(m[1]), 1);
      acked.push(Number(m[2]));
      if (!killed && acked.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    // 'close' comes after stdout ended: every line the child wrote before dying has been read.
    child.on('close', (code, signal) => {
      if (!killed) reject(new Error(`the run ended before ${killAfter} writes completed (exit ${code}, ${acked.length} writes): ${stderr.slice(0, 500)}`));
      else resolve({ acked, signal, code, lines });
    });
  });
}

function runCli(args: string[], opts: { uid?: number; gid?: number } = {}): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...opts });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

describe('robust: disk images survive a kill', function () {
  this.timeout(120000);
  let tmp: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-kill-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const killAfter of [1, 150, 1200]) {
    it(`SIGKILL after ${killAfter} acknowledged write(s): every acknowledged write is in the image`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'k'));
      const file = path.join(dir, 'writes.visor');
      fs.writeFileSync(file, workload('kill.img'));
      const r = await runAndKill(file, killAfter);
      assert.equal(r.signal, 'SIGKILL', 'the run was killed, not finished');
      assert.ok(r.acked.length >= killAfter, `${r.acked.length} writes acknowledged before the kill`);
      assert.ok(r.acked.length < WRITES, 'killed part-way through the workload');
      const image = fs.readFileSync(path.join(dir, 'kill.img'));
      const missing: number[] = [];
      for (const lba of r.acked) {
        const k = lba / 3;
        const want = Buffer.alloc(SECTOR);
        record(k).copy(want);
        if (!image.subarray(lba * SECTOR, (lba + 1) * SECTOR).equals(want)) missing.push(lba);
      }
      assert.deepEqual(missing, [], `acknowledged writes missing from the image (of ${r.acked.length})`);
      // The image is whole: a new run attaches it and reads the last acknowledged record back.
      const last = r.acked[r.acked.length - 1];
      const check = path.join(dir, 'check.visor');
      fs.writeFileSync(
        check,
        `chipset init\nbus create 2\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=kill.img\nwait 50ms\ndisk 2:0 read lun=0 lba=${last} count=1\nwait 50ms\n`,
      );
      const again = runCli(['run', check]);
      assert.equal(again.code, 0, again.out.slice(-2000));
      assert.match(again.out, new RegExp(`guest read of 1 sector\\(s\\) at LBA ${last} on \\S+ completed: "record ${last / 3} `));
    });
  }

  it('a missing image directory and a missing read-only image: clear, located errors, and the run goes on', () => {
    const file = path.join(tmp, 'missing.visor');
    fs.writeFileSync(
      file,
      'chipset init\nbus create 2\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=no/such/dir/x.img\ndisk 2:0 attach lun=1 image=absent.img readonly=1\nchipset ready\n',
    );
    const r = runCli(['run', file]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`missing\\.visor:4:1: error: disk attach: cannot create image \\S*no/such/dir/x\\.img: directory \\S+ does not exist`));
    assert.match(r.out, /missing\.visor:5:1: error: disk attach: image \S*absent\.img does not exist \(a read-only disk needs an existing image\)/);
    assert.match(r.out, /line 6: chipset ready/, 'later lines still run');
  });

  it("a read-only disk refuses the guest's writes (DATA PROTECT) and the image stays as it was", () => {
    const img = path.join(tmp, 'ro.img');
    fs.writeFileSync(img, Buffer.alloc(1 << 20, 0x5a));
    const file = path.join(tmp, 'ro.visor');
    fs.writeFileSync(
      file,
      `chipset init\nbus create 2\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=ro.img readonly=1\nwait 50ms\ndisk 2:0 write lun=0 lba=3 "overwrite"\nwait 50ms\n`,
    );
    const r = runCli(['run', file]);
    assert.match(r.out, /guest write of 1 sector\(s\) at LBA 3 on \S+ failed: EIO \(DATA PROTECT \(write protected\)\)/);
    assert.ok(
      fs.readFileSync(img).every((b) => b === 0x5a),
      'the image is unchanged',
    );
  });

  it('an image file the emulator may not write: a clear "read-only" error, not a crash', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'perm'));
    const img = path.join(dir, 'locked.img');
    fs.writeFileSync(img, Buffer.alloc(1 << 20));
    fs.chmodSync(img, 0o444);
    const file = path.join(dir, 'locked.visor');
    fs.writeFileSync(file, 'chipset init\nbus create 2\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=locked.img\nchipset ready\n');
    // root may write any file: run the emulator as an unprivileged user then.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(file, 0o644);
      fs.chmodSync(tmp, 0o755);
    }
    const r = runCli(['run', file], asRoot ? { uid: 65534, gid: 65534 } : {});
    assert.equal(r.code, 1, r.out.slice(-1500));
    assert.match(
      r.out,
      /locked\.visor:4:1: error: disk attach: image \S*locked\.img is read-only \((EACCES|EPERM|EROFS)\); the IO partition needs to write it/,
    );
    assert.match(r.out, /line 5: chipset ready/);
  });
});
