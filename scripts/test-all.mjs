// The whole test suite, in order: format, lint, type-check, import cycles, bundles, unit tests, CLI tests,
// DAP tests (adapter as a separate process), robustness (fixed-seed fuzzing, fault
// injection, a short soak), the VSIX, and the tests in a real VS Code.
// Every step runs even when an earlier one failed; the exit code says whether all passed.
import { spawnSync } from 'node:child_process';

const steps = [
  // One formatter for all code (settings in .prettierrc.json); `npm run format` applies it.
  ['format', 'npx', ['prettier', '--check', 'src', 'test', 'scripts', 'media', 'eslint.config.mjs']],
  ['lint', 'npx', ['eslint', 'src', 'test']],
  ['type-check', 'npx', ['tsc', '-p', '.', '--noEmit']],
  // No module may import itself through others, type-only imports included.
  ['import cycles', 'npx', ['madge', '--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'src']],
  ['build', 'node', ['scripts/build.mjs']],
  // out/src and out/test are emptied first so a test deleted from test/ cannot linger compiled.
  ['clean out/', 'node', ['-e', "for (const d of ['out/src', 'out/test']) require('fs').rmSync(d, { recursive: true, force: true })"]],
  ['compile tests', 'npx', ['tsc', '-p', '.', '--outDir', 'out']],
  ['unit tests', 'npx', ['mocha', '--config', 'test/unit/.mocharc.json']],
  ['CLI tests', 'npx', ['mocha', '--config', 'test/cli/.mocharc.json']],
  ['DAP tests', 'npx', ['mocha', '--config', 'test/dap/.mocharc.json']],
  ['robustness tests', 'npx', ['mocha', '--config', 'test/robust/.mocharc.json']],
  ['VSIX', 'npm', ['run', 'package']],
  ['VS Code end-to-end tests', 'npm', ['run', 'test:e2e']],
];

const only = process.argv.slice(2);
const results = [];
for (const [name, cmd, args] of steps) {
  if (only.length && !only.some((o) => name.includes(o))) continue;
  const t0 = Date.now();
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  const ok = r.status === 0;
  results.push({ name, ok, seconds: (Date.now() - t0) / 1000 });
}
process.stdout.write('\n=== summary\n');
for (const r of results) process.stdout.write(`${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(26)} ${r.seconds.toFixed(1)} s\n`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
