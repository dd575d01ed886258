#!/usr/bin/env node
// The same extension-host suite (out/e2e/suite) in desktop VS Code through @vscode/test-electron,
// for machines that can download VS Code. The default, offline path is scripts/e2e/run.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { buildTests } from './build-tests.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
await buildTests();
const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-e2e-electron-'));
fs.cpSync(path.join(ROOT, 'examples', 'workspace'), ws, { recursive: true });
try {
  await runTests({
    version: process.env.VSCODE_VERSION ?? '1.100.3',
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(ROOT, 'out', 'e2e', 'suite'),
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
} catch (e) {
  console.error(`desktop VS Code e2e failed: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(ws, { recursive: true, force: true });
}
