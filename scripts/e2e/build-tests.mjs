// Compiles the e2e tests with esbuild: test/e2e/suite/*.ts and test/e2e/untrusted/*.ts (mocha
// inside the VS Code extension host; `vscode` and `mocha` stay external) and test/e2e/ui/*.ts (Playwright driving the web UI)
// into out/e2e/ (test/e2e/lib holds what both kinds share and is bundled into them). Kept apart from the extension bundle: tests never ship in the VSIX.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const list = (dir) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(ROOT, dir, f));

export async function buildTests() {
  fs.rmSync(path.join(ROOT, 'out', 'e2e'), { recursive: true, force: true });
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'inline', logLevel: 'warning' };
  await Promise.all([
    esbuild.build({ ...common, entryPoints: list('test/e2e/suite'), outdir: path.join(ROOT, 'out', 'e2e', 'suite'), external: ['vscode', 'mocha'] }),
    esbuild.build({ ...common, entryPoints: list('test/e2e/untrusted'), outdir: path.join(ROOT, 'out', 'e2e', 'untrusted'), external: ['vscode', 'mocha'] }),
    esbuild.build({ ...common, entryPoints: list('test/e2e/ui'), outdir: path.join(ROOT, 'out', 'e2e', 'ui'), external: ['playwright-core', 'mocha'] }),
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildTests();
