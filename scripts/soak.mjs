// The soak run (`npm run soak`): 10,000,000 events of a mixed workload — disk I/O on an
// image file, network frames both ways, keyboard and mouse input, pause/resume, device
// hot-plug, parahotplug, injected medium errors (test/robust/support/soakload.ts) — run
// twice, each in its own process. Memory is sampled along the way and must be flat after
// warm-up; the two runs' trace checksums must be identical. The figures are printed and
// written into the "## Soak" section of BENCHMARKS.md (the rest of that file is left as it is).
//
//   node scripts/soak.mjs [--events N] [--runs N] [--samples N] [--no-write]
//
// Exit status 1 when a check fails. Needs only Node 20 and the dev dependencies (esbuild).
/* global process */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIB = path.join(ROOT, 'out', 'soak', 'soakload.cjs');
const args = process.argv.slice(2);

function opt(name, def) {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) {
    process.stderr.write(`soak: ${name} needs a positive whole number\n`);
    process.exit(2);
  }
  return v;
}

const EVENTS = opt('--events', 10_000_000);
const RUNS = opt('--runs', 2);
const SAMPLES = opt('--samples', 50);
const WRITE = !args.includes('--no-write');
/**
 * Samples before this share of the events are warm-up: the bounded histories (sent messages,
 * kernel log, uevents) fill up over the first million events or so.
 */
const WARMUP = Math.min(0.9, Math.max(0.2, 1_000_000 / EVENTS));
/**
 * Largest heap growth over the steady part, from the least-squares trend of the samples. Tight
 * on purpose: a leak of ~60 bytes per workload cycle (typed text kept forever) showed as +2.9 MiB.
 */
const HEAP_ALLOWANCE = 1.5 * 1048576;
/** Both runs use this directory (one after the other): the image path is part of the trace. */
const DIR = path.join(os.tmpdir(), 'visorbus-soak');

const mib = (b) => (b / 1048576).toFixed(1);
const fmt = (n) => n.toLocaleString('en-US');

/** Bundle the workload and the emulator it drives (independent of tsc and of out/). */
async function bundle() {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'test/robust/support/soakload.ts')],
    outfile: LIB,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
}

// ---- child: one run ------------------------------------------------------------------------

function child() {
  const lib = createRequire(import.meta.url)(LIB);
  const events = opt('--events', 10_000_000);
  const every = Math.max(10_000, Math.floor(events / opt('--samples', 50)));
  const result = lib.runSoak({
    events,
    dir: DIR,
    sampleEvery: every,
    gc: globalThis.gc,
    onSample: (s) => process.stdout.write(JSON.stringify({ sample: s }) + '\n'),
  });
  process.stdout.write(JSON.stringify({ result }) + '\n');
}

function runChild(index) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', '--events', String(EVENTS), '--samples', String(SAMPLES)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    let result;
    p.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg;
        try {
          msg = JSON.parse(line);
        } catch {
          process.stdout.write(line + '\n');
          continue;
        }
        if (msg.sample) {
          const s = msg.sample;
          process.stdout.write(
            `run ${index + 1}: ${fmt(s.events).padStart(11)} events  ${fmt(s.cycles).padStart(7)} cycles  ${(s.wallMs / 1000).toFixed(1).padStart(6)} s  heap ${mib(s.heapUsed).padStart(6)} MiB  rss ${mib(s.rss).padStart(6)} MiB  guest ${mib(s.guestResident)} MiB  regions ${s.regions}  timers ${s.timers}\n`,
          );
        } else if (msg.result) result = msg.result;
      }
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (result ? resolve(result) : reject(new Error(`soak run ${index + 1} ended (${signal ?? code}) without a result`))));
  });
}

// ---- parent ---------------------------------------------------------------------------------

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function section(results, verdicts, lib, meta) {
  const r0 = results[0];
  const cols = results.map((_, i) => `run ${i + 1}`);
  const row = (name, f) => `| ${name} | ${results.map(f).join(' | ')} |`;
  const flats = results.map((r) => lib.flatness(r.samples, WARMUP, HEAP_ALLOWANCE));
  const cats = [...new Set(results.flatMap((r) => Object.keys(r.errorEvents)))].sort();
  const lines = [
    '## Soak',
    '',
    `_Written by \`npm run soak\` (scripts/soak.mjs; workload in test/robust/support/soakload.ts). \`npm run bench\` keeps this section as it is._`,
    '',
    `${fmt(EVENTS)} events per run, ${results.length} runs, each in a fresh process. The workload: a console partition (keyboard, mouse) and an IO`,
    'partition (vhba with a disk image, vnic), then one cycle after another of a disk write + read (a flush every 10th cycle), a frame',
    'each way on the NIC, typed keys, a mouse move and click, pause and resume of the NIC, hot-plug of a NIC and a keyboard',
    '(DEVICE_CREATE, then DEVICE_DESTROY), a parahotplug enable/disable every 25th cycle and an injected medium error every 50th.',
    `Memory is sampled every ${fmt(r0.samples[1]?.events - r0.samples[0]?.events || 0)} events after a full GC; "after warm-up" means after the first ${Math.round(WARMUP * 100)} % of the events.`,
    '',
    `| | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    row('Events', (r) => fmt(r.events)),
    row('Workload cycles', (r) => fmt(r.cycles)),
    row('Virtual time', (r) => `${(r.jiffies / 1000).toFixed(1)} s`),
    row('Wall time', (r) => `${(r.wallMs / 1000).toFixed(1)} s`),
    row('Events per second (wall)', (r) => fmt(Math.round(r.events / (r.wallMs / 1000)))),
    row('Trace checksum', (r) => `\`0x${(r.checksum >>> 0).toString(16).padStart(8, '0')}\``),
    row('Heap after warm-up, min → max', (_, i) => `${mib(flats[i].heapMin)} → ${mib(flats[i].heapMax)} MiB`),
    row('Heap trend after warm-up (least squares)', (_, i) => `${flats[i].heapTrendBytes >= 0 ? '+' : ''}${mib(flats[i].heapTrendBytes)} MiB`),
    row('RSS, first sample after warm-up → last', (_, i) => `${mib(flats[i].steady[0].rss)} → ${mib(flats[i].steady[flats[i].steady.length - 1].rss)} MiB`),
    row('Guest memory pages after warm-up', (_, i) => `${mib(flats[i].guestMin)} → ${mib(flats[i].guestMax)} MiB`),
    row('Mapped guest regions after warm-up', (_, i) => `${flats[i].regionsMin} → ${flats[i].regionsMax}`),
    row('Failed workload steps', (r) => String(r.stepErrors.length)),
    ...cats.map((c) => row(`Error events: ${c}`, (r) => fmt(r.errorEvents[c] ?? 0))),
    '',
    '| Check | Result |',
    '|---|---|',
    ...verdicts.map((v) => `| ${v.name} | ${v.ok ? 'pass' : `**FAIL**: ${v.detail}`} |`),
    '',
    '### Memory along run 1',
    '',
    '| Events | Heap (MiB) | RSS (MiB) | Guest pages (MiB) | Regions | Timers | Sent-message records |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...r0.samples
      .filter((_, i, a) => i === 0 || i === a.length - 1 || i % Math.max(1, Math.floor(a.length / 10)) === 0)
      .map((s) => `| ${fmt(s.events)} | ${mib(s.heapUsed)} | ${mib(s.rss)} | ${mib(s.guestResident)} | ${s.regions} | ${s.timers} | ${s.sentRecords} |`),
    '',
    `Error events are the workload's own: \`log\` counts kernel-log errors (visornic's faithful "no interrupt function!" at every probe, the`,
    'injected medium errors); none is an exception, a driver error or a controlvm error.',
    '',
    `Run on ${meta.date}: ${meta.machine}, Node ${process.version}, load average ${meta.loadStart} → ${meta.loadEnd}, commit ${meta.commit}.`,
    '',
  ];
  return lines.join('\n');
}

function writeSection(text) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const lines = old.split('\n');
  const start = lines.findIndex((l) => /^##\s+Soak\b/.test(l));
  let out;
  if (start < 0) {
    out = old ? `${old.replace(/\s*$/, '\n')}\n${text}` : text;
  } else {
    let end = lines.length;
    let fence = false;
    for (let i = start + 1; i < lines.length; i++) {
      if (/^(```|~~~)/.test(lines[i])) fence = !fence;
      if (!fence && /^##\s/.test(lines[i])) {
        end = i;
        break;
      }
    }
    const after = lines.slice(end).join('\n');
    out = [...lines.slice(0, start), text.replace(/\n+$/, ''), ...(after ? ['', after] : [''])].join('\n');
  }
  fs.writeFileSync(file, out);
}

async function parent() {
  const t0 = Date.now();
  await bundle();
  const lib = createRequire(import.meta.url)(LIB);
  const loadStart = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  process.stdout.write(`soak: ${fmt(EVENTS)} events, ${RUNS} runs (one after the other, each in a fresh process), workload dir ${DIR}\n`);
  const results = [];
  for (let i = 0; i < RUNS; i++) results.push(await runChild(i));
  fs.rmSync(DIR, { recursive: true, force: true });
  const verdicts = [];
  const sums = results.map((r) => r.checksum >>> 0);
  verdicts.push({
    name: 'Trace checksums identical across runs',
    ok: sums.every((c) => c === sums[0]),
    detail: sums.map((c) => `0x${c.toString(16)}`).join(' vs '),
  });
  verdicts.push({
    name: 'Same event count and virtual time',
    ok: results.every((r) => r.events === results[0].events && r.jiffies === results[0].jiffies),
    detail: results.map((r) => `${r.events}@${r.jiffies}`).join(' vs '),
  });
  verdicts.push({
    name: 'Every workload step succeeded',
    ok: results.every((r) => r.stepErrors.length === 0),
    detail: results
      .flatMap((r) => r.stepErrors)
      .slice(0, 3)
      .join('; '),
  });
  for (const [i, r] of results.entries()) {
    const f = lib.flatness(r.samples, WARMUP, HEAP_ALLOWANCE);
    verdicts.push({
      name: `Memory flat after warm-up (run ${i + 1}: heap trend within ${mib(HEAP_ALLOWANCE)} MiB; guest pages, regions, timers constant)`,
      ok: f.flat,
      detail: f.why.join('; '),
    });
  }
  const bad = ['exception', 'driver', 'controlvm', 'overflow', 'probe'];
  verdicts.push({
    name: 'No exception, driver, controlvm, overflow or probe error events',
    ok: results.every((r) => bad.every((c) => !r.errorEvents[c])),
    detail: JSON.stringify(results.map((r) => r.errorEvents)),
  });
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${mib(os.totalmem() / 1024)} GiB`,
    loadStart,
    loadEnd: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    commit: gitCommit(),
  };
  const text = section(results, verdicts, lib, meta);
  process.stdout.write('\n' + text + '\n');
  if (WRITE) {
    writeSection(text);
    process.stdout.write(`soak: wrote the "## Soak" section of BENCHMARKS.md (${((Date.now() - t0) / 1000).toFixed(0)} s in all)\n`);
  }
  if (!verdicts.every((v) => v.ok)) process.exitCode = 1;
}

if (args.includes('--child')) child();
else
  parent().catch((e) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
