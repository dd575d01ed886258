/**
 * The debug adapter under attack: `visorbus-emu dap` over stdio and over TCP gets random
 * request sequences with malformed arguments, requests before initialize and after
 * disconnect, broken framing (bad JSON, `null`, missing or lying Content-Length), clients
 * that vanish mid-message and several clients at once. Every request gets a response (an
 * error response when it is bad), the process stays alive and keeps answering, and the TCP
 * port is bound to the loopback address only. Raw Content-Length framing throughout.
 */
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { SEED } from './support/harness';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'emulator.js');
/** A response must come within this (a failure guard, not a wait: answers come at once). */
const DEADLINE_MS = 15000;

interface Message {
  seq: number;
  type: string;
  command?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  event?: string;
  body?: unknown;
}

/** A DAP peer speaking raw Content-Length framing over any pair of streams. */
class RawDap {
  private seq = 1;
  private buf = Buffer.alloc(0);
  private waiters = new Map<number, (m: Message) => void>();
  private eventWaiters: { name: string; resolve: (m: Message) => void }[] = [];
  readonly events: Message[] = [];
  closed = false;
  readonly whenClosed: Promise<void>;

  constructor(
    input: Readable,
    private readonly output: Writable,
  ) {
    input.on('data', (d: Buffer) => this.onData(d));
    this.whenClosed = new Promise((resolve) => {
      const done = () => {
        this.closed = true;
        resolve();
      };
      input.on('close', done);
      input.on('end', done);
    });
    output.on('error', () => undefined);
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const i = this.buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buf.subarray(0, i).toString('latin1'));
      assert.ok(m, `the adapter sent a header without Content-Length: ${this.buf.subarray(0, i).toString()}`);
      const n = Number(m[1]);
      if (this.buf.length < i + 4 + n) return;
      const msg = JSON.parse(this.buf.subarray(i + 4, i + 4 + n).toString('utf8')) as Message;
      this.buf = this.buf.subarray(i + 4 + n);
      if (msg.type === 'response') {
        const w = this.waiters.get(msg.request_seq!);
        this.waiters.delete(msg.request_seq!);
        w?.(msg);
      } else if (msg.type === 'event') {
        if (this.events.length < 5000) this.events.push(msg);
        const hit = this.eventWaiters.filter((e) => e.name === msg.event);
        this.eventWaiters = this.eventWaiters.filter((e) => e.name !== msg.event);
        for (const h of hit) h.resolve(msg);
      }
    }
  }

  raw(data: string | Buffer): void {
    this.output.write(data);
  }

  frame(body: string): void {
    this.raw(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /** Send a request; resolves with its response. */
  request(command: unknown, args?: unknown): Promise<Message> {
    const seq = this.seq++;
    const p = new Promise<Message>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new Error(`no response to ${JSON.stringify(command)} (seq ${seq}) within ${DEADLINE_MS} ms`));
      }, DEADLINE_MS);
      t.unref(); // the adapter's pipes or socket keep the test alive while an answer can still come
      this.waiters.set(seq, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
    const msg: Record<string, unknown> = { seq, type: 'request', command };
    if (args !== undefined) msg.arguments = args;
    this.frame(JSON.stringify(msg));
    return p;
  }

  event(name: string): Promise<Message> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no '${name}' event within ${DEADLINE_MS} ms`)), DEADLINE_MS);
      t.unref();
      this.eventWaiters.push({
        name,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }
}

/**
 * Requests the adapter answered with "internal error in the debug adapter" (an exception it
 * did not expect, turned into an error response): contained, but a missing argument check.
 */
export const internalErrors = new Map<string, string>();

/** Every response says success or gives a message. */
function checkResponse(r: Message, command: unknown, args?: unknown): void {
  assert.equal(r.type, 'response');
  if (typeof command === 'string') assert.equal(r.command, command);
  assert.equal(typeof r.success, 'boolean');
  if (!r.success) assert.ok(typeof r.message === 'string' && r.message.length > 0, `a failed ${JSON.stringify(command)} says why`);
  if (!r.success && /internal error/.test(r.message!)) {
    const key = `${String(command)}: ${r.message!.replace(/\d+/g, 'N').slice(0, 160)}`;
    if (!internalErrors.has(key)) internalErrors.set(key, JSON.stringify(args)?.slice(0, 200) ?? '');
  }
}

// ---- generators -------------------------------------------------------------------------------

const REQUESTS = [
  'threads',
  'stackTrace',
  'scopes',
  'variables',
  'setVariable',
  'setExpression',
  'evaluate',
  'completions',
  'exceptionInfo',
  'loadedSources',
  'readMemory',
  'writeMemory',
  'setBreakpoints',
  'setFunctionBreakpoints',
  'setExceptionBreakpoints',
  'breakpointLocations',
  'dataBreakpointInfo',
  'setDataBreakpoints',
  'continue',
  'next',
  'stepIn',
  'stepOut',
  'stepBack',
  'reverseContinue',
  'pause',
  'source',
  'cancel',
  'configurationDone',
  'initialize',
  'launch',
  'attach',
  'goto',
  'gotoTargets',
  'stepInTargets',
  'modules',
  'runInTerminal',
  'visorbus/topology',
  'visorbus/devices',
  'visorbus/sysfs',
  'visorbus/sysfsWrite',
  'visorbus/channel',
  'visorbus/deviceAction',
  'visorbus/nosuch',
];

const odd = fc.constantFrom(
  -1,
  0,
  1,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  1.5,
  '',
  '0x10000000',
  '0xffffffffffffffff',
  'NaN',
  null,
  true,
  [],
  {},
  '2:0',
  'controlvm',
  '../../etc/passwd',
);
const argsArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        threadId: odd,
        frameId: odd,
        variablesReference: odd,
        levels: odd,
        startFrame: odd,
        name: fc.oneof(fc.string(), odd),
        value: fc.oneof(fc.string(), odd),
        expression: fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constantFrom('bus', 'queue[0].head', '2:0.queue[99].tail', '1/0', 'x'.repeat(5000), '(((((((', '$', 'channel.header.size = 5'),
        ),
        context: fc.constantFrom('watch', 'repl', 'hover', 'clipboard', 'variables', 'nonsense'),
        memoryReference: fc.oneof(fc.string(), odd, fc.constantFrom('0x10000000', '0xf000000', '0x0', '0x200000000')),
        offset: odd,
        count: fc.oneof(odd, fc.constantFrom(16, 4096, 1 << 20, 2 ** 31, 2 ** 40)),
        data: fc.oneof(fc.base64String({ maxLength: 64 }), fc.string(), odd),
        source: fc.oneof(odd, fc.record({ path: fc.oneof(fc.string(), odd), sourceReference: odd }, { requiredKeys: [] })),
        sourceReference: odd,
        breakpoints: fc.oneof(
          odd,
          fc.array(
            fc.oneof(
              odd,
              fc.record(
                {
                  line: odd,
                  condition: fc.oneof(fc.string(), odd),
                  hitCondition: fc.oneof(fc.string(), odd),
                  logMessage: fc.oneof(fc.string(), odd),
                  name: fc.oneof(fc.string(), odd),
                  dataId: fc.oneof(fc.string(), odd),
                  accessType: fc.oneof(fc.string(), odd),
                },
                { requiredKeys: [] },
              ),
            ),
            { maxLength: 4 },
          ),
        ),
        lines: fc.oneof(odd, fc.array(odd, { maxLength: 4 })),
        filters: fc.oneof(odd, fc.array(fc.oneof(fc.string(), odd), { maxLength: 3 })),
        filterOptions: fc.oneof(odd, fc.array(fc.record({ filterId: fc.oneof(fc.string(), odd), condition: fc.oneof(fc.string(), odd) }), { maxLength: 2 })),
        granularity: fc.oneof(odd, fc.constantFrom('statement', 'line', 'instruction')),
        device: fc.oneof(odd, fc.constantFrom('2:0', '1:1', 'controlvm', '9:9', 'vbus2:dev0')),
        action: fc.oneof(odd, fc.constantFrom('pause', 'resume', 'destroy', 'explode')),
        path: fc.oneof(odd, fc.constantFrom('/sys/bus/visorbus/devices', '/sys/devices/platform/visorchipset/install/textid', '/sys/../../etc')),
        scenario: fc.oneof(odd, fc.constantFrom('/nonexistent.visor', os.tmpdir())),
        adapterID: odd,
        pathFormat: fc.oneof(odd, fc.constantFrom('uri', 'path')),
        text: fc.oneof(fc.string(), odd),
        column: odd,
        line: odd,
        targetId: odd,
        offsetBytes: odd,
      },
      { requiredKeys: [] },
    ),
  },
);
const commandArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...REQUESTS) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', '__proto__', 'constructor', 'toString', 'hasOwnProperty')) },
  { weight: 1, arbitrary: odd },
);

/** Framing the adapter must survive without losing the next good message. */
const MALFORMED: (string | Buffer)[] = [
  'Content-Length: 5\r\n\r\n{bad}',
  'Content-Length: 4\r\n\r\nnull',
  'Content-Length: 2\r\n\r\n[]',
  'Content-Length: 2\r\n\r\n42',
  'Content-Length: 7\r\n\r\n"hello"',
  'Content-Length: 2\r\n\r\n{}',
  'Content-Length: 26\r\n\r\n{"type":"request","seq":1}',
  'Content-Length: 38\r\n\r\n{"type":"response","request_seq":9999}',
  'Content-Length: 31\r\n\r\n{"type":"event","event":"boom"}',
  'Content-Length: 0\r\n\r\n',
  'X-Whatever: 1\r\nContent-Length: 2\r\n\r\n{}',
  'garbage without a header\r\n\r\n',
  Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
  'Content-Length: 10\r\n\r\n\u00e9\u00e9\u00e9\u00e9\u00e9',
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function startAdapter(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'dap', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, stderr: () => err };
}

function waitFor(predicate: () => boolean, what: string, emitter: NodeJS.EventEmitter, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const t = setTimeout(() => reject(new Error(`${what} did not happen within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    const on = () => {
      if (!predicate()) return;
      clearTimeout(t);
      emitter.off(event, on);
      resolve();
    };
    emitter.on(event, on);
  });
}

function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Connect and initialize; while the server still finishes a previous client it answers "busy": ask again. */
async function initializedClient(port: number, attempts = 100): Promise<{ socket: net.Socket; dap: RawDap }> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    const socket = await connect(port);
    const dap = new RawDap(socket, socket);
    const r = await dap.request('initialize', { adapterID: 'visorbus' });
    if (r.success) return { socket, dap };
    last = r.message ?? '';
    assert.match(last, /already serving a debug client/, 'the only refusal is "busy"');
    socket.destroy();
    await dap.whenClosed;
  }
  throw new Error(`the server kept refusing new clients: ${last}`);
}

/** Random requests, one after the other; each must be answered. */
async function barrage(dap: RawDap, runs: number, seed: number): Promise<number> {
  let failed = 0;
  await fc.assert(
    fc.asyncProperty(commandArb, argsArb, async (command, args) => {
      const r = await dap.request(command, args);
      checkResponse(r, command, args);
      if (!r.success) failed++;
    }),
    { seed, numRuns: runs },
  );
  // Contained, but each one is an argument the adapter forgot to check.
  assert.deepEqual(
    [...internalErrors.entries()].map(([k, v]) => `${k} <- ${v}`),
    [],
    'requests answered with "internal error in the debug adapter"',
  );
  return failed;
}

describe('robust: debug adapter', function () {
  this.timeout(150000);
  let tmp: string;
  let scenario: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-dap-'));
    scenario = path.join(tmp, 'dap.visor');
    fs.writeFileSync(scenario, fs.readFileSync(path.join(ROOT, 'scenarios', 'default.visor'), 'utf8').replace(/image=\S+/g, 'image=dap.img'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const [k, v] of internalErrors) process.stdout.write(`      internal error: ${k}  <- ${v}\n`);
  });

  it('stdio: requests before initialize, broken framing, random requests before and after launch, then a clean exit on disconnect', async () => {
    const { child, stderr } = startAdapter([]);
    const dap = new RawDap(child.stdout!, child.stdin!);
    try {
      for (const c of ['threads', 'launch', 'evaluate', 'readMemory', 'visorbus/topology', 'disconnect', 'nosuch']) {
        const r = await dap.request(c, { scenario, expression: 'bus' });
        checkResponse(r, c);
        assert.equal(r.success, false, `${c} before initialize is refused`);
      }
      for (const m of MALFORMED) dap.raw(m);
      const init = await dap.request('initialize', { adapterID: 'visorbus', linesStartAt1: true, columnsStartAt1: true, supportsMemoryEvent: true });
      assert.equal(init.success, true, 'the stream is still in step after the malformed frames');
      assert.ok(
        dap.events.some((e) => e.event === 'output' && /malformed DAP message/.test(String((e.body as { output?: string })?.output))),
        'malformed frames are reported',
      );
      await barrage(dap, 250, SEED);
      const launch = await dap.request('launch', { scenario, stopOnEntry: true });
      assert.equal(launch.success, true, launch.message);
      await dap.event('initialized');
      checkResponse(await dap.request('configurationDone'), 'configurationDone');
      await dap.event('stopped');
      await barrage(dap, 400, SEED + 1);
      for (const m of MALFORMED) dap.raw(m);
      const threads = await dap.request('threads');
      assert.equal(threads.success, true, 'still answering after more malformed frames');
      assert.equal(child.exitCode, null, 'the adapter is alive');
      const bye = await dap.request('disconnect', { terminateDebuggee: true });
      checkResponse(bye, 'disconnect');
      // After disconnect a stdio adapter ends; a request that still reaches it gets an answer or the process ends first.
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      const late = await Promise.race([dap.request('threads').catch(() => undefined), exited.then(() => undefined)]);
      if (late) checkResponse(late, 'threads');
      await exited;
      assert.equal(child.exitCode, 0, `a clean exit after disconnect: ${stderr().slice(-1000)}`);
      assert.doesNotMatch(stderr(), /TypeError|ReferenceError|at .*\.js:\d+/, 'no stack trace on stderr');
    } finally {
      child.kill('SIGKILL');
    }
  });

  describe('TCP', () => {
    let port: number;
    let server: ChildProcess;
    let stderr: () => string;
    let token: string;

    before(async () => {
      port = await freePort();
      ({ child: server, stderr } = startAdapter(['--port', String(port)]));
      await waitFor(
        () => stderr().includes(`listening on 127.0.0.1:${port}`) && /token [0-9a-f]+/.test(stderr()),
        'the server announcing its port and token',
        server.stderr!,
        'data',
      );
      token = /token ([0-9a-f]+)/.exec(stderr())![1];
    });
    after(() => {
      server.kill('SIGKILL');
    });

    it('listens on the loopback address only', async () => {
      const tables = ['/proc/net/tcp', '/proc/net/tcp6'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
      if (tables.length) {
        const hex = port.toString(16).toUpperCase().padStart(4, '0');
        const listening = tables
          .flatMap((t) => t.split('\n').slice(1))
          .map((l) => l.trim().split(/\s+/))
          .filter((c) => c[1]?.endsWith(`:${hex}`) && c[3] === '0A');
        assert.ok(listening.length >= 1, 'the listening socket is in /proc/net/tcp');
        for (const c of listening) assert.equal(c[1], `0100007F:${hex}`, `bound to 127.0.0.1 only, not ${c[1]}`);
      }
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal);
      if (external) await assert.rejects(connect(port, external.address), /ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT/, `not reachable on ${external.address}`);
    });

    it('random requests, broken framing, concurrent clients, a client vanishing mid-message: every request answered, the server stays up', async () => {
      const a = await connect(port);
      const dapA = new RawDap(a, a);
      checkResponse(await dapA.request('threads'), 'threads');
      assert.equal((await dapA.request('initialize', { adapterID: 'visorbus' })).success, true);
      for (const m of MALFORMED) dapA.raw(m);
      const launch = await dapA.request('launch', { scenario, stopOnEntry: true, token });
      assert.equal(launch.success, true, launch.message);
      // Five more clients at once while A is served: each is refused with a clear error.
      const others = await Promise.all(Array.from({ length: 5 }, () => connect(port)));
      const answers = await Promise.all(others.map((s) => new RawDap(s, s).request('initialize', { adapterID: 'visorbus' })));
      for (const r of answers) {
        assert.equal(r.success, false);
        assert.match(r.message!, /already serving a debug client/);
      }
      for (const s of others) s.destroy();
      checkResponse(await dapA.request('configurationDone'), 'configurationDone');
      await dapA.event('stopped');
      await barrage(dapA, 400, SEED + 2);
      // A vanishes in the middle of a frame.
      dapA.raw('Content-Length: 500\r\n\r\n{"seq":1,"type":"request","command":"thr');
      a.destroy();
      await dapA.whenClosed;
      // The server takes the next client, which gets a full session. (The server may see the new
      // connection before the old one's close: then it says it is busy, and the client asks again.)
      const { socket: b, dap: dapB } = await initializedClient(port);
      assert.equal((await dapB.request('launch', { scenario, stopOnEntry: false, token })).success, true);
      checkResponse(await dapB.request('configurationDone'), 'configurationDone');
      await barrage(dapB, 150, SEED + 3);
      checkResponse(await dapB.request('disconnect', { terminateDebuggee: true }), 'disconnect');
      // After disconnect: whatever B still sends is answered with an error, or the connection is closed.
      if (!dapB.closed) {
        const late = await Promise.race([dapB.request('threads'), dapB.whenClosed.then(() => undefined)]);
        if (late) checkResponse(late, 'threads');
      }
      b.destroy();
      const { socket: c, dap: dapC } = await initializedClient(port);
      checkResponse(await dapC.request('disconnect'), 'disconnect');
      c.destroy();
      assert.equal(server.exitCode, null, `the server is alive: ${stderr().slice(-1000)}`);
      assert.doesNotMatch(stderr(), /TypeError|ReferenceError|Unhandled|at .*\.js:\d+/, 'no stack trace on stderr');
    });
  });
});
