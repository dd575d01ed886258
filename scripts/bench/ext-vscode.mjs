#!/usr/bin/env node
/**
 * Extension activation in a real VS Code (`npm run bench`, figure 4, the row beside the plain-Node
 * one): the e2e suite's code-server (VS Code 1.100.3, started by scripts/e2e/codeserver.mjs) with
 * dist/visorbus-studio.vsix installed, a workspace holding .visor files, Debian's Chromium.
 *
 * The figure is VS Code's own: the extension host times each activation (loading the extension's
 * code, then the call of `activate()`) and the workbench shows the sum in "Developer: Show Running
 * Extensions" as `Activation: N ms` (whole milliseconds). We read it from there, so it covers what
 * the extension host does from the activation event to `activate()` returning, and nothing of
 * ours measures itself. `activate()` is synchronous (it returns the API, not a promise), so the
 * time until its result resolves adds nothing. One sample is one fresh browser window, which
 * gets its own extension host: every sample is a cold load of the bundle in a new process.
 *
 *   node scripts/bench/ext-vscode.mjs [SAMPLES]    one JSON line
 *
 * When code-server is not installed the result is `{ ok: false, note: "not measured: code-server
 * not installed" }`, not an error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { summary } from './stats.mjs';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, codeServerInstalled, installVsix, serverDirs, startCodeServer } from '../e2e/codeserver.mjs';

const EXTENSION_NAME = 'Visorbus Studio';
const METHOD =
  "code-server 4.100.3 (VS Code 1.100.3) with the VSIX installed; one fresh browser window (its own extension host) per sample on a workspace with .visor files; VS Code's own activation time from Developer: Show Running Extensions (code loading + activate() call, whole ms)";

/** One window: open the workspace, show Running Extensions, read our row's activation time. */
async function sample(browser, url, workspace) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    // a loaded shared machine can take minutes to bring up a window and its extension host
    page.setDefaultTimeout(300000);
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor();
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>Developer: Show Running Extensions');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show Running Extensions' }).first().click();
    const row = page.locator('.runtime-extensions-editor .extension', { has: page.locator('.name', { hasText: EXTENSION_NAME }) });
    // workspaceContains:**/*.visor activates the extension at start-up; the row says "Activating..." until then
    const time = row.locator('.activation-time', { hasText: /Activation: \d+ms/ });
    await time.waitFor();
    const text = await time.innerText();
    const m = /(Startup )?Activation: (\d+)ms/.exec(text);
    return { ms: Number(m[2]), startup: !!m[1] };
  } finally {
    await context.close();
  }
}

/** Measure `samples` activations; never rejects (a failure is reported in the result). */
export async function measureVsCodeActivation({ samples = 5, vsix = path.join(ROOT, 'dist', 'visorbus-studio.vsix'), log = () => undefined } = {}) {
  if (!codeServerInstalled()) return { ok: false, note: 'not measured: code-server not installed' };
  if (!vsix || !fs.existsSync(vsix)) return { ok: false, note: 'not measured: no VSIX (npm run package failed)' };
  const RUN = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-bench-vscode-'));
  let cs;
  let browser;
  try {
    const dirs = serverDirs(RUN, { 'security.workspace.trust.enabled': false });
    const workspace = path.join(RUN, 'ws');
    fs.cpSync(path.join(ROOT, 'examples', 'workspace'), workspace, { recursive: true });
    installVsix(dirs, vsix, 'ignore');
    cs = await startCodeServer(dirs, { logFile: path.join(RUN, 'server.log'), cwd: RUN });
    const { chromium } = createRequire(path.join(ROOT, 'package.json'))('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const out = [];
    for (let i = 0; i < samples; i++) {
      out.push(await sample(browser, cs.url, workspace));
      log(`extension in VS Code: sample ${i + 1}/${samples}: ${out[i].ms} ms${out[i].startup ? ' (start-up activation)' : ''}`);
    }
    return { ok: true, method: METHOD, samples: out, total: summary(out.map((s) => s.ms)) };
  } catch (e) {
    return { ok: false, note: `not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  } finally {
    await browser?.close();
    await cs?.stop();
    fs.rmSync(RUN, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 5);
  const r = await measureVsCodeActivation({ samples: n, log: (m) => process.stderr.write(m + '\n') });
  process.stdout.write(JSON.stringify(r) + '\n');
}
