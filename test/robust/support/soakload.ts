/**
 * The soak workload, shared by `npm run soak` (scripts/soak.mjs, 10,000,000 events) and the
 * short soak test: a console and an IO partition, then the same mixed cycle again and
 * again — disk writes, reads and flushes on an image file, network frames both ways,
 * keyboard and mouse input, pause/resume of a NIC, hot-plug of a NIC and a keyboard
 * (DEVICE_CREATE/DESTROY), parahotplug, a medium error now and then — until the event
 * count is reached. Memory is sampled along the way; the trace checksum identifies the run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseScenario } from '../../../src/emulator/scenario/parser';
import { ScenarioRun } from '../../../src/emulator/scenario/runner';
import { Scenario } from '../../../src/emulator/scenario/ast';
import { Emulator } from '../../../src/emulator/emulator';
import { standardOptions } from '../../../src/emulator/host/scenariofile';

export const SOAK_SETUP = `chipset init features=3
chipset ready
bus create 1 name=console
device create 1:1 type=keyboard
device create 1:2 type=mouse
bus create 2 name=io
device create 2:0 type=vhba
device create 2:1 type=vnic
disk 2:0 attach lun=0 image=soak.img size=4M
wait 100ms
net 2:1 open
net 2:1 link up
input 1:1 open
input 1:2 open
wait 20ms
`;

/** Cycle `i` of the workload (deterministic in i). */
export function soakCycle(i: number): string {
  const lba = (i * 7) % 8000;
  const lines = [
    `disk 2:0 write lun=0 lba=${lba} "cycle ${i}"`,
    `disk 2:0 read lun=0 lba=${lba} count=1`,
    `net 2:1 send "frame ${i}"`,
    `net 2:1 xmit "reply ${i}"`,
    'keyboard 1:1 type "ok"',
    `mouse 1:2 move ${i % 1024} ${(i * 3) % 768}`,
    'mouse 1:2 click left',
    'wait 5ms',
    'device pause 2:1',
    'device resume 2:1',
    'device create 2:3 type=vnic',
    'device create 1:4 type=keyboard',
    'wait 5ms',
    'device destroy 2:3',
    'device destroy 1:4',
  ];
  if (i % 10 === 9) lines.push('disk 2:0 flush lun=0');
  if (i % 25 === 12) lines.push('parahotplug 2:9 enable', 'parahotplug 2:9 disable');
  if (i % 50 === 37) lines.push('fault 2:0 medium-error', `disk 2:0 read lun=0 lba=${lba} count=1`);
  lines.push('wait 10ms');
  return lines.join('\n') + '\n';
}

export interface SoakSample {
  events: number;
  cycles: number;
  jiffies: number;
  wallMs: number;
  heapUsed: number;
  rss: number;
  /** ArrayBuffer memory outside the JS heap (guest memory pages live there). */
  arrayBuffers: number;
  /** Bytes of guest memory pages actually allocated. */
  guestResident: number;
  regions: number;
  timers: number;
  sentRecords: number;
}

export interface SoakResult {
  events: number;
  cycles: number;
  jiffies: number;
  checksum: number;
  wallMs: number;
  samples: SoakSample[];
  /** Error events by data.category (expected ones: the injected medium errors, kernel quirks). */
  errorEvents: Record<string, number>;
  /** Step errors of the first cycles that had any (there should be none). */
  stepErrors: string[];
}

export interface SoakOptions {
  events: number;
  /** Directory of the scenario and its disk image; the same path gives the same trace. */
  dir: string;
  sampleEvery: number;
  /** A full garbage collection before each sample (node --expose-gc), if available. */
  gc?: () => void;
  onSample?: (s: SoakSample) => void;
}

export function runSoak(o: SoakOptions): SoakResult {
  fs.rmSync(o.dir, { recursive: true, force: true });
  fs.mkdirSync(o.dir, { recursive: true });
  const file = path.join(o.dir, 'soak.visor');
  const t0 = Date.now();
  const emu = new Emulator(standardOptions(file, { keepEvents: false }));
  const errorEvents: Record<string, number> = {};
  emu.engine.log.onEvent((ev) => {
    if (ev.kind === 'error') {
      const k = String(ev.data?.category ?? 'log');
      errorEvents[k] = (errorEvents[k] ?? 0) + 1;
    }
  });
  const stepErrors: string[] = [];
  const setup = parseScenario(SOAK_SETUP, file);
  const setupSteps = setup.steps.length;
  const runPart = (sc: Scenario) => {
    const r = new ScenarioRun(emu, sc);
    r.runToEnd();
    for (const e of r.errors) if (stepErrors.length < 20) stepErrors.push(`${e.line}: ${e.message}`);
  };
  runPart(setup);
  const samples: SoakSample[] = [];
  const sample = (cycles: number) => {
    o.gc?.();
    const mu = process.memoryUsage();
    const s: SoakSample = {
      events: emu.engine.log.count,
      cycles,
      jiffies: emu.engine.jiffies,
      wallMs: Date.now() - t0,
      heapUsed: mu.heapUsed,
      rss: mu.rss,
      arrayBuffers: mu.arrayBuffers,
      guestResident: emu.memory.residentBytes(),
      regions: emu.memory.listRegions().length,
      timers: emu.engine.clock.pendingTimers(),
      sentRecords: emu.cp.sent.size,
    };
    samples.push(s);
    o.onSample?.(s);
  };
  sample(0);
  let cycles = 0;
  let nextSample = o.sampleEvery;
  while (emu.engine.log.count < o.events) {
    // The cycle is parsed after the set-up text, so its device lines see the buses declared.
    const sc = parseScenario(SOAK_SETUP + soakCycle(cycles), file);
    const bad = sc.diagnostics.filter((d) => d.severity === 'error');
    if (bad.length) throw new Error(`soak cycle ${cycles} does not parse: ${bad[0].line}:${bad[0].column} ${bad[0].message}`);
    sc.steps = sc.steps.slice(setupSteps);
    runPart(sc);
    cycles++;
    if (emu.engine.log.count >= nextSample) {
      sample(cycles);
      nextSample += o.sampleEvery;
    }
  }
  if (samples[samples.length - 1].cycles !== cycles) sample(cycles);
  emu.shutdown();
  return {
    events: emu.engine.log.count,
    cycles,
    jiffies: emu.engine.jiffies,
    checksum: emu.engine.log.checksum,
    wallMs: Date.now() - t0,
    samples,
    errorEvents,
    stepErrors,
  };
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface Flatness {
  /** Samples after the warm-up (the first `warmup` fraction of the events). */
  steady: SoakSample[];
  /** Heap growth over the steady part, projected from the least-squares trend (bytes). */
  heapTrendBytes: number;
  heapMin: number;
  heapMax: number;
  guestMin: number;
  guestMax: number;
  regionsMin: number;
  regionsMax: number;
  flat: boolean;
  why: string[];
}

/** Memory is flat after warm-up when the heap trend, guest pages, regions and timers do not grow. */
export function flatness(samples: readonly SoakSample[], warmup = 0.2, heapAllowance = 16 * 1024 * 1024): Flatness {
  const last = samples[samples.length - 1];
  const steady = samples.filter((s) => s.events >= last.events * warmup);
  const xs = steady.map((s) => s.events);
  const heap = steady.map((s) => s.heapUsed);
  const span = xs.length ? xs[xs.length - 1] - xs[0] : 0;
  const heapTrendBytes = slope(xs, heap) * span;
  const guest = steady.map((s) => s.guestResident);
  const regions = steady.map((s) => s.regions);
  const timers = steady.map((s) => s.timers);
  const why: string[] = [];
  if (steady.length < 3) why.push(`only ${steady.length} samples after warm-up`);
  if (heapTrendBytes > heapAllowance) why.push(`heap trend +${(heapTrendBytes / 1048576).toFixed(1)} MiB over the steady part`);
  if (Math.max(...guest) > Math.min(...guest) * 1.05 + 65536) why.push(`guest memory grew from ${Math.min(...guest)} to ${Math.max(...guest)} bytes`);
  if (Math.max(...regions) > Math.min(...regions) + 4) why.push(`mapped regions grew from ${Math.min(...regions)} to ${Math.max(...regions)}`);
  if (Math.max(...timers) > Math.min(...timers) + 8) why.push(`armed timers grew from ${Math.min(...timers)} to ${Math.max(...timers)}`);
  return {
    steady,
    heapTrendBytes,
    heapMin: Math.min(...heap),
    heapMax: Math.max(...heap),
    guestMin: Math.min(...guest),
    guestMax: Math.max(...guest),
    regionsMin: Math.min(...regions),
    regionsMax: Math.max(...regions),
    flat: why.length === 0,
    why,
  };
}
