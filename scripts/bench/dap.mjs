/**
 * Adapter latency over stdio (`npm run bench`, figure 3). Drives one adapter process with
 * raw DAP framing through a fixed script on the 1,000-device topology and returns the
 * latency samples of each request kind:
 *
 *   next        step over one `wait 1ms` scenario line (100 channel_interrupt polls): request -> stopped
 *   stepIn      step into the next event: request -> stopped
 *   variables   stackTrace + scopes + every variable of the channel scopes (header, signal
 *               queues, their fields and pending signals), stopped in vbus1:dev0.channel_interrupt
 *   readMemory  64 KiB of that device's channel
 *   stepBack    one step back, stopped after more than 100,000 events (the adapter re-executes)
 *
 * The same script runs against the real adapter (`node dist/emulator.js dap`) and the floor
 * (bench/floor-adapter.js); ratios are taken in the caller. `launch` adds launch arguments
 * (the real adapter is also run with `checkpoints: 0`, to show what the standby workers add).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { DapClient } from './dapclient.mjs';
import { topologyLines } from './topology.mjs';

const BENCH_GUID = 'b3c4e7a1-0d2f-4c55-9e61-62656e636831';

/** Write the adapter scenario; returns its path and the line numbers the script uses. */
export function writeAdapterScenario(root, outDir, { devices = 1000, perBus = 16, steps = 60, bigWaitMs = 600, after = 40 } = {}) {
  // steps: `wait 1ms` lines for next/stepIn (one per next); the function-breakpoint continues
  // (one per 10 virtual ms) then run on into the big wait, which must outlast them; `after`
  // lines follow it for the step-backs.
  const driver = path.resolve(root, 'bench/drivers/benchpoll.js');
  const lines = topologyLines(devices, perBus, BENCH_GUID);
  lines.push(`driver load ${driver}`);
  const firstSmall = lines.length + 1;
  for (let i = 0; i < steps; i++) lines.push('wait 1ms');
  const bigWait = lines.length + 1;
  lines.push(`wait ${bigWaitMs}ms`);
  const afterFirst = lines.length + 1;
  for (let i = 0; i < after; i++) lines.push('wait 1ms');
  lines.push('log "end of the adapter benchmark scenario"');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `adapter-${devices}.visor`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, firstSmall, bigWait, afterFirst, afterLast: afterFirst + after - 1, devices, bigWaitMs };
}

const now = () => performance.now();

let phase = 'start';

async function stoppedAfter(dc, command, args, timeoutMs = 90000) {
  dc.drain('stopped');
  const t0 = now();
  const [, ev] = await Promise.all([dc.request(command, args, timeoutMs), dc.next('stopped', timeoutMs)]);
  return { ms: now() - t0, ev };
}

async function allVariables(dc, ref, depth, budget) {
  if (depth > 6 || budget.left <= 0) return 0;
  const r = await dc.request('variables', { variablesReference: ref });
  const vars = r.body?.variables ?? [];
  budget.left -= vars.length;
  let n = vars.length;
  for (const v of vars) if (v.variablesReference > 0) n += await allVariables(dc, v.variablesReference, depth + 1, budget);
  return n;
}

/**
 * Run the script. `adapter` = { command, args, label }. Returns samples (ms) per kind and facts.
 */
export async function runAdapterBench(adapter, scen, { nSteps = 50, nVars = 30, nMem = 30, nBack = 12, launch = {}, log = () => {} } = {}) {
  phase = 'initialize and launch';
  // staggered polling (see bench/drivers/benchpoll.js): each `wait 1ms` line runs about a tenth of the polls
  const dc = new DapClient(adapter.command, adapter.args, { cwd: adapter.cwd, env: { ...process.env, BENCHPOLL_STAGGER: '1' } });
  const facts = { label: adapter.label };
  const samples = { next: [], stepIn: [], variables: [], readMemory: [], stepBack: [] };
  let lastChanged;
  dc.onEvent((m) => {
    if (m.event === 'visorbus/changed') lastChanged = m.body;
  });
  try {
    const tStart = now();
    const init = await dc.request('initialize', {
      clientID: 'visorbus-bench',
      adapterID: 'visorbus',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
      supportsMemoryReferences: true,
      supportsVariableType: true,
    });
    facts.supportsStepBack = !!init.body?.supportsStepBack;
    facts.initializeMs = now() - tStart;
    const initialized = dc.next('initialized');
    const tLaunch = now();
    // The bench driver lives in bench/drivers, outside the generated scenario's folder.
    await dc.request(
      'launch',
      { type: 'visorbus', request: 'launch', name: 'bench', scenario: scen.file, stopOnEntry: true, allowOutsideFiles: true, ...launch },
      300000,
    );
    await initialized;
    await dc.request('configurationDone', {});
    const entry = await dc.next('stopped', 300000);
    facts.launchToEntryMs = now() - tLaunch;
    const threadId = entry.body?.threadId ?? 1;
    const source = { path: scen.file, name: path.basename(scen.file) };

    // Run the topology build and the driver load: stop at the first `wait 1ms` line.
    phase = 'continue to the first wait 1ms line';
    await dc.request('setBreakpoints', { source, breakpoints: [{ line: scen.firstSmall }] });
    const tBuild = now();
    const built = await stoppedAfter(dc, 'continue', { threadId });
    facts.buildToBreakpointMs = now() - tBuild;
    facts.buildStopReason = built.ev.body?.reason;
    await dc.request('setBreakpoints', { source, breakpoints: [] });
    const tid = built.ev.body?.threadId ?? threadId;
    log(`  ${adapter.label}: topology built in ${facts.buildToBreakpointMs.toFixed(0)} ms; stepping`);

    phase = 'next';
    for (let i = 0; i < nSteps; i++) samples.next.push((await stoppedAfter(dc, 'next', { threadId: tid })).ms);
    let stepTid = tid;
    phase = 'stepIn';
    for (let i = 0; i < nSteps; i++) {
      const r = await stoppedAfter(dc, 'stepIn', { threadId: stepTid });
      samples.stepIn.push(r.ms);
      stepTid = r.ev.body?.threadId ?? stepTid;
    }

    // Stop inside one device's channel_interrupt and decode its channel.
    phase = 'function breakpoint, variables and readMemory';
    await dc.request('setFunctionBreakpoints', { breakpoints: [{ name: 'vbus1:dev0.channel_interrupt' }] });
    let memoryReference = '0x10000000';
    try {
      const page = await dc.request('visorbus/devices', { bus: 1, start: 0, count: 1 });
      memoryReference = page.body?.devices?.[0]?.memoryReference ?? memoryReference;
    } catch {
      /* floor: no custom requests */
    }
    facts.memoryReference = memoryReference;
    let varCount = 0;
    const n = Math.max(nVars, nMem);
    for (let i = 0; i < n; i++) {
      const stop = await stoppedAfter(dc, 'continue', { threadId: stepTid });
      const t = stop.ev.body?.threadId ?? stepTid;
      stepTid = t;
      if (i < nVars) {
        const t0 = now();
        const st = await dc.request('stackTrace', { threadId: t, startFrame: 0, levels: 20 });
        const frames = st.body?.stackFrames ?? [];
        let count = 0;
        for (const f of frames) {
          const sc = await dc.request('scopes', { frameId: f.id });
          const scopes = (sc.body?.scopes ?? []).filter((s) => /channel|signal|queue/i.test(s.name));
          if (!scopes.length) continue;
          for (const s of scopes) count += await allVariables(dc, s.variablesReference, 0, { left: 20000 });
          break;
        }
        samples.variables.push(now() - t0);
        varCount = count;
      }
      if (i < nMem) {
        const t0 = now();
        const r = await dc.request('readMemory', { memoryReference, offset: 0, count: 65536 });
        samples.readMemory.push(now() - t0);
        facts.readMemoryBytes = Buffer.from(r.body?.data ?? '', 'base64').length;
      }
    }
    facts.channelVariables = varCount;
    await dc.request('setFunctionBreakpoints', { breakpoints: [] });

    // Past the big wait (> 100,000 events), step back repeatedly.
    phase = 'continue past the big wait';
    await dc.request('setBreakpoints', { source, breakpoints: [{ line: scen.afterLast }] });
    const tBig = now();
    const far = await stoppedAfter(dc, 'continue', { threadId: stepTid });
    facts.bigWaitMs = now() - tBig;
    await dc.request('setBreakpoints', { source, breakpoints: [] });
    facts.eventsBeforeStepBack = lastChanged?.eventIndex;
    let backTid = far.ev.body?.threadId ?? stepTid;
    log(`  ${adapter.label}: ${facts.eventsBeforeStepBack ?? '?'} events; stepping back`);
    phase = 'stepBack';
    if (facts.supportsStepBack) {
      for (let i = 0; i < nBack; i++) {
        const r = await stoppedAfter(dc, 'stepBack', { threadId: backTid });
        samples.stepBack.push(r.ms);
        backTid = r.ev.body?.threadId ?? backTid;
      }
      facts.eventsAfterStepBack = lastChanged?.eventIndex;
    }
    facts.ok = true;
  } catch (e) {
    facts.ok = false;
    facts.error = `${phase}: ${e instanceof Error ? e.message : String(e)}`;
    facts.stderr = dc.stderr.slice(-2000);
  } finally {
    await dc.close();
  }
  return { facts, samples };
}
