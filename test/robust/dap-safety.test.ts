/**
 * The debug adapter as an attacker on the same machine sees it, and as a careless client
 * drives it (issue 16, findings 3, 4, 5, 7, 12, 14, 15, 16): `dap --port N` serves only a
 * client that gives the token it printed; `source` serves only the session's own files,
 * regular files, bounded, and refuses /etc/shadow, /dev/zero and a FIFO at once; guest
 * values and requests that would make the adapter's work or memory unbounded are bounded
 * (peak resident memory measured from /proc, under 500 MB); bad flags exit non-zero; deep
 * expressions, unknown threads and huge DAP messages get errors, never a stack trace.
 */
import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { VisorClient, freePort, printedToken } from '../dap/helpers/client';
import { CLI, peakRssMiB, runCli } from './support/proc';

const RSS_LIMIT_MIB = 500;
const VHBA_MAX = { max_id: 396, max_lun: 400 };

/** One raw DAP connection (Content-Length framing), for what the test client cannot send. */
class Raw {
  private seq = 1;
  private buf = Buffer.alloc(0);
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  readonly events: Record<string, unknown>[] = [];
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static connect(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  private data(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const i = this.buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const n = Number(/Content-Length: (\d+)/.exec(this.buf.subarray(0, i).toString())![1]);
      if (this.buf.length < i + 4 + n) return;
      const m = JSON.parse(this.buf.subarray(i + 4, i + 4 + n).toString()) as Record<string, unknown>;
      this.buf = this.buf.subarray(i + 4 + n);
      if (m.type === 'response') this.waiting.get(m.request_seq as number)?.(m);
      else this.events.push(m);
    }
  }

  request(command: string, args?: unknown, timeoutMs = 15000): Promise<Record<string, unknown>> {
    const seq = this.seq++;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${command} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(seq, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
}

/** Device 2:0 (the vhba) as the views see it. */
async function vhba(dc: VisorClient): Promise<{ id: string; physaddr: number }> {
  const r = (await dc.customRequest('visorbus/devices', { bus: 2 })) as DebugProtocol.Response;
  return (r.body as { devices: { id: string; physaddr: number }[] }).devices.find((x) => x.id === '2:0')!;
}

function startServer(port: number, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; token: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'dap', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server printed no token within 15 s: ${err}`));
    }, 15000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const token = printedToken(err);
      if (token && err.includes(`listening on 127.0.0.1:${port}`)) {
        clearTimeout(t);
        resolve({ child, token, stderr: () => err });
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${err}`)));
  });
}

describe('robust: the debug adapter is safe to expose', function () {
  this.timeout(120000);
  let tmp: string;
  let scenario: string;
  const servers: ChildProcess[] = [];
  const clients: VisorClient[] = [];

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-dapsafe-'));
    scenario = path.join(tmp, 'safe.visor');
    fs.writeFileSync(scenario, 'chipset init\nbus create 2 name=io\ndevice create 2:0 type=vhba\nwait 10ms\nwait 10ms\nwait 10ms\n');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.stop();
    for (const s of servers.splice(0)) s.kill('SIGKILL');
  });

  async function stdioClient(): Promise<VisorClient> {
    const c = new VisorClient();
    clients.push(c);
    await c.start();
    return c;
  }

  describe('finding 3: dap --port requires the token it printed', () => {
    it('a client without the token, or with a wrong one, is refused and disconnected; with it, it is served', async () => {
      const port = await freePort();
      const srv = await startServer(port);
      servers.push(srv.child);
      assert.match(srv.token, /^[0-9a-f]{32}$/, 'a 128-bit random token');
      for (const token of [undefined, 'wrong', srv.token.slice(0, -1) + (srv.token.endsWith('0') ? '1' : '0')]) {
        const c = await Raw.connect(port);
        assert.equal((await c.request('initialize', { adapterID: 'visorbus' })).success, true);
        const early = await c.request('threads');
        assert.equal(early.success, false, 'nothing is served before the token');
        assert.match(String(early.message), /before launch or attach: this visorbus-emu server on port \d+ serves a client once it gives its token/);
        const r = await c.request('launch', { scenario, token, drivers: [] });
        assert.equal(r.success, false);
        assert.match(String(r.message), token === undefined ? /refused this client: no token given/ : /refused this client: wrong token/);
        await c.closed; // the server hangs up
      }
      const ok = await Raw.connect(port);
      assert.equal((await ok.request('initialize', { adapterID: 'visorbus' })).success, true);
      const launch = await ok.request('launch', { scenario, token: srv.token, stopOnEntry: true });
      assert.equal(launch.success, true, String(launch.message));
      assert.equal((await ok.request('configurationDone')).success, true);
      assert.equal((await ok.request('threads')).success, true);
      ok.socket.destroy();
      assert.doesNotMatch(srv.stderr(), /at .*\.js:\d+/);
    });

    it('VISORBUS_DAP_TOKEN chooses the token; a short one is refused', async () => {
      const port = await freePort();
      const srv = await startServer(port, { ...process.env, VISORBUS_DAP_TOKEN: 'my-own-token-0123456789' });
      servers.push(srv.child);
      assert.equal(srv.token, 'my-own-token-0123456789', 'printed as given');
      const short = await runCli(['dap', '--port', String(await freePort())], { env: { ...process.env, VISORBUS_DAP_TOKEN: 'short' } });
      assert.equal(short.code, 1);
      assert.match(short.err, /VISORBUS_DAP_TOKEN must be at least 16 characters/);
    });
  });

  describe("findings 3 and 4: source serves only the session's own files", () => {
    it('/etc/shadow, /dev/zero, a FIFO and a file outside are refused at once; the scenario is served', async () => {
      const dc = await stdioClient();
      await dc.launchWith({ scenario, stopOnEntry: true });
      await dc.stopped();
      const secret = path.join(tmp, 'secret.txt');
      fs.writeFileSync(secret, 'top secret\n');
      const fifo = path.join(tmp, 'fifo');
      execFileSync('mkfifo', [fifo]);
      for (const p of ['/etc/shadow', '/dev/zero', fifo, secret, '/proc/self/environ', path.join(tmp, '..', path.basename(tmp), 'secret.txt')]) {
        const t0 = Date.now();
        const msg = await dc.failing(dc.sourceRequest({ source: { path: p }, sourceReference: 0 }));
        const ms = Date.now() - t0;
        assert.match(msg, /is not a source of this session/, p);
        assert.ok(ms < 5000, `${p} answered in ${ms} ms`);
        process.stdout.write(`      source ${p}: refused in ${ms} ms\n`);
      }
      const ok = await dc.sourceRequest({ source: { path: scenario }, sourceReference: 0 });
      assert.match(ok.body.content, /^chipset init/);
      // Still alive and answering, and small.
      assert.equal((await dc.threadsRequest()).success, true);
      const rss = peakRssMiB(dc.adapterPid!)!;
      process.stdout.write(`      adapter peak RSS after the source requests: ${rss.toFixed(0)} MiB\n`);
      assert.ok(rss < RSS_LIMIT_MIB, `${rss} MiB`);
    });
  });

  describe('finding 5: vhba.max limits from guest memory bound the scan', () => {
    for (const field of ['max_id', 'max_lun'] as const) {
      it(`writeMemory ${field} = 0xffffffff before probe: the scan stops at the emulator's limit and says so (peak RSS < ${RSS_LIMIT_MIB} MB)`, async () => {
        const f = path.join(tmp, `scan-${field}.visor`);
        // max_lun matters when REPORT LUNS fails: a target with no LUN 0 disk makes the guest scan LUNs one by one.
        fs.writeFileSync(
          f,
          `chipset init\nautoload off\nbus create 2 name=io\ndevice create 2:0 type=vhba\ndisk 2:0 attach lun=0 image=scan.img size=64k\ndriver load visorhba\nwait 2s\nwait 2s\n`,
        );
        const dc = await stdioClient();
        await dc.launchWith({ scenario: f, stopOnEntry: true, stopAtEnd: false }, () =>
          dc.setBreakpointsRequest({ source: { path: f }, breakpoints: [{ line: 6 }] }),
        );
        await dc.stopped();
        await dc.continueRequest({ threadId: 1 });
        assert.equal((await dc.stopped()).body.reason, 'breakpoint');
        const d = await vhba(dc);
        const w = (await dc.customRequest('writeMemory', {
          memoryReference: `0x${(d.physaddr + VHBA_MAX[field]).toString(16)}`,
          data: Buffer.from([0xff, 0xff, 0xff, 0xff]).toString('base64'),
        })) as DebugProtocol.WriteMemoryResponse;
        assert.equal(w.body?.bytesWritten, 4);
        await dc.continueRequest({ threadId: 1 });
        await dc.next('terminated', () => true, 90000);
        const out = dc.output();
        assert.match(out, field === 'max_id' ? /max_id 4294967295: scanning targets 0…255 only \(the emulator's limit\)/ : /Attached SCSI disk/);
        const rss = peakRssMiB(dc.adapterPid!)!;
        process.stdout.write(`      ${field}=0xffffffff: adapter peak RSS ${rss.toFixed(0)} MiB\n`);
        assert.ok(rss < RSS_LIMIT_MIB, `${rss} MiB`);
      });
    }
  });

  describe('finding 7: the step-back journal keeps memory writes compactly and bounded', () => {
    it(`600 writeMemory of 128 KiB while stopped, then a step back (peak RSS < ${RSS_LIMIT_MIB} MB)`, async () => {
      const dc = await stdioClient();
      await dc.launchWith({ scenario, stopOnEntry: true }, () => dc.setBreakpointsRequest({ source: { path: scenario }, breakpoints: [{ line: 5 }] }));
      await dc.stopped();
      await dc.continueRequest({ threadId: 1 });
      await dc.stopped();
      const d = await vhba(dc);
      const data = Buffer.alloc(128 * 1024);
      for (let i = 0; i < 600; i++) {
        data.fill(i & 0xff);
        const r = (await dc.customRequest('writeMemory', {
          memoryReference: `0x${(d.physaddr + 4096).toString(16)}`,
          data: data.toString('base64'),
        })) as DebugProtocol.WriteMemoryResponse;
        assert.equal(r.success, true);
      }
      // Forward one line, then back: the replay repeats the journaled writes where they were made.
      await dc.nextRequest({ threadId: 1 });
      await dc.stopped();
      await dc.stepBackRequest({ threadId: 1 });
      await dc.stopped();
      const back = await dc.read(`0x${(d.physaddr + 4096).toString(16)}`, 0, 16);
      assert.equal(back.data[0], 599 & 0xff, 'the replay repeated the last write');
      const rss = peakRssMiB(dc.adapterPid!)!;
      process.stdout.write(`      600 x 128 KiB writeMemory: adapter peak RSS ${rss.toFixed(0)} MiB\n`);
      assert.ok(rss < RSS_LIMIT_MIB, `${rss} MiB`);
    });
  });

  describe('finding 12: bad dap flags exit non-zero', () => {
    it('--port 0, --port 70000 and a port in use', async () => {
      for (const p of ['0', '70000', 'x']) {
        const r = await runCli(['dap', '--port', p]);
        assert.equal(r.code, 2, `--port ${p}`);
        assert.match(r.err, /--port must be a whole number from 1 to 65535/);
        assert.doesNotMatch(r.err, /internal error/);
      }
      const busy = net.createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (busy.address() as net.AddressInfo).port;
        const r = await runCli(['dap', '--port', String(port)]);
        assert.equal(r.code, 1);
        assert.match(r.err, new RegExp(`cannot serve DAP on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`));
      } finally {
        busy.close();
      }
    });
  });

  describe('findings 14 and 15: errors, never stacks or invented frames', () => {
    it('deeply nested expressions are refused with a located error; unknown threads get an error', async () => {
      const dc = await stdioClient();
      await dc.launchWith({ scenario, stopOnEntry: true });
      const st = await dc.stopped();
      for (const e of ['('.repeat(20000) + '1' + ')'.repeat(20000), '!'.repeat(100000) + '1', '-'.repeat(300) + '1']) {
        const msg = await dc.failing(dc.evaluateRequest({ expression: e, context: 'repl', frameId: (await dc.topFrame(st.body.threadId!)).id }));
        assert.match(msg, /too long|nested too deeply/, msg.slice(0, 200));
        assert.doesNotMatch(msg, /Maximum call stack|internal error|\n\s+at /);
      }
      for (const threadId of ['x', 1.5, 999, null, -1]) {
        const msg = await dc.failing(dc.customRequest('stackTrace', { threadId }));
        assert.match(msg, /stackTrace: unknown thread/, JSON.stringify(threadId));
      }
    });
  });

  describe('finding 16: DAP messages have a maximum size', () => {
    it(`a 64 MB message is skipped and reported, the next request is answered at once (peak RSS < ${RSS_LIMIT_MIB} MB)`, async () => {
      const port = await freePort();
      const srv = await startServer(port);
      servers.push(srv.child);
      const c = await Raw.connect(port);
      assert.equal((await c.request('initialize', { adapterID: 'visorbus' })).success, true);
      const size = 64 * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      c.socket.write(`Content-Length: ${size}\r\n\r\n`);
      for (let i = 0; i < size / chunk.length; i++) {
        if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once('drain', r));
      }
      const t0 = Date.now();
      const r = await c.request('threads', undefined, 30000);
      process.stdout.write(`      answered ${Date.now() - t0} ms after the 64 MB message was sent\n`);
      assert.equal(r.command, 'threads');
      assert.ok(
        c.events.some((e) =>
          /ignored a DAP message of 67108864 bytes \(a message is at most 16777216 bytes\)/.test(String((e.body as { output?: string })?.output)),
        ),
        'reported',
      );
      const rss = peakRssMiB(srv.child.pid!)!;
      process.stdout.write(`      64 MB DAP message: adapter peak RSS ${rss.toFixed(0)} MiB\n`);
      assert.ok(rss < RSS_LIMIT_MIB, `${rss} MiB`);
      c.socket.destroy();
    });
  });
});
