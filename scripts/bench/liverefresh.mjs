#!/usr/bin/env node
/**
 * What the live refresh costs the model (`node scripts/bench/liverefresh.mjs`): the adapter runs
 * one long `wait` line on a polled topology, and the model's rate (events per wall-clock second,
 * from the eventIndex of `visorbus/changed`) is compared between a client that only listens and a
 * client that, on every `visorbus/changed`, re-reads what the open views read (topology, a device
 * page, a channel, a timeline page), as VS Code with the Visorbus views and the inspector does.
 * Runs alternate between the two; the medians are printed. Needs `npm run build` (dist/emulator.js).
 *
 *   node scripts/bench/liverefresh.mjs [--devices N] [--seconds S] [--runs R]
 */
/* global process */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DapClient } from './dapclient.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const DEVICES = opt('--devices', 64);
const SECONDS = opt('--seconds', 4);
const RUNS = opt('--runs', 3);

function scenario() {
  const lines = ['chipset init', 'bus create 2'];
  for (let d = 0; d < DEVICES; d++) lines.push(`device create 2:${d} type=vhba`);
  // Waits of at most 600 s each (the emulator's limit): a run far longer than the measurement.
  for (let i = 0; i < 200; i++) lines.push('wait 600s');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-live-')), 'live.visor');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Events per second over SECONDS of the long waits, after a one-second warm-up. */
async function measure(file, views) {
  const dc = new DapClient(process.execPath, [path.join(ROOT, 'dist', 'emulator.js'), 'dap']);
  const ticks = [];
  let refreshing = false;
  let refreshes = 0;
  const refresh = async () => {
    refreshing = true;
    try {
      await dc.request('visorbus/topology');
      await dc.request('visorbus/devices', { bus: 2, start: 0, count: 200 });
      await dc.request('visorbus/channel', { device: '2:0' });
      await dc.request('visorbus/timeline', { start: 0, count: 200 });
      refreshes++;
    } finally {
      refreshing = false;
    }
  };
  dc.onEvent((m) => {
    if (m.event !== 'visorbus/changed' || m.body.reason !== 'time') return;
    ticks.push({ at: performance.now(), n: m.body.eventIndex });
    if (views && !refreshing) void refresh();
  });
  await dc.request('initialize', { adapterID: 'visorbus', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
  await dc.request('launch', { scenario: file, stopOnEntry: false });
  await dc.next('initialized');
  await dc.request('configurationDone');
  const t0 = performance.now();
  while (performance.now() - t0 < (SECONDS + 1) * 1000) await new Promise((r) => setTimeout(r, 100));
  await dc.close();
  const window = ticks.filter((t) => t.at - t0 >= 1000);
  const a = window[0];
  const b = window[window.length - 1];
  return { rate: ((b.n - a.n) * 1000) / (b.at - a.at), ticksPerSecond: ((window.length - 1) * 1000) / (b.at - a.at), refreshes };
}

const median = (xs) => xs.slice().sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const file = scenario();
const quiet = [];
const live = [];
for (let r = 0; r < RUNS; r++) {
  quiet.push(await measure(file, false));
  live.push(await measure(file, true));
  process.stdout.write(
    `run ${r + 1}: listening ${quiet[r].rate.toFixed(0)} events/s, views refreshing ${live[r].rate.toFixed(0)} events/s (${live[r].refreshes} refreshes)\n`,
  );
}
const q = median(quiet.map((x) => x.rate));
const l = median(live.map((x) => x.rate));
process.stdout.write(
  `\n${DEVICES} polled devices, one long wait line, ${RUNS} runs of ${SECONDS} s each way (medians):\n` +
    `  visorbus/changed rate while running: ${median(quiet.map((x) => x.ticksPerSecond)).toFixed(1)} per second\n` +
    `  model rate, client only listening:   ${q.toFixed(0)} events/s\n` +
    `  model rate, views refreshing:        ${l.toFixed(0)} events/s\n` +
    `  cost of the live refresh:            ${(((q - l) / q) * 100).toFixed(1)} %\n`,
);
fs.rmSync(path.dirname(file), { recursive: true, force: true });
