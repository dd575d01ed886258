// A private code-server (VS Code 1.100.3) for one run: its own config, user data and extensions
// dirs under a run folder, a free loopback port, no auth, and a stop that ends its whole process
// group (extension hosts, adapters, file watchers). Used by the e2e runner (run.mjs) and by the
// activation benchmark (scripts/bench/ext-vscode.mjs), so both see the same VS Code.
// Env: E2E_CODE_SERVER (the binary), else E2E_CS_DIR or .e2e/code-server (an install of
// scripts/e2e/install.sh); E2E_CHROMIUM (/usr/bin/chromium).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CODE_SERVER =
  process.env.E2E_CODE_SERVER || path.join(process.env.E2E_CS_DIR || path.join(ROOT, '.e2e', 'code-server'), 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Settings of every run: no start-up editor, telemetry, update checks or experiments. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'chat.commandCenter.enabled': false,
};

export function codeServerInstalled() {
  return fs.existsSync(CODE_SERVER);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs} ms`);
}

/** The --config/--user-data-dir/--extensions-dir of a run folder, with its settings.json written. */
export function serverDirs(dir, settings) {
  fs.mkdirSync(path.join(dir, 'data', 'User'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...settings }, null, 2));
  return ['--config', path.join(dir, 'config.yaml'), '--user-data-dir', path.join(dir, 'data'), '--extensions-dir', path.join(dir, 'exts')];
}

/** Install a VSIX into the extensions dir of `dirArgs` (from serverDirs). */
export function installVsix(dirArgs, vsix, stdio = 'inherit') {
  const r = spawnSync(CODE_SERVER, [...dirArgs, '--install-extension', vsix], { cwd: ROOT, stdio });
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} exited with ${r.status ?? r.signal}`);
}

/**
 * Start code-server with `dirArgs` on a free port and wait until it answers; resolves with its
 * URL, the child, and `stop()`, which ends the process group and waits for it.
 * `trust: true` leaves workspace trust on (no --disable-workspace-trust).
 */
export async function startCodeServer(dirArgs, { logFile, cwd, trust = false }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(logFile, 'w');
  // detached: the server leads its own process group
  const server = spawn(
    CODE_SERVER,
    [
      ...dirArgs,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(trust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ],
    { cwd, detached: true, stdio: ['ignore', log, log], env: { ...process.env, VISORBUS_E2E: '1' } },
  );
  const kill = (sig) => {
    try {
      process.kill(-server.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const stop = async () => {
    kill('SIGTERM');
    const exited =
      server.exitCode !== null ||
      (await Promise.race([new Promise((r) => server.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 5000))]));
    if (!exited || server.exitCode === null) kill('SIGKILL');
    // anything of the group still alive (zombies aside) gets a little time, then SIGKILL
    const alive = () =>
      spawnSync('pgrep', ['-a', '-g', String(server.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.trim() && !l.includes('<defunct>'));
    for (let i = 0; i < 30 && alive().length; i++) await new Promise((r) => setTimeout(r, 100));
    const left = alive();
    if (left.length) {
      console.log(`still running in process group ${server.pid}, killing:\n${left.join('\n')}`);
      kill('SIGKILL');
    }
    fs.closeSync(log);
  };
  try {
    await waitHealthy(url, server, 60000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, server, stop, kill };
}
