/**
 * Emulator throughput and scaling (`npm run bench`, figure 2). One topology per process so
 * that RSS and heap belong to it alone (run with --expose-gc):
 *
 *   node --expose-gc out/bench/emu.js DEVICES [--per-bus 16] [--virtual-ms 1000] [--floor] [--profile FILE]
 *
 * Builds the topology with the scenario runner (parseScenario -> newRun -> ScenarioRun.step),
 * keepEvents off so the event log is a ring: chipset init/ready, `bus create` per 16 devices,
 * `device create` per device, then `driver load` of a driver that enables channel
 * interrupts (all devices probe), then `wait 1s`. Prints one JSON object.
 *
 * --floor also times the dispatch floor in the same process: the same number of periodic
 * timers on the emulator's own Clock, each doing the driver's work (one signalremove on an
 * empty queue of a raw VisorChannel) and re-armed in place like the emulator's poll timer,
 * without the event log, frames, guard or observer.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { newRun } from '../../src/emulator/host/scenariofile';
import { parseScenario } from '../../src/emulator/scenario/parser';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import { Clock, Timer } from '../../src/emulator/engine/clock';
import { GuestMemory } from '../../src/emulator/memory/guestmemory';
import { VisorChannel } from '../../src/emulator/visorchannel/visorchannel';
import { initDeviceChannel } from '../../src/emulator/backend/channelinit';
// @ts-expect-error plain ES module shared with the adapter benchmark (bundled by esbuild)
import { topologyScenario } from './topology.mjs';

interface Options {
  devices: number;
  perBus: number;
  virtualMs: number;
  floor: boolean;
  root: string;
  /** Write a V8 CPU profile of the `wait` phase only (inspector session) to this file. */
  profile?: string;
  /** The same for the build phase (every line before `driver load`). */
  profileBuild?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { devices: Number(argv[0]), perBus: 16, virtualMs: 1000, floor: false, root: process.cwd() };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--per-bus') o.perBus = Number(argv[++i]);
    else if (a === '--virtual-ms') o.virtualMs = Number(argv[++i]);
    else if (a === '--floor') o.floor = true;
    else if (a === '--root') o.root = argv[++i];
    else if (a === '--profile') o.profile = argv[++i];
    else if (a === '--profile-build') o.profileBuild = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.devices > 0)) throw new Error('usage: emu.js DEVICES [options]');
  return o;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function mem(): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * CPU time of the main thread since `c0`, in ms: on Linux from /proc/thread-self/schedstat
 * (nanoseconds on a CPU; other processes on the cores and the garbage collector's helper
 * threads do not count), elsewhere the whole process's user + system time.
 */
interface CpuMark {
  thread?: number;
  process: NodeJS.CpuUsage;
}

function threadNs(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

function cpuMark(): CpuMark {
  return { thread: threadNs(), process: process.cpuUsage() };
}

function cpuMs(c0: CpuMark): number {
  const t = threadNs();
  if (t !== undefined && c0.thread !== undefined) return (t - c0.thread) / 1e6;
  const d = process.cpuUsage(c0.process);
  return (d.user + d.system) / 1000;
}

/** Which clock cpuMs uses. */
const CPU_CLOCK = threadNs() !== undefined ? 'read from /proc/thread-self/schedstat' : 'here the whole process: process.cpuUsage()';

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const driverFile = path.resolve(o.root, 'bench/drivers/benchpoll.js');
  const req = createRequire(__filename);
  const bench = req(driverFile) as { BENCH_GUID: string; stats: { probes: number; dispatches: number } };
  const typeGuid = bench.BENCH_GUID;
  const driverLine = `driver load ${driverFile}`;
  const text: string = topologyScenario(o.devices, o.perBus, typeGuid, [driverLine, `wait ${o.virtualMs}ms`]);
  const file = path.resolve(o.root, `bench/topology-${o.devices}.visor`); // never written: names the scenario

  const before = mem();
  const tParse = process.hrtime.bigint();
  const sc = parseScenario(text, file);
  const parseMs = ms(tParse);
  const errs = sc.diagnostics.filter((d) => d.severity === 'error');
  if (errs.length)
    throw new Error(
      `scenario errors: ${errs
        .slice(0, 3)
        .map((d) => d.message)
        .join('; ')}`,
    );
  let run: ScenarioRun | undefined = newRun(sc, { keepEvents: false, autoload: false });
  const driverStep = sc.steps.findIndex((s) => s.command.kind === 'driverLoad');

  // Phase 1: chipset, buses and devices (no driver bound, nothing polls).
  const tBuild = process.hrtime.bigint();
  const cBuild = cpuMark();
  const buildSession = o.profileBuild ? startProfile() : undefined;
  while (run.index < driverStep) run.step();
  const buildMs = ms(tBuild);
  if (buildSession && o.profileBuild) stopProfile(buildSession, o.profileBuild);
  const buildCpuMs = cpuMs(cBuild);
  const built = mem();
  const residentBuilt = run.emu.memory.residentBytes();
  const eventsBuilt = run.emu.engine.log.count;

  // Phase 2: driver load -> every device probes and enables channel interrupts.
  const tBind = process.hrtime.bigint();
  const cBind = cpuMark();
  run.step();
  const bindMs = ms(tBind);
  const bindCpuMs = cpuMs(cBind);
  const bound = run.emu.bus.devices.size;

  // Phase 3: one virtual second of polling.
  const ev0 = run.emu.engine.log.count;
  const d0 = bench.stats.dispatches;
  const j0 = run.emu.engine.jiffies;
  const session = o.profile ? startProfile() : undefined;
  const tRun = process.hrtime.bigint();
  const cRun = cpuMark();
  run.runToEnd();
  const runMs = ms(tRun);
  const runCpuMs = cpuMs(cRun);
  if (session && o.profile) stopProfile(session, o.profile);
  const events = run.emu.engine.log.count - ev0;
  const virtualJiffies = run.emu.engine.jiffies - j0;
  const dispatches = bench.stats.dispatches - d0;
  const after = mem();
  const residentAfter = run.emu.memory.residentBytes();
  const result: Record<string, unknown> = {
    devices: o.devices,
    buses: Math.ceil(o.devices / o.perBus),
    perBus: o.perBus,
    driver: 'benchpoll',
    steps: sc.steps.length,
    errors: run.errors.length,
    firstError: run.errors[0]?.message,
    probes: bench.stats.probes,
    objects: bound,
    parseMs,
    buildMs,
    bindMs,
    runMs,
    buildCpuMs,
    bindCpuMs,
    runCpuMs,
    virtualMs: (virtualJiffies * 1000) / run.emu.engine.clock.hz,
    events,
    eventsBuild: eventsBuilt,
    eventsTotal: run.emu.engine.log.count,
    dispatches,
    eventsPerSec: events / (runMs / 1000),
    dispatchesPerSec: dispatches / (runMs / 1000),
    dispatchesPerCpuSec: dispatches / (runCpuMs / 1000),
    cpuShare: runCpuMs / runMs,
    cpuClock: CPU_CLOCK,
    memory: { before, built, after },
    residentBytes: { built: residentBuilt, after: residentAfter },
    heapPerDevice: (built.heapUsed - before.heapUsed) / o.devices,
    rssPerDevice: (built.rss - before.rss) / o.devices,
    residentPerDevice: residentBuilt / o.devices,
    checksum: run.emu.engine.log.checksum,
  };
  run.emu.shutdown();
  run = undefined;

  if (o.floor) result.floor = dispatchFloor(o.devices, o.virtualMs);
  process.stdout.write(JSON.stringify(result) + '\n');
}

function startProfile(): inspector.Session {
  const s = new inspector.Session();
  s.connect();
  s.post('Profiler.enable');
  s.post('Profiler.setSamplingInterval', { interval: 200 });
  s.post('Profiler.start');
  return s;
}

/** Profiler.stop answers synchronously in the same thread, so the file is written before we go on. */
function stopProfile(s: inspector.Session, file: string): void {
  s.post('Profiler.stop', (err, res) => {
    if (!err && res) fs.writeFileSync(file, JSON.stringify(res.profile));
    s.disconnect();
  });
}

/** The same periodic timers on a bare Clock, re-armed in place, each doing the driver's empty signalremove. */
function dispatchFloor(devices: number, virtualMs: number): Record<string, number> {
  gc();
  const memory = new GuestMemory();
  const channels: VisorChannel[] = [];
  let addr = 0x1000_0000;
  for (let i = 0; i < devices; i++) {
    memory.map(addr, 0x10000, `floor ${i}`);
    initDeviceChannel(memory, addr, { typeGuid: 'b3c4e7a1-0d2f-4c55-9e61-62656e636831', size: 0x10000, version: 1 });
    const ch = VisorChannel.create(memory, addr, 'floor', `floor ${i}`);
    if (typeof ch === 'string') throw new Error(ch);
    channels.push(ch);
    addr += 0x11000;
  }
  const clock = new Clock(1000);
  const period = 10;
  let dispatches = 0;
  const buf = new Uint8Array(128);
  // One timer and one callback per device, re-armed in place after each dispatch, as VisorBus.poll does.
  channels.forEach((ch, i) => {
    const timer: Timer = clock.schedule(period, 1000, `floor ${i}`, () => {
      dispatches++;
      while (ch.signalRemove(0, buf) === 0);
      clock.rearm(timer, period);
    });
  });
  const limit = clock.jiffies + virtualMs;
  const t0 = process.hrtime.bigint();
  const c0 = cpuMark();
  for (;;) {
    const t = clock.popDue(limit);
    if (!t) break;
    clock.jiffies = t.due;
    t.fn(t.arg);
  }
  const wallMs = ms(t0);
  const cpu = cpuMs(c0);
  return { dispatches, wallMs, cpuMs: cpu, dispatchesPerSec: dispatches / (wallMs / 1000), dispatchesPerCpuSec: dispatches / (cpu / 1000) };
}

main();
