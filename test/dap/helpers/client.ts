/**
 * The DAP tests' client: @vscode/debugadapter-testsupport's DebugClient talking to the
 * adapter as a separate process (`node dist/emulator.js dap`, over stdio or TCP). Every
 * message the adapter sends is checked against the protocol schema, and every event is
 * kept, so a test waits for "the next stopped event" without racing the adapter.
 */
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { validateMessage } from './schema';

export const ROOT = path.resolve(__dirname, '../../../..');
export const ADAPTER = path.join(ROOT, 'dist', 'emulator.js');
export const FIXTURES = path.join(ROOT, 'test', 'dap', 'fixtures');
/** Fixture drivers written in TypeScript are compiled by `tsc -p . --outDir out`. */
export const COMPILED_FIXTURES = path.join(ROOT, 'out', 'test', 'dap', 'fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

type Ev = DebugProtocol.Event;

export class VisorClient extends DebugClient {
  readonly schemaErrors: string[] = [];
  readonly received: Ev[] = [];
  readonly responses: DebugProtocol.Response[] = [];
  private readonly consumed = new Set<Ev>();
  private waiters: { type: string; pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  private proc: cp.ChildProcess | undefined;
  stderr = '';

  /** The stdio adapter's process id. */
  get adapterPid(): number | undefined {
    return this.proc?.pid;
  }

  constructor() {
    super('node', ADAPTER, 'visorbus');
    // Look at every message the adapter sends before the DebugClient does.
    const self = this as unknown as { dispatch(body: string): void };
    const original = self.dispatch.bind(this);
    self.dispatch = (body: string) => {
      const msg = JSON.parse(body) as Record<string, unknown>;
      for (const p of validateMessage(msg)) this.schemaErrors.push(p);
      if (msg.type === 'event') this.record(msg as unknown as Ev);
      if (msg.type === 'response') this.responses.push(msg as unknown as DebugProtocol.Response);
      original(body);
    };
  }

  private record(e: Ev): void {
    this.received.push(e);
    const i = this.waiters.findIndex((w) => w.type === e.event && w.pred(e));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      this.consumed.add(e);
      w.resolve(e);
    }
  }

  /** The token of the TCP server this client talks to (given with launch and attach). */
  token: string | undefined;

  /** Over stdio: the adapter as a child process, `node dist/emulator.js dap`. Over TCP: the server's token goes with launch/attach. */
  override start(port?: number): Promise<void> {
    if (port !== undefined) {
      this.token = serverTokens.get(port);
      return super.start(port);
    }
    this.proc = cp.spawn(process.execPath, [ADAPTER, 'dap'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    (this as unknown as { connect(r: NodeJS.ReadableStream, w: NodeJS.WritableStream): void }).connect(this.proc.stdout!, this.proc.stdin!);
    return Promise.resolve();
  }

  override launchRequest(args: DebugProtocol.LaunchRequestArguments): Promise<DebugProtocol.LaunchResponse> {
    return super.launchRequest(this.token !== undefined ? ({ token: this.token, ...args } as DebugProtocol.LaunchRequestArguments) : args);
  }

  override attachRequest(args: DebugProtocol.AttachRequestArguments): Promise<DebugProtocol.AttachResponse> {
    return super.attachRequest(this.token !== undefined ? ({ token: this.token, ...args } as DebugProtocol.AttachRequestArguments) : args);
  }

  private disconnected = false;

  override disconnectRequest(args?: DebugProtocol.DisconnectArguments): Promise<DebugProtocol.DisconnectResponse> {
    this.disconnected = true;
    return super.disconnectRequest(args);
  }

  override async stop(): Promise<void> {
    const sock = (this as unknown as { _socket?: net.Socket })._socket;
    if (!this.disconnected && !sock?.destroyed) {
      try {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.disconnectRequest({ terminateDebuggee: true }), new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
      } catch {
        /* already gone */
      }
    }
    if (this.proc && this.proc.exitCode === null) this.proc.kill();
    sock?.end();
  }

  /** The next event of a type (optionally matching), whether it already arrived or not. */
  next(type: string, pred: (e: Ev) => boolean = () => true, timeoutMs = 15000): Promise<Ev> {
    const have = this.received.find((e) => e.event === type && !this.consumed.has(e) && pred(e));
    if (have) {
      this.consumed.add(have);
      return Promise.resolve(have);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        const seen = this.received.filter((e) => e.event === type).map((e) => JSON.stringify(e.body).slice(0, 200));
        reject(new Error(`no '${type}' event within ${timeoutMs} ms; received: ${seen.join(' | ') || 'none'}`));
      }, timeoutMs);
      const w = {
        type,
        pred,
        resolve: (e: Ev) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(w);
    });
  }

  stopped(timeoutMs?: number): Promise<DebugProtocol.StoppedEvent> {
    return this.next('stopped', () => true, timeoutMs) as Promise<DebugProtocol.StoppedEvent>;
  }

  /** Drop events received so far (for "what comes after this step"). */
  forgetEvents(): void {
    for (const e of this.received) this.consumed.add(e);
  }

  /** All output text so far. */
  output(category?: string): string {
    return this.received
      .filter((e) => e.event === 'output' && (!category || (e.body as DebugProtocol.OutputEvent['body']).category === category))
      .map((e) => (e.body as DebugProtocol.OutputEvent['body']).output)
      .join('');
  }

  /** Wait until some output matches. */
  async outputMatching(re: RegExp, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = this.output();
      if (re.test(all)) return all;
      if (Date.now() > deadline) throw new Error(`no output matching ${re} within ${timeoutMs} ms; output was:\n${all}`);
      await this.next('output', () => true, Math.max(1, deadline - Date.now())).catch(() => undefined);
    }
  }

  /**
   * initialize, launch, then (on `initialized`) the breakpoint setup, then
   * configurationDone. Resolves with the first stop when `expectStop`.
   */
  async launchWith(args: Record<string, unknown>, setup?: () => Promise<unknown>): Promise<void> {
    await this.initializeRequest({
      adapterID: 'visorbus',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
      supportsMemoryEvent: true,
      supportsInvalidatedEvent: true,
      supportsProgressReporting: true,
      supportsVariableType: true,
    });
    await this.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    await this.next('initialized');
    if (setup) await setup();
    await this.configurationDoneRequest();
  }

  async frames(threadId: number): Promise<DebugProtocol.StackFrame[]> {
    const r = await this.stackTraceRequest({ threadId });
    return r.body.stackFrames;
  }

  /** Step over one line of thread 1; the scenario line it stopped at. */
  async nextLine(): Promise<number> {
    await this.nextRequest({ threadId: 1 });
    await this.stopped();
    return (await this.topFrame(1)).line;
  }

  /** Step back on thread 1; the stop's reason and the line it stopped at. */
  async backLine(): Promise<{ reason: string; line: number }> {
    await this.stepBackRequest({ threadId: 1 });
    const s = await this.stopped();
    return { reason: s.body.reason, line: (await this.topFrame(1)).line };
  }

  async topFrame(threadId: number): Promise<DebugProtocol.StackFrame> {
    return (await this.frames(threadId))[0];
  }

  async scopeVars(frameId: number, scopeName: RegExp): Promise<DebugProtocol.Variable[]> {
    const scopes = (await this.scopesRequest({ frameId })).body.scopes;
    const s = scopes.find((x) => scopeName.test(x.name));
    assert.ok(s, `no scope ${scopeName} in ${scopes.map((x) => x.name).join(', ')}`);
    return (await this.variablesRequest({ variablesReference: s.variablesReference })).body.variables;
  }

  async children(v: DebugProtocol.Variable): Promise<DebugProtocol.Variable[]> {
    assert.ok(v.variablesReference > 0, `${v.name} has no children`);
    return (await this.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
  }

  async read(memoryReference: string, offset: number, count: number): Promise<{ address: string; data: Buffer; unreadable: number }> {
    const r = (await this.customRequest('readMemory', { memoryReference, offset, count })) as DebugProtocol.ReadMemoryResponse;
    return { address: r.body!.address, data: Buffer.from(r.body!.data ?? '', 'base64'), unreadable: r.body!.unreadableBytes ?? 0 };
  }

  async evaluate(expression: string, frameId?: number, context = 'repl'): Promise<DebugProtocol.EvaluateResponse['body']> {
    return (await this.evaluateRequest({ expression, frameId, context })).body;
  }

  async custom<T = Record<string, unknown>>(command: string, args: unknown): Promise<T> {
    return (await this.customRequest(command, args)).body as T;
  }

  /** A request that must fail; returns its error message. */
  async failing(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail('the request succeeded but should have failed');
  }

  /** The last response to a command (to look at error details such as showUser). */
  lastResponse(command: string): DebugProtocol.Response | undefined {
    return [...this.responses].reverse().find((r) => r.command === command);
  }

  assertSchema(): void {
    assert.deepEqual(this.schemaErrors, [], 'every adapter message conforms to the DAP schema');
  }
}

/** 1-based line of the first line containing `needle`. */
export function lineOf(file: string, needle: string): number {
  const i = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return i + 1;
}

export function sha(buf: Buffer): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The token each TCP server printed, by port. */
const serverTokens = new Map<number, string>();

/** The token line `visorbus-emu dap --port N` prints on stderr. */
export function printedToken(stderr: string): string | undefined {
  return /^visorbus-emu: token (\S+) /m.exec(stderr)?.[1];
}

/** `node dist/emulator.js dap --port N`; resolves once it listens and has printed its token. */
export function startServer(port: number): Promise<cp.ChildProcess & { token: string }> {
  return new Promise((resolve, reject) => {
    const p = cp.spawn(process.execPath, [ADAPTER, 'dap', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const token = printedToken(err);
      if (/listening on 127\.0\.0\.1:/.test(err) && token) {
        serverTokens.set(port, token);
        resolve(Object.assign(p, { token }));
      }
    });
    p.on('exit', (code) => reject(new Error(`the adapter exited (${code}) before listening: ${err}`)));
  });
}

/** A fresh adapter process and client for every test of the suite; its messages are schema-checked when the test ends. */
export function useClient(set: (c: VisorClient) => void): void {
  let current: VisorClient;
  beforeEach(async () => {
    current = new VisorClient();
    set(current);
    await current.start();
  });
  afterEach(async () => {
    await current.stop();
    current.assertSchema();
  });
}
