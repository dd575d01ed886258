// Starts the real debug adapter as a TCP server (`node dist/emulator.js dap --port N`, the host
// that `attach` connects to) with a token of the test's choosing, and resolves once it listens.
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as net from 'net';

export interface DapServer {
  child: ChildProcess;
  port: number;
  token: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function listen(emulatorJs: string, port: number, token: string): Promise<DapServer> {
  // ELECTRON_RUN_AS_NODE: in desktop VS Code's extension host process.execPath is Electron
  const child = spawn(process.execPath, [emulatorJs, 'dap', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', VISORBUS_DAP_TOKEN: token },
  });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => fail(new Error(`the adapter did not listen within 30 s: ${err}`)), 30000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(e);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`the adapter exited (${code}) before listening: ${err}`)));
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes(`listening on 127.0.0.1:${port}`)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port, token, stop: () => child.kill() });
      }
    });
  });
}

/** The adapter of `emulatorJs` serving DAP on a free loopback port; a port taken meanwhile is retried. */
export async function startDapServer(emulatorJs: string): Promise<DapServer> {
  const token = crypto.randomBytes(16).toString('hex');
  for (let attempt = 1; ; attempt++) {
    try {
      return await listen(emulatorJs, await freePort(), token);
    } catch (e) {
      if (attempt >= 3 || !/already in use/.test(String(e))) throw e;
    }
  }
}
