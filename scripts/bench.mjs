#!/usr/bin/env node
/**
 * `npm run bench`: performance figures of Visorbus Studio, each against a reference measured
 * in the same run (ratios survive the drift of shared machines; absolute times do not).
 *
 *   1. signal queue throughput vs a C implementation of the same ring (bench/c/ring.c, gcc -O2)
 *   2. emulator throughput (1,000 buses x 16 devices) vs a bare-clock dispatch floor, and the
 *      scaling curve (10 .. 10,000 devices) of wall time and memory
 *   3. adapter latency over stdio vs a do-nothing adapter (bench/floor-adapter.js)
 *   4. extension activation in VS Code (scripts/bench/ext-vscode.mjs) and in plain Node with a
 *      stand-in `vscode` vs a minimal extension, bundle and VSIX sizes, and the Buses &
 *      Devices tree for 10,000 devices vs fetching the same pages without the tree
 *   5. time travel: stepBack and reverseContinue with checkpoints at histories of 10^5, 10^6
 *      and 10^7 events vs the forward-execution rate of the same run
 *
 * Writes bench/results.json, BENCHMARKS.md (keeping its `## Soak` section) and
 * bench/scaling.svg. Nothing here is asserted by a test.
 *
 * Options: --quick (smaller sizes and fewer samples, for trying the script), --skip-build,
 * --only=ring,emu,dap,ext,travel (sections to run; the others keep their last figures),
 * --no-profile (do not profile missed targets), --report-only (rewrite BENCHMARKS.md and the plot
 * from bench/results.json without measuring).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summary, median, slope } from './bench/stats.mjs';
import { summarizeProfile, busiestProfile } from './bench/profile.mjs';
import { writeAdapterScenario, runAdapterBench } from './bench/dap.mjs';
import { runTimeTravelBench } from './bench/timetravel.mjs';
import { measureVsCodeActivation } from './bench/ext-vscode.mjs';
import { renderMarkdown, renderScalingSvg, SOAK_PLACEHOLDER, extractSection } from './bench/report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'out', 'bench');
const NODE = process.execPath;
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const SKIP_BUILD = args.includes('--skip-build');
const NO_PROFILE = args.includes('--no-profile');
const ONLY = (args.find((a) => a.startsWith('--only=')) ?? '--only=ring,emu,dap,ext,travel').slice('--only='.length).split(',');
const T0 = Date.now();

function log(msg) {
  const s = ((Date.now() - T0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s}s] ${msg}\n`);
}

/** Run a command; resolves with its exit code, output and wall time. Never rejects. */
function run(cmd, argv, { timeoutMs = 600000, cwd = ROOT, env } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(cmd, argv, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => {
      stderr += c;
      if (stderr.length > 200000) stderr = stderr.slice(-100000);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e), ms: performance.now() - t0 });
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : 0), signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** The JSON objects printed one per line on stdout. */
function jsonLines(out) {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{') || l.startsWith('['))
    .map((l) => JSON.parse(l));
}

/** The end of a command's output, on one line (for notes in the report). */
function tail(s, n = 600) {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? '…' + t.slice(-n) : t;
}

// ---- environment -------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    gcc: gcc.status === 0 ? gcc.stdout.split('\n')[0] : null,
    commit: git.status === 0 ? git.stdout.trim() : null,
    dirty: dirty.status === 0 ? dirty.stdout.trim().length > 0 : null,
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

// ---- build -------------------------------------------------------------------------------

async function build(results) {
  fs.mkdirSync(OUT, { recursive: true });
  const b = { notes: [] };
  results.build = b;
  if (!SKIP_BUILD) {
    log('build: npm run build (esbuild bundles of the extension, emulator host and worker)');
    const r = await run(NODE, ['scripts/build.mjs']);
    b.bundleOk = r.code === 0;
    b.bundleMs = r.ms;
    if (r.code !== 0) b.notes.push(`npm run build failed (${r.code}); measuring the existing dist/ files: ${tail(r.stderr, 400)}`);
  } else b.notes.push('--skip-build: dist/ used as it was');
  // The benchmark harnesses import src/ directly; esbuild bundles them like scripts/build.mjs does.
  log('build: bench harnesses (scripts/bench/*.ts -> out/bench/*.js)');
  const esbuild = await import('esbuild');
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, sourcesContent: false, logLevel: 'warning' };
  const t0 = performance.now();
  await Promise.all([
    esbuild.build({ ...common, entryPoints: [path.join(ROOT, 'scripts/bench/ring.ts')], outfile: path.join(OUT, 'ring.js') }),
    esbuild.build({ ...common, entryPoints: [path.join(ROOT, 'scripts/bench/emu.ts')], outfile: path.join(OUT, 'emu.js') }),
  ]);
  b.harnessMs = performance.now() - t0;
}

// ---- 1. signal queue ---------------------------------------------------------------------

async function ring(results) {
  const r = { sizes: [], c: {} };
  results.ring = r;
  const bin = path.join(ROOT, 'bench', 'c', 'ring.bin');
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.status !== 0) {
    r.c = { available: false, note: 'gcc was not found: the C reference was skipped, so the signal-queue figures have no ratio' };
    log('ring: gcc missing, C reference skipped');
  } else {
    const c = await run('gcc', ['-O2', '-std=c11', '-Wall', '-o', bin, path.join(ROOT, 'bench', 'c', 'ring.c')]);
    r.c = {
      available: c.code === 0,
      compiler: gcc.stdout.split('\n')[0],
      flags: '-O2 -std=c11',
      note: c.code === 0 ? undefined : `gcc failed: ${tail(c.stderr)}`,
    };
  }
  const alternations = QUICK ? 1 : 3;
  const minSeconds = QUICK ? '0.15' : '0.25';
  for (const size of [64, 1024]) {
    const row = { signalSize: size, slots: 64, runs: [] };
    for (let a = 0; a < alternations; a++) {
      let cRes;
      if (r.c.available) {
        const cr = await run(bin, [String(size), '64', minSeconds, '3']);
        if (cr.code !== 0) throw new Error(`C ring failed: ${tail(cr.stderr)}`);
        cRes = Object.fromEntries(jsonLines(cr.stdout).map((x) => [x.variant, x]));
      }
      const tr = await run(NODE, [path.join(OUT, 'ring.js'), String(size), '64', minSeconds, '3']);
      if (tr.code !== 0) throw new Error(`TS ring failed: ${tail(tr.stderr)}`);
      const lines = Object.fromEntries(jsonLines(tr.stdout).map((x) => [x.variant, x]));
      const ts = lines.ts;
      const flat = lines.flat?.pairsPerSec ?? null;
      row.runs.push({
        ts: ts.pairsPerSec,
        flat,
        // The headline reference is the barrier-free C ring (a single-threaded emulator needs no
        // barrier); the ring with the kernel's full barrier is kept as a second reference.
        c: cRes?.nomb?.pairsPerSec,
        cBarrier: cRes?.mb?.pairsPerSec,
        ratio: cRes ? ts.pairsPerSec / cRes.nomb.pairsPerSec : null,
        ratioBarrier: cRes ? ts.pairsPerSec / cRes.mb.pairsPerSec : null,
        flatRatio: cRes && flat ? flat / cRes.nomb.pairsPerSec : null,
      });
      log(
        `ring ${size} B: TS ${(ts.pairsPerSec / 1e6).toFixed(2)} M pairs/s (flat JS ring ${((flat ?? 0) / 1e6).toFixed(2)} M)${cRes ? `, C ${(cRes.mb.pairsPerSec / 1e6).toFixed(2)} M (no barrier ${(cRes.nomb.pairsPerSec / 1e6).toFixed(2)} M)` : ''}`,
      );
    }
    row.ts = median(row.runs.map((x) => x.ts));
    row.flat = median(row.runs.map((x) => x.flat));
    row.flatRatio = median(row.runs.map((x) => x.flatRatio));
    row.c = median(row.runs.map((x) => x.c));
    row.cBarrier = median(row.runs.map((x) => x.cBarrier));
    row.ratio = median(row.runs.map((x) => x.ratio));
    row.ratioBarrier = median(row.runs.map((x) => x.ratioBarrier));
    r.sizes.push(row);
  }
}

// ---- 2. emulator -------------------------------------------------------------------------

async function emuRun(devices, extra = []) {
  const r = await run(NODE, ['--expose-gc', path.join(OUT, 'emu.js'), String(devices), '--root', ROOT, ...extra], { timeoutMs: 900000 });
  if (r.code !== 0) throw new Error(`emulator bench (${devices} devices) failed: ${tail(r.stderr)}`);
  const res = jsonLines(r.stdout)[0];
  res.processMs = r.ms;
  if (res.errors) throw new Error(`emulator bench (${devices} devices): the scenario reported ${res.errors} error(s): ${res.firstError}`);
  return res;
}

async function emulator(results) {
  const e = { scaling: [] };
  results.emulator = e;
  const sizes = QUICK ? [10, 100, 1000] : [10, 100, 1000, 10000];
  const reps = QUICK ? 1 : 3;
  for (const n of sizes) {
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await emuRun(n, ['--floor']));
    const pick = (f) => median(runs.map(f));
    const row = {
      devices: n,
      buses: runs[0].buses,
      reps,
      buildMs: pick((x) => x.buildMs),
      bindMs: pick((x) => x.bindMs),
      runMs: pick((x) => x.runMs),
      buildCpuMs: pick((x) => x.buildCpuMs + x.bindCpuMs),
      runCpuMs: pick((x) => x.runCpuMs),
      floorCpuMs: pick((x) => x.floor.cpuMs),
      events: runs[0].events,
      dispatches: runs[0].dispatches,
      heapBytes: pick((x) => x.memory.built.heapUsed - x.memory.before.heapUsed),
      rssBytes: pick((x) => x.memory.built.rss - x.memory.before.rss),
      residentBytes: pick((x) => x.residentBytes.built),
      heapAfterRunBytes: pick((x) => x.memory.after.heapUsed - x.memory.before.heapUsed),
      rssTotalBytes: pick((x) => x.memory.after.rss),
      checksum: runs[0].checksum,
      deterministic: runs.every((x) => x.checksum === runs[0].checksum),
    };
    e.scaling.push(row);
    log(
      `emulator ${n} devices: build ${row.buildMs.toFixed(0)} ms, bind ${row.bindMs.toFixed(0)} ms, 1 virtual s ${row.runMs.toFixed(0)} ms (CPU ${row.runCpuMs.toFixed(0)} ms), heap ${(row.heapBytes / 1e6).toFixed(1)} MB, resident ${(row.residentBytes / 1e6).toFixed(1)} MB`,
    );
  }
  const big = QUICK ? 2000 : 16000;
  // Three processes: on a shared machine one run of 16,000 devices can be twice as slow as
  // the next (memory traffic); the run with the median ratio to its own floor is reported.
  log(`emulator throughput: ${big / 16} buses x 16 devices, one virtual second, plus the dispatch floor (3 processes)`);
  const runs = [];
  for (let i = 0; i < (QUICK ? 1 : 3); i++) runs.push(await emuRun(big, ['--floor']));
  const ratioOf = (r) => r.dispatchesPerSec / r.floor.dispatchesPerSec;
  const t = [...runs].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(runs.length / 2)];
  t.runs = runs.map((r) => ({ dispatchesPerSec: r.dispatchesPerSec, floorDispatchesPerSec: r.floor.dispatchesPerSec, ratio: ratioOf(r) }));
  e.throughput = t;
  e.scaling.push({
    devices: big,
    buses: t.buses,
    reps: 1,
    buildMs: t.buildMs,
    bindMs: t.bindMs,
    runMs: t.runMs,
    buildCpuMs: t.buildCpuMs + t.bindCpuMs,
    runCpuMs: t.runCpuMs,
    floorCpuMs: t.floor.cpuMs,
    events: t.events,
    dispatches: t.dispatches,
    heapBytes: t.memory.built.heapUsed - t.memory.before.heapUsed,
    rssBytes: t.memory.built.rss - t.memory.before.rss,
    residentBytes: t.residentBytes.built,
    heapAfterRunBytes: t.memory.after.heapUsed - t.memory.before.heapUsed,
    rssTotalBytes: t.memory.after.rss,
    checksum: t.checksum,
    deterministic: true,
    throughputRun: true,
  });
  log(
    `emulator throughput: ${(t.eventsPerSec / 1e6).toFixed(2)} M events/s, ${(t.dispatchesPerSec / 1e6).toFixed(3)} M dispatches/s (floor ${(t.floor.dispatchesPerSec / 1e6).toFixed(2)} M/s; CPU share of the wall time ${(t.cpuShare * 100).toFixed(0)} %)`,
  );
  // linearity: log-log slopes from 1,000 to 10,000 devices (1.0 = cost per device flat), on the
  // main thread's CPU time: unlike wall time it does not grow when other processes share the
  // cores, and unlike process CPU time it leaves out the GC's parallel helper threads.
  const at = (n) => e.scaling.find((x) => x.devices === n && !x.throughputRun) ?? e.scaling.find((x) => x.devices === n);
  const a = at(1000);
  const b = at(QUICK ? big : 10000);
  if (a && b) {
    e.linearity = {
      from: a.devices,
      to: b.devices,
      build: slope(a.devices, a.buildCpuMs, b.devices, b.buildCpuMs),
      run: slope(a.devices, a.runCpuMs, b.devices, b.runCpuMs),
      floor: slope(a.devices, a.floorCpuMs, b.devices, b.floorCpuMs),
      buildWall: slope(a.devices, a.buildMs + a.bindMs, b.devices, b.buildMs + b.bindMs),
      runWall: slope(a.devices, a.runMs, b.devices, b.runMs),
      heap: slope(a.devices, a.heapBytes, b.devices, b.heapBytes),
      rss: slope(a.devices, a.rssBytes, b.devices, b.rssBytes),
      resident: slope(a.devices, a.residentBytes, b.devices, b.residentBytes),
    };
  }
}

// ---- 3. adapter --------------------------------------------------------------------------

/** Lines enough for every step of the script (see writeAdapterScenario). */
function adapterScenarioShape(c) {
  return {
    devices: QUICK ? 200 : 1000,
    steps: c.nSteps + 20,
    bigWaitMs: Math.max(QUICK ? 300 : 600, 10 * Math.max(c.nVars, c.nMem) + 200),
    after: c.nBack + 20,
  };
}

/** Does `node dist/emulator.js dap` answer initialize? */
async function adapterAnswers() {
  const { DapClient } = await import('./bench/dapclient.mjs');
  const dc = new DapClient(NODE, [path.join(ROOT, 'dist', 'emulator.js'), 'dap'], { cwd: ROOT });
  try {
    const r = await dc.request('initialize', { clientID: 'visorbus-bench', adapterID: 'visorbus', linesStartAt1: true, columnsStartAt1: true }, 15000);
    return { ok: true, capabilities: r.body };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await dc.close();
  }
}

async function adapter(results) {
  const a = {};
  results.adapter = a;
  const counts = QUICK ? { nSteps: 20, nVars: 10, nMem: 10, nBack: 4 } : { nSteps: 100, nVars: 40, nMem: 40, nBack: 12 };
  const scen = writeAdapterScenario(ROOT, OUT, adapterScenarioShape(counts));
  a.scenario = { devices: scen.devices, file: path.relative(ROOT, scen.file), bigWaitMs: scen.bigWaitMs, smallLines: scen.afterFirst - scen.firstSmall - 1 };
  a.counts = counts;
  const probe = fs.existsSync(path.join(ROOT, 'dist', 'emulator.js')) ? await adapterAnswers() : { ok: false, error: 'dist/emulator.js does not exist' };
  log('adapter: floor (bench/floor-adapter.js)');
  const floor = await runAdapterBench({ command: NODE, args: [path.join(ROOT, 'bench', 'floor-adapter.js')], cwd: ROOT, label: 'floor' }, scen, {
    ...counts,
    log,
  });
  a.floor = { facts: floor.facts, stats: mapStats(floor.samples) };
  if (!probe.ok) {
    a.real = { skipped: true, note: `node dist/emulator.js dap did not answer initialize: ${probe.error}` };
    log(`adapter: real adapter skipped (${probe.error})`);
    return;
  }
  log('adapter: real (node dist/emulator.js dap)');
  const real = await runAdapterBench({ command: NODE, args: [path.join(ROOT, 'dist', 'emulator.js'), 'dap'], cwd: ROOT, label: 'real' }, scen, {
    ...counts,
    log,
  });
  a.real = {
    facts: real.facts,
    stats: mapStats(real.samples),
    over5: Object.fromEntries(Object.entries(real.samples).map(([k, v]) => [k, v.filter((x) => x > 5).length])),
    slowNext: real.samples.next.map((ms, i) => ({ i: i + 1, ms: +ms.toFixed(2) })).filter((x) => x.ms > 5),
  };
  if (!real.facts.ok) log(`adapter: real adapter failed: ${real.facts.error}`);
  // The same script without standby workers: what the checkpoints add to stepping.
  log('adapter: real, checkpoints 0');
  const solo = await runAdapterBench({ command: NODE, args: [path.join(ROOT, 'dist', 'emulator.js'), 'dap'], cwd: ROOT, label: 'checkpoints 0' }, scen, {
    ...counts,
    nBack: 0,
    launch: { checkpoints: 0 },
    log,
  });
  a.noCheckpoints = solo.facts.ok
    ? {
        stats: mapStats({ next: solo.samples.next, stepIn: solo.samples.stepIn, variables: solo.samples.variables }),
        over5: solo.samples.next.filter((x) => x > 5).length,
      }
    : { error: solo.facts.error };
  a.ratios = {};
  for (const k of Object.keys(a.real.stats)) {
    const r = a.real.stats[k];
    const f = a.floor.stats[k];
    a.ratios[k] = { median: r.median && f.median ? r.median / f.median : null, p99: r.p99 && f.p99 ? r.p99 / f.p99 : null };
  }
  for (const k of Object.keys(a.real.stats)) {
    const r = a.real.stats[k];
    if (r.n)
      log(
        `adapter ${k}: median ${r.median.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (floor ${a.floor.stats[k].median?.toFixed(2)} / ${a.floor.stats[k].p99?.toFixed(2)} ms)`,
      );
  }
}

async function timeTravel(results) {
  log('time travel: node dist/emulator.js dap, checkpoints 2');
  results.timeTravel = await runTimeTravelBench(
    { command: NODE, args: [path.join(ROOT, 'dist', 'emulator.js'), 'dap'], cwd: ROOT, label: 'real' },
    { root: ROOT, outDir: OUT, quick: QUICK, log },
  );
  if (!results.timeTravel.ok) throw new Error(`time travel: ${results.timeTravel.error}`);
}

function mapStats(samples) {
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
}

// ---- 4. extension ------------------------------------------------------------------------

async function extension(results) {
  const x = {};
  results.extension = x;
  const reps = QUICK ? 3 : 9;
  const real = [];
  const floor = [];
  log(`extension: ${reps} cold activations of dist/extension.js and of the floor extension, alternating`);
  for (let i = 0; i < reps; i++) {
    for (const [mod, arr] of [
      ['dist/extension.js', real],
      ['bench/floor-extension.js', floor],
    ]) {
      const r = await run(NODE, [path.join(ROOT, 'scripts', 'bench', 'ext.cjs'), 'activate', ROOT, mod]);
      if (r.code !== 0) throw new Error(`activation of ${mod} failed: ${tail(r.stderr)}`);
      arr.push(jsonLines(r.stdout)[0]);
    }
  }
  x.activation = {
    method:
      'fresh node process per sample; Module._resolveFilename hook maps `vscode` to scripts/bench/fakevscode.cjs; time of require(dist/extension.js) + activate(fakeContext)',
    real: {
      total: summary(real.map((r) => r.totalMs)),
      require: summary(real.map((r) => r.requireMs)),
      activate: summary(real.map((r) => r.activateMs)),
      subscriptions: real[0].subscriptions,
    },
    floor: { total: summary(floor.map((r) => r.totalMs)), require: summary(floor.map((r) => r.requireMs)), activate: summary(floor.map((r) => r.activateMs)) },
  };
  x.activation.ratio = x.activation.real.total.median / x.activation.floor.total.median;
  log(`extension activation: median ${x.activation.real.total.median.toFixed(1)} ms (floor ${x.activation.floor.total.median.toFixed(2)} ms)`);

  x.bundles = fs
    .readdirSync(path.join(ROOT, 'dist'))
    .filter((f) => /\.js(\.map)?$/.test(f))
    .sort()
    .map((f) => ({ file: `dist/${f}`, bytes: fs.statSync(path.join(ROOT, 'dist', f)).size }));

  log('extension: npm run package (vsce) -> dist/visorbus-studio.vsix');
  const vsix = path.join(ROOT, 'dist', 'visorbus-studio.vsix');
  const before = fs.existsSync(vsix) ? fs.statSync(vsix).mtimeMs : 0;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const p = await run(npm, ['run', 'package', '--silent'], { timeoutMs: 300000 });
  const fresh = fs.existsSync(vsix) && fs.statSync(vsix).mtimeMs > before;
  if (p.code === 0 && fresh) x.vsix = { ok: true, file: 'dist/visorbus-studio.vsix', ms: p.ms, bytes: fs.statSync(vsix).size };
  else {
    // Measure the same package anyway: vsce with placeholder base URLs for README links (the
    // usual reason it refuses without a repository), written to out/bench/ so dist/ is untouched.
    const alt = path.join(OUT, 'visorbus-studio.vsix');
    fs.rmSync(alt, { force: true });
    const vsce = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
    const q = await run(
      vsce,
      [
        'package',
        '--no-dependencies',
        '--allow-missing-repository',
        '--baseContentUrl',
        'https://example.invalid/',
        '--baseImagesUrl',
        'https://example.invalid/',
        '-o',
        alt,
      ],
      { timeoutMs: 300000 },
    );
    const note = `npm run package failed (exit ${p.code}): ${tail(p.stderr + ' ' + p.stdout, 300)}`;
    if (q.code === 0 && fs.existsSync(alt))
      x.vsix = {
        ok: false,
        fallback: true,
        file: path.relative(ROOT, alt),
        ms: q.ms,
        bytes: fs.statSync(alt).size,
        note: `${note} — measured instead: the same vsce package command with placeholder --baseContentUrl/--baseImagesUrl, written to ${path.relative(ROOT, alt)}`,
      };
    else x.vsix = { ok: false, file: null, ms: p.ms, bytes: null, note: `${note}; the fallback packaging failed too: ${tail(q.stderr + ' ' + q.stdout, 300)}` };
  }
  x.vsix.entries = x.vsix.file ? vsixEntries(path.join(ROOT, x.vsix.file)) : [];
  log("extension: activation in VS Code (the e2e suite's code-server, VS Code's own activation time)");
  x.activationVsCode = await measureVsCodeActivation({ samples: QUICK ? 2 : 5, vsix: x.vsix.file ? path.join(ROOT, x.vsix.file) : null, log });
  log(
    `extension: VSIX ${x.vsix.bytes} bytes${x.vsix.ok ? '' : x.vsix.fallback ? ' (npm run package failed; measured the fallback package)' : ' (packaging failed)'}`,
  );

  x.tree = {};
  for (const [label, perBus] of [
    ['oneBus', 10000],
    ['manyBuses', 16],
  ]) {
    const r = await run(NODE, [path.join(ROOT, 'scripts', 'bench', 'ext.cjs'), 'tree', ROOT, '10000', String(perBus), QUICK ? '2' : '5']);
    if (r.code !== 0) throw new Error(`tree benchmark failed: ${tail(r.stderr)}`);
    const rounds = jsonLines(r.stdout)[0];
    const s = (f) => summary(rounds.map(f));
    x.tree[label] = {
      devices: 10000,
      perBus,
      buses: Math.ceil(10000 / perBus),
      nodes: rounds[0].nodes,
      requests: rounds[0].requests,
      loadMores: rounds[0].loadMores,
      rootMs: s((q) => q.rootMs),
      firstPageMs: s((q) => q.firstPageMs),
      allChildrenMs: s((q) => q.allChildrenMs),
      treeItemsMs: s((q) => q.treeItemsMs),
      floorMs: s((q) => q.floorMs),
    };
    x.tree[label].ratio = x.tree[label].allChildrenMs.median / x.tree[label].floorMs.median;
    log(
      `extension tree (${label}): all children ${x.tree[label].allChildrenMs.median.toFixed(1)} ms, getTreeItem ${x.tree[label].treeItemsMs.median.toFixed(1)} ms (floor ${x.tree[label].floorMs.median.toFixed(1)} ms)`,
    );
  }
}

/** File names and sizes inside a VSIX (a zip): read from its central directory. */
function vsixEntries(file) {
  try {
    const buf = fs.readFileSync(file);
    let eocd = -1;
    for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
      if (buf.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return [];
    const count = buf.readUInt16LE(eocd + 10);
    let off = buf.readUInt32LE(eocd + 16);
    const out = [];
    for (let i = 0; i < count && buf.readUInt32LE(off) === 0x02014b50; i++) {
      const compressed = buf.readUInt32LE(off + 20);
      const size = buf.readUInt32LE(off + 24);
      const nlen = buf.readUInt16LE(off + 28);
      const elen = buf.readUInt16LE(off + 30);
      const clen = buf.readUInt16LE(off + 32);
      out.push({ name: buf.subarray(off + 46, off + 46 + nlen).toString('utf8'), compressed, size });
      off += 46 + nlen + elen + clen;
    }
    return out.sort((a, b) => b.compressed - a.compressed);
  } catch {
    return [];
  }
}

// ---- targets -----------------------------------------------------------------------------

function targets(results) {
  const t = [];
  const add = (id, name, target, value, met, reference) => t.push({ id, name, target, value, met, reference });
  const ring = results.ring;
  if (ring) {
    for (const s of ring.sizes) {
      add(
        `ring${s.signalSize}`,
        `Signal queue, ${s.signalSize === 1024 ? '1 KiB' : s.signalSize + '-byte'} signals`,
        '≥ 0.5× the C reference',
        s.ratio === null ? 'no C reference' : `${s.ratio.toFixed(3)}×`,
        s.ratio === null ? null : s.ratio >= 0.5,
        s.c ? `C (no barrier) ${fmtRate(s.c)} pairs/s${s.ratioBarrier ? `; ${s.ratioBarrier.toFixed(3)}× the C ring with mb()` : ''}` : 'gcc missing',
      );
    }
  }
  const e = results.emulator;
  if (e?.throughput) {
    const d = e.throughput.dispatchesPerSec;
    const ratio = d / e.throughput.floor.dispatchesPerSec;
    add(
      'dispatch',
      `channel_interrupt dispatches/s (${e.throughput.buses} buses × ${e.throughput.perBus})`,
      '≥ 1,000,000 /s and ≥ 0.6× the fair floor',
      `${fmtRate(d)} /s, ${ratio.toFixed(2)}× the floor`,
      d >= 1e6 && ratio >= 0.6,
      `floor ${fmtRate(e.throughput.floor.dispatchesPerSec)} /s`,
    );
  }
  if (e?.linearity) {
    const L = e.linearity;
    const worst = Math.max(...['build', 'run', 'heap', 'resident'].map((k) => L[k] ?? 0));
    add(
      'linear',
      `Scaling ${L.from.toLocaleString('en-US')} → ${L.to.toLocaleString('en-US')} devices`,
      'linear (log-log slope ≤ 1.10)',
      `slopes: build ${f2(L.build)}, 1 s run ${f2(L.run)}, heap ${f2(L.heap)}, resident ${f2(L.resident)}`,
      worst <= 1.1,
      `the ${L.from.toLocaleString('en-US')}-device point; the bare dispatch floor's slope over the same range: ${f2(L.floor)}`,
    );
  }
  const a = results.adapter;
  if (a?.real?.stats && a.real.facts?.ok !== false) {
    const s = a.real.stats;
    const fl = a.floor.stats;
    add('next', `Adapter \`next\` p99 (${a.scenario.devices} devices)`, '≤ 5 ms', `${f2(s.next.p99)} ms`, s.next.p99 <= 5, `floor p99 ${f2(fl.next.p99)} ms`);
    add(
      'variables',
      `Adapter channel variables p99 (${a.scenario.devices} devices)`,
      '≤ 20 ms',
      `${f2(s.variables.p99)} ms`,
      s.variables.p99 <= 20,
      `floor p99 ${f2(fl.variables.p99)} ms`,
    );
    if (s.stepBack.n)
      add(
        'stepBack',
        `Adapter \`stepBack\` p99 after ${(a.real.facts.eventsBeforeStepBack ?? 0).toLocaleString('en-US')} events`,
        '≤ 50 ms',
        `${f2(s.stepBack.p99)} ms`,
        s.stepBack.p99 <= 50 && (a.real.facts.eventsBeforeStepBack ?? 0) >= 100000,
        `floor p99 ${f2(fl.stepBack.p99)} ms`,
      );
  } else if (a) {
    add('next', 'Adapter latency', '≤ 5 ms / 20 ms / 50 ms', 'not measured', null, a.real?.note ?? a.real?.facts?.error ?? '');
  }
  const tt = results.timeTravel;
  if (tt?.ok) {
    for (const h of tt.histories) {
      const H = h.eventsAtStop.toLocaleString('en-US');
      add(
        `stepBack@${h.history}`,
        `\`stepBack\` p99 after ${H} events (checkpoints settled)`,
        '≤ 50 ms',
        `${f2(h.stepBackPaced.p99)} ms`,
        h.stepBackPaced.p99 <= 50,
        `back-to-back p99 ${f2(h.stepBackBurst.p99)} ms; forward ${fmtRate(h.forward.eventsPerSec)} events/s`,
      );
      if (h.reverseFar) {
        const budget = (1e6 / h.forward.eventsPerSec) * 1000;
        add(
          `reverseFar@${h.history}`,
          `\`reverseContinue\` ~10^6 events back after ${H} events`,
          '≤ forward time of 10^6 events',
          `${f2(h.reverseFar.ms)} ms`,
          h.reverseFar.ms <= budget && h.reverseFar.ok,
          `10^6 events forward: ${f2(budget)} ms`,
        );
      }
      if (h.memory?.checkpointBytes && h.memory.liveBytes) {
        const r = h.memory.checkpointBytes / h.memory.liveBytes;
        add(
          `cpmem@${h.history}`,
          `Checkpoint memory after ${H} events`,
          '≤ 2× the model',
          `${(h.memory.checkpointBytes / 2 ** 20).toFixed(0)} MiB (${r.toFixed(2)}×)`,
          r <= 2,
          `the live model ${(h.memory.liveBytes / 2 ** 20).toFixed(0)} MiB`,
        );
      }
    }
  }
  const x = results.extension;
  if (x) {
    const v = x.activationVsCode;
    add(
      'activationVsCode',
      'Extension activation in VS Code (code loading + activate), median',
      '≤ 50 ms',
      v?.ok ? `${f2(v.total.median)} ms` : 'not measured',
      v?.ok ? v.total.median <= 50 : null,
      v?.ok ? `${v.total.n} windows, VS Code's own figure` : (v?.note ?? 'not measured'),
    );
    add(
      'activation',
      'Extension activation in Node with a stand-in `vscode` (require + activate), median',
      '≤ 50 ms',
      `${f2(x.activation.real.total.median)} ms`,
      x.activation.real.total.median <= 50,
      `floor ${f2(x.activation.floor.total.median)} ms`,
    );
    if (x.vsix.bytes !== null)
      add(
        'vsix',
        'VSIX size',
        '≤ 1 MB (1,000,000 bytes)',
        `${x.vsix.bytes.toLocaleString('en-US')} bytes${x.vsix.fallback ? ' (fallback package: npm run package failed)' : ''}`,
        x.vsix.bytes <= 1e6,
        `${(x.vsix.bytes / 1e6).toFixed(2)} of the limit`,
      );
  }
  return t;
}

const f2 = (v) => (v === null || v === undefined ? '—' : v.toFixed(2));
function fmtRate(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

// ---- profiles of missed targets ----------------------------------------------------------

async function profiles(results) {
  const ran = {
    ring64: 'ring',
    ring1024: 'ring',
    dispatch: 'emu',
    linear: 'emu',
    next: 'dap',
    variables: 'dap',
    stepBack: 'dap',
    activation: 'ext',
    vsix: 'ext',
  };
  const missed = new Set(results.targets.filter((t) => t.met === false && ONLY.includes(ran[t.id])).map((t) => t.id));
  const p = {};
  results.profiles = p;
  if (NO_PROFILE || !missed.size) return;
  const dir = path.join(OUT, 'prof');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const cpuProf = async (name, argv) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    const r = await run(NODE, ['--cpu-prof', `--cpu-prof-dir=${d}`, ...argv], { timeoutMs: 600000 });
    if (r.code !== 0) return { error: tail(r.stderr) };
    const f = busiestProfile(d);
    return f ? { ...summarizeProfile(f, 10, ROOT), file: path.relative(ROOT, f) } : { error: 'no profile written' };
  };
  if (missed.has('ring64') || missed.has('ring1024')) {
    log('profile: signal queue (64-byte signals)');
    p.ring = {
      what: 'node --cpu-prof out/bench/ring.js 64 64 0.3 3 ts (insert+remove pairs through VisorChannel)',
      ...(await cpuProf('ring', [path.join(OUT, 'ring.js'), '64', '64', '0.3', '3', 'ts'])),
    };
  }
  if (missed.has('dispatch')) {
    const n = QUICK ? 2000 : 16000;
    log(`profile: emulator, ${n} devices, the virtual second only`);
    const f = path.join(dir, 'emu-run.cpuprofile');
    const r = await run(NODE, ['--expose-gc', path.join(OUT, 'emu.js'), String(n), '--root', ROOT, '--virtual-ms', '400', '--profile', f], {
      timeoutMs: 600000,
    });
    p.dispatch =
      r.code === 0 && fs.existsSync(f)
        ? { what: `inspector profile of \`wait 400ms\` on ${n} devices (polling only)`, ...summarizeProfile(f, 12, ROOT), file: path.relative(ROOT, f) }
        : { error: tail(r.stderr) };
  }
  if (missed.has('linear')) {
    // Profile the phase whose slope is too steep at both ends of the range and set the
    // functions' costs per unit of work side by side.
    const L = results.emulator.linearity;
    const phase = (L.run ?? 0) >= (L.build ?? 0) ? 'run' : 'build';
    const sizes = [L.from, L.to];
    log(`profile: emulator ${phase === 'run' ? 'virtual second' : 'build'} at ${sizes.join(' and ')} devices`);
    const per = [];
    for (const n of sizes) {
      const f = path.join(dir, `scale-${phase}-${n}.cpuprofile`);
      const r = await run(NODE, ['--expose-gc', path.join(OUT, 'emu.js'), String(n), '--root', ROOT, phase === 'run' ? '--profile' : '--profile-build', f], {
        timeoutMs: 600000,
      });
      if (r.code !== 0 || !fs.existsSync(f)) {
        per.push({ devices: n, error: tail(r.stderr) });
        continue;
      }
      const res = jsonLines(r.stdout)[0];
      const units = phase === 'run' ? res.dispatches : n;
      per.push({ devices: n, units, ...summarizeProfile(f, 40, ROOT), file: path.relative(ROOT, f) });
    }
    const [a, b] = per;
    if (a?.top && b?.top) {
      const key = (x) => `${x.fn}\u0000${x.where}`;
      const cost = (prof, x) => (x.share * prof.profiledMs * 1000) / prof.units; // µs per unit
      const am = new Map(a.top.map((x) => [key(x), cost(a, x)]));
      const rows = b.top.slice(0, 14).map((x) => ({ fn: x.fn, where: x.where, small: am.get(key(x)) ?? 0, large: cost(b, x) }));
      p.linear = {
        what: `inspector profiles of the ${phase === 'run' ? '`wait 1000ms` line' : 'build'} at ${sizes.map((n) => n.toLocaleString('en-US')).join(' and ')} devices`,
        phase,
        unit: phase === 'run' ? 'µs per channel_interrupt dispatch' : 'µs per device',
        from: a.devices,
        to: b.devices,
        totalSmall: (a.profiledMs * 1000) / a.units,
        totalLarge: (b.profiledMs * 1000) / b.units,
        rows,
      };
    } else
      p.linear = {
        error:
          per
            .map((x) => x.error)
            .filter(Boolean)
            .join('; ') || 'no profile',
      };
  }
  if ((missed.has('next') || missed.has('variables') || missed.has('stepBack')) && results.adapter?.real?.facts?.ok) {
    log('profile: adapter worker thread during the adapter script (step back dominates)');
    const d = path.join(dir, 'adapter');
    fs.mkdirSync(d, { recursive: true });
    const counts = { nSteps: 20, nVars: 5, nMem: 2, nBack: 4 };
    const scen = writeAdapterScenario(ROOT, OUT, adapterScenarioShape(counts));
    const r = await runAdapterBench(
      { command: NODE, args: ['--cpu-prof', `--cpu-prof-dir=${d}`, path.join(ROOT, 'dist', 'emulator.js'), 'dap'], cwd: ROOT, label: 'profile' },
      scen,
      counts,
    );
    const f = busiestProfile(d);
    p.adapter = f
      ? {
          what: `node --cpu-prof dist/emulator.js dap, busiest thread (the model worker; \`Link.next\`, where it blocks waiting for the next request, is left out); 20 next, 20 stepIn, 5 variable fetches, 4 step-backs after ${QUICK ? 'the big wait' : 'more than 100,000 events'}`,
          ...summarizeProfile(f, 12, ROOT, [(x) => x.fn === 'next' && /worker\/link\.ts/.test(x.where)]),
          file: path.relative(ROOT, f),
          ok: r.facts.ok,
        }
      : { error: 'no profile written' };
  }
  if (missed.has('activation')) {
    log('profile: extension activation');
    p.activation = {
      what: 'node --cpu-prof scripts/bench/ext.cjs activate dist/extension.js',
      ...(await cpuProf('activation', [path.join(ROOT, 'scripts', 'bench', 'ext.cjs'), 'activate', ROOT, 'dist/extension.js'])),
    };
  }
}

// ---- main --------------------------------------------------------------------------------

/** Write BENCHMARKS.md (keeping its Soak section) and bench/scaling.svg from a results object. */
function writeReport(results) {
  if (results.emulator?.scaling?.length) fs.writeFileSync(path.join(ROOT, 'bench', 'scaling.svg'), renderScalingSvg(results.emulator.scaling));
  const mdFile = path.join(ROOT, 'BENCHMARKS.md');
  const old = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : '';
  const soak = extractSection(old, 'Soak') ?? SOAK_PLACEHOLDER;
  fs.writeFileSync(mdFile, renderMarkdown(results, soak));
}

async function main() {
  if (args.includes('--report-only')) {
    // Regenerate BENCHMARKS.md and the plot from bench/results.json without measuring.
    writeReport(JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results.json'), 'utf8')));
    log('wrote BENCHMARKS.md and bench/scaling.svg from bench/results.json');
    return;
  }
  const results = { tool: 'npm run bench (scripts/bench.mjs)', generatedAt: new Date().toISOString(), quick: QUICK, sections: ONLY, machine: machine() };
  log(`Visorbus Studio benchmarks${QUICK ? ' (quick)' : ''} on ${results.machine.cpus} × ${results.machine.cpu}, Node ${results.machine.node}`);
  await build(results);
  const sections = { ring, emu: emulator, dap: adapter, ext: extension, travel: timeTravel };
  results.failures = [];
  for (const name of ['ring', 'emu', 'dap', 'ext', 'travel']) {
    if (!ONLY.includes(name)) continue;
    try {
      await sections[name](results);
    } catch (e) {
      results.failures.push({ section: name, error: e instanceof Error ? e.message : String(e) });
      log(`${name}: FAILED: ${e instanceof Error ? e.message : e}`);
    }
  }
  // --only: the sections not run this time keep their figures from the previous results.json
  const keys = { ring: 'ring', emu: 'emulator', dap: 'adapter', ext: 'extension', travel: 'timeTravel' };
  const profileKeys = { ring: ['ring'], emu: ['dispatch', 'linear'], dap: ['adapter'], ext: ['activation'] };
  const prevFile = path.join(ROOT, 'bench', 'results.json');
  const prev = ONLY.length < Object.keys(keys).length && fs.existsSync(prevFile) ? JSON.parse(fs.readFileSync(prevFile, 'utf8')) : undefined;
  const kept = [];
  if (prev) {
    for (const [sec, key] of Object.entries(keys)) {
      if (ONLY.includes(sec) || !prev[key]) continue;
      results[key] = prev[key];
      kept.push(`${sec} (from the run of ${prev.generatedAt})`);
    }
    if (kept.length)
      results.build.notes.push(`--only=${ONLY.join(',')}: these sections are the figures of an earlier run, not re-measured: ${kept.join(', ')}`);
  }
  results.targets = targets(results);
  await profiles(results);
  if (prev?.profiles) {
    for (const [sec, ks] of Object.entries(profileKeys)) {
      if (ONLY.includes(sec)) continue;
      for (const k of ks) if (prev.profiles[k] && !results.profiles[k]) results.profiles[k] = prev.profiles[k];
    }
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  results.durationSec = +((Date.now() - T0) / 1000).toFixed(1);

  fs.mkdirSync(path.join(ROOT, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeReport(results);
  log(`wrote bench/results.json, BENCHMARKS.md${results.emulator?.scaling?.length ? ', bench/scaling.svg' : ''} in ${results.durationSec} s`);
  for (const t of results.targets) log(`  ${t.met === true ? 'met    ' : t.met === false ? 'NOT MET' : 'n/a    '} ${t.name}: ${t.value} (target ${t.target})`);
  if (results.failures.length) process.exitCode = 1;
}

main().catch((e) => {
  log(`bench failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
