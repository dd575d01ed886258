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
// The debugger shows emulator and built-in driver sources from the maps when the .ts files
// are not installed (a VSIX has no src/), so the emulator bundles carry their sources.
const emulator = { ...common, sourcesContent: true };

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  esbuild.build({
    ...emulator,
    entryPoints: ['src/emulator/host/cli.ts'],
    outfile: 'dist/emulator.js',
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
