/**
 * Time travel (`npm run bench`, section "Time travel"): stepBack and reverseContinue on the
 * 1,000-device polled topology after histories of 10^5, 10^6 and 10^7 events, with the
 * checkpoints (standby workers) the adapter keeps. The reference is the forward-execution
 * rate of the same run (events per second while continuing between the stops).
 *
 * One adapter runs the whole script, history growing: for each history H it continues to
 * the line where H events have run (line breakpoints at ~10^6 events before H, ~1,000
 * before, and H), then measures
 *   - reverseContinue to the breakpoint ~10^6 events back and ~1,000 events back, whose
 *     hits the run knows (the breakpoints did not change since);
 *   - reverseContinue ~1,000 events back to a breakpoint set after the run passed it (the
 *     history must be searched);
 *   - stepBack, each issued once the checkpoints have settled after the previous stop
 *     (a user's pace), and back-to-back (the next as soon as the stop arrives);
 *   - the checkpoints' memory beside the live model's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DapClient } from './dapclient.mjs';
import { topologyLines } from './topology.mjs';
import { summary } from './stats.mjs';

const BENCH_GUID = 'b3c4e7a1-0d2f-4c55-9e61-62656e636831';
const now = () => performance.now();

function writeScenario(root, outDir, devices, waitLines) {
  const lines = topologyLines(devices, 16, BENCH_GUID);
  lines.push(`driver load ${path.resolve(root, 'bench/drivers/benchpoll.js')}`);
  const first = lines.length + 1;
  for (let i = 0; i < waitLines; i++) lines.push('wait 1ms');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `timetravel-${devices}.visor`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, first, last: first + waitLines - 1 };
}

class Session {
  constructor(adapter, env) {
    this.dc = new DapClient(adapter.command, adapter.args, { cwd: adapter.cwd, env });
    this.eventIndex = 0;
    this.dc.onEvent((m) => {
      if (m.event === 'visorbus/changed' && typeof m.body?.eventIndex === 'number') this.eventIndex = m.body.eventIndex;
    });
  }

  async stopAfter(command, args = { threadId: 1 }) {
    if (process.env.TT_TRACE) process.stderr.write(`-> ${command}\n`);
    this.dc.drain('stopped');
    const t0 = now();
    this.dc.drain('terminated');
    const ended = this.dc.next('terminated', 900000).then(() => {
      throw new Error(`${command}: the scenario ended instead of stopping`);
    });
    const [, ev] = await Promise.all([this.dc.request(command, args, 900000), Promise.race([this.dc.next('stopped', 900000), ended])]);
    const ms = now() - t0;
    const st = await this.dc.request('stackTrace', { threadId: ev.body.threadId ?? 1, levels: 40 });
    const frames = st.body.stackFrames;
    return { ms, line: frames[frames.length - 1]?.line, reason: ev.body.reason };
  }

  async settle() {
    if (process.env.TT_TRACE) process.stderr.write(`-> settle\n`);
    const t0 = now();
    const r = await this.dc.request('visorbus/checkpoints', { settle: true }, 900000);
    return { ms: now() - t0, ...r.body };
  }

  async breakpoints(file, lines) {
    await this.dc.request('setBreakpoints', { source: { path: file }, breakpoints: lines.map((line) => ({ line })) });
  }
}

/** Events per `wait 1ms` line, from a first stop well into the waits. */
async function calibrate(s, scen) {
  // After the staggered start of the polls (the first lines run fewer of them).
  const probe = scen.first + 40;
  await s.breakpoints(scen.file, [scen.first + 20, probe]);
  await s.stopAfter('continue');
  const e0 = s.eventIndex;
  const t0 = now();
  await s.stopAfter('continue');
  return { eventsPerLine: (s.eventIndex - e0) / 20, rate: (s.eventIndex - e0) / ((now() - t0) / 1000) };
}

async function atHistory(s, scen, H, epl, { nBack, log }) {
  const line = (events) => Math.max(scen.first + 1, Math.round(scen.first + events / epl));
  const LH = line(H);
  const Lnear = Math.min(LH - 1, line(H - 1000));
  const Lfar = H > 1.2e6 ? line(H - 1e6) : undefined;
  const out = { history: H, lines: { far: Lfar, near: Lnear, here: LH } };
  // 1. Forward to H (through the far breakpoint); the forward rate is the reference.
  await s.breakpoints(scen.file, [Lfar, LH].filter(Boolean));
  const e0 = s.eventIndex;
  let t0 = now();
  let r = await s.stopAfter('continue');
  if (Lfar && r.line === Lfar) r = await s.stopAfter('continue');
  out.forward = { events: s.eventIndex - e0, ms: now() - t0 };
  out.forward.eventsPerSec = out.forward.events / (out.forward.ms / 1000);
  out.eventsAtStop = s.eventIndex;
  log(
    `  H=${H.toLocaleString('en-US')}: at line ${r.line}, event ${s.eventIndex}, forward ${Math.round(out.forward.eventsPerSec).toLocaleString('en-US')} events/s`,
  );
  const settled = await s.settle();
  out.firstSettleMs = settled.ms;
  out.memory = { checkpointBytes: settled.bytes, liveBytes: settled.liveBytes, checkpoints: settled.checkpoints.length };
  // 2. reverseContinue to the far breakpoint, a known hit.
  if (Lfar) {
    r = await s.stopAfter('reverseContinue');
    out.reverseFar = { ms: r.ms, line: r.line, ok: r.line === Lfar };
    await s.settle();
    r = await s.stopAfter('continue');
    await s.settle();
  }
  // 3. A breakpoint ~1,000 events back, set now: the history must be searched.
  await s.breakpoints(scen.file, [Lfar, Lnear, LH].filter(Boolean));
  r = await s.stopAfter('reverseContinue');
  out.reverseNearSearched = { ms: r.ms, line: r.line, ok: r.line === Lnear };
  await s.settle();
  r = await s.stopAfter('continue');
  await s.settle();
  // 4. The same breakpoint, now a known hit.
  r = await s.stopAfter('reverseContinue');
  out.reverseNear = { ms: r.ms, line: r.line, ok: r.line === Lnear };
  await s.settle();
  r = await s.stopAfter('continue');
  // 5. stepBack at a user's pace (the checkpoints settle between), then back-to-back.
  const paced = [];
  const settles = [];
  for (let i = 0; i < nBack; i++) {
    settles.push((await s.settle()).ms);
    const b = await s.stopAfter('stepBack');
    paced.push(b.ms);
  }
  await s.settle();
  await s.breakpoints(scen.file, [LH]);
  await s.stopAfter('continue');
  await s.settle();
  const burst = [];
  for (let i = 0; i < nBack; i++) burst.push((await s.stopAfter('stepBack')).ms);
  out.stepBackPaced = summary(paced);
  out.settleBetweenMs = summary(settles);
  out.stepBackBurst = summary(burst);
  const st = await s.settle();
  out.trips = st.trips;
  await s.stopAfter('continue');
  log(
    `  H=${H.toLocaleString('en-US')}: stepBack paced p99 ${out.stepBackPaced.p99.toFixed(1)} ms, back-to-back p99 ${out.stepBackBurst.p99.toFixed(1)} ms; reverseContinue far ${out.reverseFar?.ms.toFixed(0) ?? '-'} ms, near ${out.reverseNear.ms.toFixed(0)} ms, searched ${out.reverseNearSearched.ms.toFixed(0)} ms`,
  );
  return out;
}

export async function runTimeTravelBench(adapter, { root, outDir, quick = false, log = () => {} }) {
  const histories = quick ? [1e4, 1e5] : [1e5, 1e6, 1e7];
  const devices = 1000;
  const nBack = quick ? 4 : 6;
  // Enough `wait 1ms` lines for the longest history (calibrated below; ~300 events a line).
  const scen = writeScenario(root, outDir, devices, Math.ceil(histories[histories.length - 1] / 150) + 400);
  const s = new Session(adapter, { ...process.env, BENCHPOLL_STAGGER: '1' });
  const result = { devices, histories: [], adapter: adapter.label };
  try {
    await s.dc.request('initialize', {
      clientID: 'visorbus-bench',
      adapterID: 'visorbus',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
      supportsProgressReporting: true,
    });
    const initialized = s.dc.next('initialized');
    // The bench driver lives in bench/drivers, outside the generated scenario's folder.
    await s.dc.request('launch', { scenario: scen.file, stopOnEntry: true, checkpoints: 2, allowOutsideFiles: true }, 300000);
    await initialized;
    await s.dc.request('configurationDone', {});
    await s.dc.next('stopped', 300000);
    const cal = await calibrate(s, scen);
    result.eventsPerLine = cal.eventsPerLine;
    log(`  ${cal.eventsPerLine.toFixed(0)} events per wait 1ms line, ${Math.round(cal.rate).toLocaleString('en-US')} events/s forward`);
    for (const H of histories) result.histories.push(await atHistory(s, scen, H, cal.eventsPerLine, { nBack, log }));
    result.ok = true;
  } catch (e) {
    result.ok = false;
    result.error = e instanceof Error ? e.message : String(e);
    result.stderr = s.dc.stderr.slice(-2000);
  } finally {
    await s.dc.close();
  }
  return result;
}
