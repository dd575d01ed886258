/**
 * What a scenario may do to the host (issue 16, findings 1, 2, 11 and the host-file half of
 * 17): a scenario that loads its own driver module runs no user code under
 * `--no-user-drivers`, and says so at the line; host files it names stay inside its folder
 * or the workspace (`../x`, absolute paths and symbolic links out of it are refused, at the
 * line); a second run on an image another run holds gets a clear error; the debugger's
 * step-back restore touches only images its own runs created or attached.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { VisorClient } from '../dap/helpers/client';
import { CLI, runCli } from './support/proc';
import { newRun } from '../../src/emulator/host/scenariofile';
import { parseScenario } from '../../src/emulator/scenario/parser';

const EVIL = `require('fs').writeFileSync(require('path').join(__dirname, 'evil-ran.marker'), 'ran');
module.exports = { name: 'evil', channelTypes: [], probe() { return 0; }, remove() {}, pause(d, c) { c(0); }, resume(d, c) { c(0); } };
`;
const HBA = 'chipset init\nbus create 2 name=io\ndevice create 2:0 type=vhba\n';

describe('robust: the host is safe from scenarios', function () {
  this.timeout(60000);
  let tmp: string;
  let ws: string;
  let outside: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-host-'));
    ws = path.join(tmp, 'ws');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(ws);
    fs.mkdirSync(outside);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function scenario(name: string, text: string): string {
    const f = path.join(ws, name);
    fs.writeFileSync(f, text);
    return f;
  }

  describe('finding 1: --no-user-drivers', () => {
    it('run, test and channel load no driver module, and say so at its line', async () => {
      fs.writeFileSync(path.join(ws, 'evil.js'), EVIL);
      const f = scenario('evil.visor', 'chipset init\ndriver load ./evil.js\nbus create 2 name=io\ndevice create 2:0 type=vhba\nwait 10ms\n');
      const marker = path.join(ws, 'evil-ran.marker');
      for (const args of [
        ['run', f],
        ['test', f],
        ['channel', f, '2:0', '--out', path.join(tmp, 'ch.bin')],
      ]) {
        const r = await runCli([...args, '--no-user-drivers']);
        assert.equal(fs.existsSync(marker), false, `${args[0]}: evil.js did not run`);
        assert.match(
          r.out + r.err,
          /evil\.visor:2:1: error: user driver modules are turned off for this run \(an untrusted workspace, or --no-user-drivers\); '\.\/evil\.js' was not loaded \(built-in drivers still work\)/,
          args[0],
        );
        if (args[0] !== 'channel') assert.equal(r.code, 1, `${args[0]} fails on the refused line`);
      }
      // Without the flag the same scenario does run it: the check above means something.
      const trusted = await runCli(['run', f]);
      assert.equal(trusted.code, 0, trusted.err);
      assert.ok(fs.existsSync(marker), 'evil.js runs when user drivers are allowed');
    });
  });

  describe('finding 2: host files stay inside the scenario folder or the workspace', () => {
    it('a symbolic link to a file outside is refused at its line, and the file is untouched', async () => {
      const victim = path.join(outside, 'bashrc');
      fs.writeFileSync(victim, 'export PS1=victim\n');
      fs.symlinkSync(victim, path.join(ws, 'disk.img'));
      const f = scenario('link.visor', `${HBA}disk 2:0 attach lun=0 image=disk.img size=4k\nwait 50ms\ndisk 2:0 write lun=0 lba=0 "overwritten"\nwait 50ms\n`);
      const r = await runCli(['run', f]);
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        new RegExp(
          `link\\.visor:4:1: error: disk attach: disk image disk\\.img is a symbolic link \\(or goes through one\\) to ${victim.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, outside the scenario's folder`,
        ),
      );
      assert.equal(fs.readFileSync(victim, 'utf8'), 'export PS1=victim\n');
      // A link to a directory outside, and a link inside that stays inside, too.
      fs.symlinkSync(outside, path.join(ws, 'out'));
      fs.writeFileSync(path.join(ws, 'real.img'), Buffer.alloc(4096));
      fs.symlinkSync(path.join(ws, 'real.img'), path.join(ws, 'alias.img'));
      const g = scenario('dir.visor', `${HBA}disk 2:0 attach lun=0 image=out/new.img size=4k\ndisk 2:0 attach lun=1 image=alias.img\n`);
      const r2 = await runCli(['run', g]);
      assert.match(r2.out, /dir\.visor:4:1: error: disk attach: disk image out\/new\.img is a symbolic link \(or goes through one\)/);
      assert.doesNotMatch(r2.out, /dir\.visor:5/, 'a link that stays inside is fine');
      assert.equal(fs.existsSync(path.join(outside, 'new.img')), false, 'nothing was created outside');
    });

    it('image=../x, absolute paths and driver modules outside are refused by default; --workspace and --allow-outside-files let them in', async () => {
      fs.writeFileSync(path.join(outside, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
      fs.writeFileSync(path.join(outside, 'mod.js'), EVIL);
      const lines = [
        'disk 2:0 attach lun=0 image=../outside/x.img size=4k',
        `disk 2:0 attach lun=1 image=${path.join(outside, 'abs.img')} size=4k`,
        `disk 2:0 attach lun=2 image=${path.join(outside, 'passwd')} readonly=1`,
        'driver load ../outside/mod.js',
        'wait 50ms',
        'disk 2:0 read lun=2 lba=0 count=1',
        'wait 50ms',
      ];
      const f = scenario('escape.visor', HBA + lines.join('\n') + '\n');
      const r = await runCli(['run', f]);
      assert.equal(r.code, 1);
      for (const [line, what] of [
        [4, 'disk image \\.\\./outside/x\\.img'],
        [5, 'disk image \\S*abs\\.img'],
        [6, 'disk image \\S*passwd'],
        [7, 'driver module \\.\\./outside/mod\\.js'],
      ] as const) {
        assert.match(
          r.out,
          new RegExp(
            `escape\\.visor:${line}:1: error: (disk attach: )?${what}( \\(\\S+\\))? is outside the scenario's folder \\S+; a scenario's files must stay inside it \\(allow it with --allow-outside-files`,
          ),
          `line ${line}`,
        );
      }
      assert.doesNotMatch(r.out, /root:x:0:0/, 'nothing of the file outside reaches the trace');
      assert.deepEqual(fs.readdirSync(outside).sort(), ['mod.js', 'passwd'], 'nothing was created outside');
      assert.equal(fs.existsSync(path.join(outside, 'evil-ran.marker')), false);
      // The workspace folder (the extension passes it) is inside too.
      const w = await runCli(['run', f, '--workspace', tmp]);
      assert.doesNotMatch(w.out, /outside the scenario's folder/, w.out.slice(-2000));
      // And the user may opt in to anything.
      const any = await runCli(['run', f, '--allow-outside-files']);
      assert.doesNotMatch(any.out, /outside the scenario's folder/);
    });

    it('a refused image in a debug session is neither read nor restored: step-back touches only the images its runs opened', async () => {
      // At launch the session notes the images its scenario names. Later, files appear under two
      // of those names that the session never opens (one refused, outside the folder; one on a
      // line not reached yet). Stepping back must leave both alone; the image the run attached
      // is put back as it was.
      const f = scenario(
        'back.visor',
        `${HBA}disk 2:0 attach lun=0 image=mine.img size=4k\ndisk 2:0 attach lun=1 image=../outside/victim.img size=4k\nwait 10ms\nwait 10ms\nwait 10ms\ndisk 2:0 attach lun=2 image=later.img size=4k\n`,
      );
      const dc = new VisorClient();
      try {
        await dc.start();
        await dc.launchWith({ scenario: f, stopOnEntry: true }, () => dc.setBreakpointsRequest({ source: { path: f }, breakpoints: [{ line: 8 }] }));
        await dc.stopped();
        await dc.continueRequest({ threadId: 1 });
        assert.equal((await dc.stopped()).body.reason, 'breakpoint');
        fs.writeFileSync(path.join(outside, 'victim.img'), "not the session's\n");
        fs.writeFileSync(path.join(ws, 'later.img'), "not the session's either\n");
        fs.writeFileSync(path.join(ws, 'mine.img'), "changed behind the session's back\n");
        await dc.stepBackRequest({ threadId: 1 });
        await dc.stopped();
        assert.equal(fs.readFileSync(path.join(outside, 'victim.img'), 'utf8'), "not the session's\n", 'the file outside is untouched');
        assert.equal(fs.readFileSync(path.join(ws, 'later.img'), 'utf8'), "not the session's either\n", 'an image the runs have not opened is untouched');
        assert.equal(fs.statSync(path.join(ws, 'mine.img')).size, 4096, 'the image the session created is rebuilt for the replay');
        assert.match(dc.output(), /back\.visor:5.*outside the scenario's folder/);
      } finally {
        await dc.stop();
      }
    });
  });

  describe('finding 11: an image in use is locked', () => {
    it("a second run on an image another run is using gets a clear error; a killed run's lock is taken over", async () => {
      const f = scenario('hold.visor', `${HBA}disk 2:0 attach lun=0 image=shared.img size=64k\nwait 50ms\nwait 600s\nwait 600s\n`);
      const g = scenario('second.visor', `${HBA}disk 2:0 attach lun=0 image=shared.img size=64k\nwait 50ms\ndisk 2:0 write lun=0 lba=0 "second"\nwait 50ms\n`);
      const first = spawn(process.execPath, [CLI, 'run', f], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let seen = '';
        await new Promise<void>((resolve, reject) => {
          first.stdout.on('data', (d: Buffer) => {
            seen = (seen + d.toString()).slice(-100000);
            if (/LUN 0 attached/.test(seen)) resolve();
          });
          first.on('exit', () => reject(new Error('the first run ended early')));
        });
        const r = await runCli(['run', g]);
        assert.equal(r.code, 1);
        assert.match(
          r.out,
          new RegExp(
            `second\\.visor:4:1: error: disk attach: image \\S*shared\\.img is in use by another emulator \\(process ${first.pid}, since [^)]+\\); two runs writing one image would mix their writes`,
          ),
        );
        assert.doesNotMatch(r.out, /guest write of 1 sector\(s\) at LBA 0 on sd\w+ completed/, 'the second run wrote nothing');
      } finally {
        first.kill('SIGKILL');
        await new Promise((r) => (first.exitCode !== null || first.signalCode !== null ? r(undefined) : first.once('exit', r)));
      }
      const again = await runCli(['run', g]);
      assert.equal(again.code, 0, `the dead run's lock is stale: ${again.out.slice(-1500)}`);
      assert.match(again.out, /guest write of 1 sector\(s\) at LBA 0 on sd\w+ completed/);
    });
  });

  describe('finding 17: image sizes', () => {
    it('size past the limit is refused before anything is created, and no descriptor is left open', () => {
      const fdCount = () => fs.readdirSync('/proc/self/fd').length;
      const text = `${HBA}disk 2:0 attach lun=0 image=huge.img size=9007199254740991\ndisk 2:0 attach lun=1 image=ok.img size=4k\n`;
      const before = fdCount();
      const run = newRun(parseScenario(text, path.join(ws, 'size.visor')));
      run.runToEnd();
      run.emu.shutdown();
      assert.deepEqual(
        run.errors.map((e) => [e.line, e.message]),
        [[4, 'disk attach: size=9007199254740991 is too large (an image is at most 2 TiB)']],
      );
      assert.equal(fs.existsSync(path.join(ws, 'huge.img')), false, 'no 0-byte file is left behind');
      assert.equal(fs.statSync(path.join(ws, 'ok.img')).size, 4096);
      assert.equal(fdCount(), before, 'every image descriptor is closed');
    });
  });
});
