// Bundles the extension and the emulator host (CLI + DAP server) with esbuild.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  sourcesContent: false,
  minify: production,
  logLevel: 'warning',
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  esbuild.build({
    ...common,
    entryPoints: ['src/emulator/host/cli.ts'],
    outfile: 'dist/emulator.js',
    banner: { js: '#!/usr/bin/env node' },
  }),
  esbuild.build({ ...common, entryPoints: ['src/emulator/host/worker.ts'], outfile: 'dist/worker.js' }),
]);
