/**
 * Entry of `visorbus-emu dap`: serves the Debug Adapter Protocol over stdio (one client,
 * the process exits when it disconnects) or over TCP on 127.0.0.1 only (one client after
 * another; a second concurrent client is refused with a clear error). A TCP client must
 * give the token the server printed when it started (`token` in its launch or attach
 * arguments) before it is served; without it, or with a wrong one, it is refused and
 * disconnected. A client that disconnects with `terminateDebuggee: false` leaves its
 * model running, and the next client can `attach` to it without a scenario. Every input is
 * cut into size-checked messages first (framelimit.ts).
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { DebugSession, OutputEvent } from '@vscode/debugadapter';
import { Readable } from 'node:stream';
import { BusySession, VisorbusSession } from './session';
import { ModelHost } from './modelhost';
import { EmulatorError } from '../emulator';
import { limitFrames } from './framelimit';

export interface DapOptions {
  port?: number;
}

/** A TCP client that has not given the token by then is disconnected. */
const AUTH_TIMEOUT_MS = 10000;

export async function runDap(opts: DapOptions): Promise<void> {
  process.setSourceMapsEnabled(true);
  if (opts.port === undefined) return runStdio();
  return runServer(opts.port, serverToken());
}

/** The token TCP clients must give: VISORBUS_DAP_TOKEN (at least 16 characters), or a random one. */
function serverToken(): string {
  const given = process.env.VISORBUS_DAP_TOKEN;
  if (given !== undefined && given !== '') {
    if (given.length < 16) throw new EmulatorError('VISORBUS_DAP_TOKEN must be at least 16 characters long');
    return given;
  }
  return crypto.randomBytes(16).toString('hex');
}

function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const h = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(h(expected), h(given));
}

/** Start a session on `input`, with oversized DAP messages skipped and reported. */
function startSession(session: DebugSession, input: Readable, output: NodeJS.WritableStream): void {
  session.start(
    limitFrames(input, (text) => session.sendEvent(new OutputEvent(`${text}\n`, 'stderr'))),
    output,
  );
}

function runStdio(): Promise<void> {
  const session = new VisorbusSession({ single: true });
  session.setRunAsServer(false);
  startSession(session, process.stdin, process.stdout);
  // Never resolves: the session exits the process when the client disconnects or stdin closes.
  return new Promise(() => undefined);
}

function runServer(port: number, token: string): Promise<void> {
  /** The client that gave the token and is being served. */
  let active: VisorbusSession | undefined;
  let kept: ModelHost | undefined;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    if (active) {
      const busy = new BusySession(port);
      busy.setRunAsServer(true);
      busy.start(socket, socket);
      // Answer what the client sent first, then hang up.
      setTimeout(() => socket.end(), 500).unref();
      return;
    }
    const session: VisorbusSession = new VisorbusSession({
      single: false,
      port,
      authorize: (given) => {
        if (!tokenMatches(token, given)) return 'refused';
        if (active && active !== session) return 'busy';
        active = session;
        clearTimeout(authTimer);
        return 'ok';
      },
      keep: (h) => {
        if (kept && kept !== h) void kept.dispose();
        kept = h;
      },
      done: () => {
        if (active === session) active = undefined;
      },
      adopt: () => {
        const h = kept;
        kept = undefined;
        return h?.alive ? h : undefined;
      },
    });
    // Until it gives the token, a client is not served; one that never does is let go.
    const authTimer = setTimeout(() => {
      if (active !== session) socket.destroy();
    }, AUTH_TIMEOUT_MS);
    authTimer.unref();
    session.setRunAsServer(true);
    startSession(session, socket, socket);
    socket.on('close', () => {
      clearTimeout(authTimer);
      void session.closed();
      if (active === session) active = undefined;
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? `port ${port} is already in use` : e.message;
      reject(new EmulatorError(`cannot serve DAP on 127.0.0.1:${port}: ${why}`));
    });
    server.listen(port, '127.0.0.1', () => {
      process.stderr.write(
        `visorbus-emu: Debug Adapter Protocol server listening on 127.0.0.1:${port}\n` +
          `visorbus-emu: token ${token} (clients give it as "token" in their attach or launch configuration)\n`,
      );
    });
    server.on('close', () => resolve());
  });
}
