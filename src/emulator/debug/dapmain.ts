/**
 * Entry of `visorbus-emu dap`: serves the Debug Adapter Protocol over stdio (one client,
 * the process exits when it disconnects) or over TCP on 127.0.0.1 only (one client after
 * another; a second concurrent client is refused with a clear error). A client that
 * disconnects with `terminateDebuggee: false` leaves its model running, and the next
 * client can `attach` to it without a scenario.
 */
import * as net from 'node:net';
import { BusySession, VisorbusSession } from './session';
import { ModelHost } from './modelhost';
import { EmulatorError } from '../emulator';

export interface DapOptions {
  port?: number;
}

export async function runDap(opts: DapOptions): Promise<void> {
  process.setSourceMapsEnabled(true);
  if (opts.port === undefined) return runStdio();
  return runServer(opts.port);
}

function runStdio(): Promise<void> {
  const session = new VisorbusSession({ single: true });
  session.setRunAsServer(false);
  session.start(process.stdin, process.stdout);
  // Never resolves: the session exits the process when the client disconnects or stdin closes.
  return new Promise(() => undefined);
}

function runServer(port: number): Promise<void> {
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
    const session = new VisorbusSession({
      single: false,
      port,
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
    active = session;
    session.setRunAsServer(true);
    session.start(socket, socket);
    socket.on('close', () => {
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
      process.stderr.write(`visorbus-emu: Debug Adapter Protocol server listening on 127.0.0.1:${port}\n`);
    });
    server.on('close', () => resolve());
  });
}
