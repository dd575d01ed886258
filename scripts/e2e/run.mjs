#!/usr/bin/env node
// One offline e2e run in a real VS Code (code-server 4.100.3 = VS Code 1.100.3, Debian chromium):
//   1. compile the e2e tests, package the VSIX (expects `npm run build` done: dist/*.js),
//   2. start a fresh code-server on 127.0.0.1:<free port> with its own config, user data and
//      extensions dirs under a temp dir, install the VSIX into it,
//   3. run the mocha suite inside the real node extension host (payload URL with
//      extensionDevelopmentPath = repo root, extensionTestsPath = out/e2e/suite; exit code from
//      window.codeAutomationExit),
//   4. run the Playwright UI tests against the installed VSIX (screenshots in test-output/e2e/),
//   5. always kill the process group it started.
//   6. run the untrusted-workspace suite in a second code-server with workspace trust on.
// Options: --only exthost|ui|untrusted, --grep PATTERN (exthost and ui), --keep (keep the temp dir).
// Env: E2E_CODE_SERVER (default .e2e/code-server/node_modules/.bin/code-server), E2E_CHROMIUM (/usr/bin/chromium).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { buildTests } from './build-tests.mjs';
import { CHROMIUM, CHROMIUM_ARGS, CODE_SERVER, ROOT, installVsix, serverDirs, startCodeServer } from './codeserver.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
const SHOTS = path.join(ROOT, 'test-output', 'e2e');
const VSIX = path.join(ROOT, 'dist', 'visorbus-studio.vsix');
const EXTHOST_TIMEOUT_MS = 10 * 60 * 1000;

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('--only');
const grep = opt('--grep');
const keep = args.includes('--keep');

const timings = [];
const t0 = Date.now();
async function step(name, fn) {
  const start = Date.now();
  process.stdout.write(`\n== ${name}\n`);
  try {
    return await fn();
  } finally {
    timings.push([name, Date.now() - start]);
  }
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** Mocha inside code-server's node extension host (the suite in out/e2e/<suite>); resolves with its exit code. */
async function runExtensionHostTests(url, workspace, logFile, suite = 'suite') {
  const { chromium } = require('playwright-core');
  const host = new URL(url).host; // code-server's remote authority is the host:port the browser uses
  const remote = (p) => `vscode-remote://${host}${p}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(ROOT)],
    ['extensionTestsPath', remote(path.join(ROOT, 'out', 'e2e', suite))],
    ['skipWelcome', 'true'],
  ]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const log = fs.createWriteStream(logFile);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const done = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
    // extension-host output reaches the page console as console.log('%c INFO', 'color: #33f', fmt, ...args)
    page.on('console', async (m) => {
      const a = await Promise.all(m.args().map((x) => x.jsonValue().catch(() => '?')));
      log.write(util.format(...a) + '\n');
      if (
        typeof a[0] === 'string' &&
        /^%c +(INFO|ERR)/.test(a[0]) &&
        a.length > 2 &&
        !/socket|connection token|builtin|Service Worker|ChatSession|\[Extension Host\]/i.test(String(a[2]))
      ) {
        console.log(util.format(...a.slice(2)));
      }
    });
    page.on('pageerror', (e) => log.write(`[pageerror] ${e.message}\n`));
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), EXTHOST_TIMEOUT_MS);
    });
    const code = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (code === 'timeout') {
      await page.screenshot({ path: path.join(SHOTS, 'exthost-timeout.png') }).catch(() => {});
      console.log(`extension-host tests did not finish within ${EXTHOST_TIMEOUT_MS / 1000} s`);
      return 2;
    }
    console.log('extension host exited with code', code);
    return code;
  } finally {
    await browser.close();
    log.end();
  }
}

/**
 * The untrusted-workspace suite (out/e2e/untrusted): its own code-server, started without
 * --disable-workspace-trust and with trust on in its settings, so the folder opens in
 * restricted mode (no start-up prompt). Always stops the server's process group.
 */
async function runUntrusted(RUN, workspace) {
  const dir = path.join(RUN, 'untrusted');
  const dirs = serverDirs(dir, {
    'security.workspace.trust.enabled': true,
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
    'security.workspace.trust.emptyWindow': false,
  });
  const cs = await startCodeServer(dirs, { logFile: path.join(SHOTS, 'server-untrusted.log'), cwd: RUN, trust: true });
  try {
    return await runExtensionHostTests(cs.url, workspace, path.join(SHOTS, 'exthost-untrusted-console.log'), 'untrusted');
  } finally {
    await cs.stop();
  }
}

function copyDir(src, dst) {
  fs.cpSync(src, dst, { recursive: true });
}

async function main() {
  for (const f of ['dist/extension.js', 'dist/emulator.js']) {
    if (!fs.existsSync(path.join(ROOT, f)) || fs.statSync(path.join(ROOT, f)).size === 0) {
      throw new Error(`${f} is missing or empty: run \`npm run build\` first`);
    }
  }
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server not found at ${CODE_SERVER}: run scripts/e2e/install.sh`);
  fs.mkdirSync(SHOTS, { recursive: true });
  // test output never belongs in git: the folder ignores itself
  fs.writeFileSync(path.join(ROOT, 'test-output', '.gitignore'), '*\n');
  for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png') || f.endsWith('.log')) fs.rmSync(path.join(SHOTS, f));

  await step('compile e2e tests', () => buildTests());
  await step('package VSIX', () => run('npm', ['run', '--silent', 'package']));
  const vsixBytes = fs.statSync(VSIX).size;
  console.log(`${path.relative(ROOT, VSIX)}: ${(vsixBytes / 1024).toFixed(1)} KiB`);

  const RUN = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-e2e-'));
  const csArgs = serverDirs(RUN, { 'security.workspace.trust.enabled': false, 'window.commandCenter': false });
  copyDir(path.join(ROOT, 'examples', 'workspace'), path.join(RUN, 'ws-exthost'));
  copyDir(path.join(ROOT, 'examples', 'workspace'), path.join(RUN, 'ws-ui'));
  copyDir(path.join(ROOT, 'examples', 'workspace'), path.join(RUN, 'ws-contract'));
  copyDir(path.join(ROOT, 'examples', 'workspace'), path.join(RUN, 'ws-untrusted'));

  await step('install VSIX into a fresh code-server', () => installVsix(csArgs, VSIX));

  const cs = await step('start code-server', () => startCodeServer(csArgs, { logFile: path.join(SHOTS, 'server.log'), cwd: RUN }));
  const url = cs.url;
  console.log(`code-server on ${url}`);
  const onSignal = (sig) => {
    cs.kill('SIGTERM');
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const failures = [];
  try {
    if (!only || only === 'exthost') {
      const code = await step('extension-host tests (mocha in the real VS Code extension host)', () => {
        fs.writeFileSync(path.join(ROOT, 'out', 'e2e', 'suite', 'options.json'), JSON.stringify({ grep: grep ?? null }));
        return runExtensionHostTests(url, path.join(RUN, 'ws-exthost'), path.join(SHOTS, 'exthost-console.log'));
      });
      if (code !== 0) failures.push(`extension-host tests (exit ${code})`);
    }
    if (!only || only === 'ui') {
      await step('UI tests (Playwright, installed VSIX)', () => {
        const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
        const uiFiles = fs
          .readdirSync(path.join(ROOT, 'out', 'e2e', 'ui'))
          .filter((f) => f.endsWith('.test.js'))
          .sort()
          .reverse();
        if (!uiFiles.length) {
          failures.push('UI tests (no *.test.js in out/e2e/ui)');
          return;
        }
        const r = spawnSync(
          process.execPath,
          [
            mocha,
            '--ui',
            'tdd',
            '--timeout',
            '120000',
            '--enable-source-maps',
            '--fail-zero',
            '--forbid-pending',
            '--forbid-only',
            ...(grep ? ['--grep', grep] : []),
            ...uiFiles.map((f) => path.join(ROOT, 'out', 'e2e', 'ui', f)),
          ],
          {
            cwd: ROOT,
            stdio: 'inherit',
            env: {
              ...process.env,
              E2E_URL: url,
              E2E_WORKSPACE: path.join(RUN, 'ws-ui'),
              E2E_CONTRACT_WORKSPACE: path.join(RUN, 'ws-contract'),
              E2E_SHOTS: SHOTS,
              E2E_CHROMIUM: CHROMIUM,
              E2E_CHROMIUM_ARGS: JSON.stringify(CHROMIUM_ARGS),
            },
          },
        );
        if (r.status !== 0) failures.push(`UI tests (exit ${r.status ?? r.signal})`);
      });
    }
    if (!only || only === 'untrusted') {
      const code = await step('untrusted workspace (a second code-server with workspace trust on)', () => runUntrusted(RUN, path.join(RUN, 'ws-untrusted')));
      if (code !== 0) failures.push(`untrusted-workspace tests (exit ${code})`);
    }
  } finally {
    await step('stop code-server (process group)', () => cs.stop());
    if (!keep) fs.rmSync(RUN, { recursive: true, force: true });
    else console.log(`kept ${RUN}`);
  }

  console.log('\n== timings');
  for (const [name, ms] of timings) console.log(`${(ms / 1000).toFixed(1).padStart(7)} s  ${name}`);
  console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s  total`);
  console.log(`screenshots and logs: ${path.relative(ROOT, SHOTS)}/`);
  if (failures.length) {
    console.log(`\nFAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('\ne2e: all passed');
  }
}

main().catch((e) => {
  console.error(`e2e run failed: ${e.message}`);
  process.exitCode = 1;
});
