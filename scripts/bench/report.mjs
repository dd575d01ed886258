/**
 * BENCHMARKS.md and bench/scaling.svg from bench/results.json (written by scripts/bench.mjs).
 * The `## Soak` section of an existing BENCHMARKS.md is kept verbatim (scripts/soak.mjs
 * owns it); everything else is regenerated.
 */

export const SOAK_PLACEHOLDER = `## Soak

_This section belongs to the soak run (\`scripts/soak.mjs\`, robustness issue). \`npm run bench\` keeps
it exactly as it finds it when regenerating this file._
`;

/** The `## Title` section of a Markdown text (heading to the next level-2 heading or the end), or undefined. */
export function extractSection(md, title) {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^##\\s+${title}\\b`).test(l));
  if (start < 0) return undefined;
  let end = lines.length;
  let fence = false;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^(```|~~~)/.test(lines[i])) fence = !fence;
    if (!fence && /^##\s/.test(lines[i])) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n').replace(/\s+$/, '') + '\n';
}

const f = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(d));
const int = (v) => (v === null || v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
const mb = (b) => (b === null || b === undefined ? '—' : (b / 1e6).toFixed(1));
const kb = (b) => (b === null || b === undefined ? '—' : (b / 1024).toFixed(1));
function rate(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}
const ratio = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(v < 0.1 ? 3 : 2)}×`);
const met = (m) => (m === true ? '**met**' : m === false ? '**not met**' : 'not measured');

/** A Markdown table; `align` is one letter per column (l or r), default: first left, the rest right. */
function table(head, rows, align) {
  const al = head.map((_, i) => (align ? align[i] : i === 0 ? 'l' : 'r'));
  return [`| ${head.join(' | ')} |`, `|${al.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Why a missed target is missed: what the profile and the code show (kept next to the live profile). */
/** The same stepping without standby workers (`checkpoints: 0`), when the run measured it. */
function noCheckpoints(r) {
  const n = r.adapter?.noCheckpoints;
  if (!n?.stats?.next) return '';
  const x = n.stats.next;
  return `

The same script with \`checkpoints: 0\` (no standby workers), in the same run: \`next\` median ${f(x.median)} ms,
p99 ${f(x.p99)} ms, ${n.over5} of ${x.n} samples above 5 ms; \`stepIn\` median ${f(n.stats.stepIn.median)} ms. The difference is the
standby workers: each is a second model that starts (a new thread loading the bundle) and replays the
scenario's topology build at the first stops, then moves up behind every stop, on the same two cores.`;
}

/** The throughput row is the median of several processes; every one is listed. */
function runsLine(t) {
  if (!t?.runs || t.runs.length < 2) return '';
  const each = t.runs.map((r) => `${rate(r.dispatchesPerSec)}/s against ${rate(r.floorDispatchesPerSec)}/s (${ratio(r.ratio)})`).join('; ');
  return `\nThe row is the median, by ratio to its own floor, of ${t.runs.length} processes: ${each}.\n`;
}

const LIMITS = {
  ring: `The C ring is one \`memcpy\` of the queue header, a \`memcpy\` of the signal and three stores.
The TypeScript ring does the same steps through the emulator's memory model: guest memory is
sparse (a region per channel, 4 KiB pages allocated on first write, every access checked
against the mapping and the channel's cached size, \`UnmappedError\` turned into -EIO), and
\`signalInsert\`/\`signalRemove\` also check for the channel's guard and observer hooks (unset here). The flat JS ring
column shows what the algorithm alone costs in JavaScript in the same process; the rest of the
gap is that memory model. Each queue keeps a window on its header fields (one DataView made once,
valid while the memory layout is unchanged), a signal is copied straight to or from its page when
it lies in one page of the channel's region, \`ch_space_offset\` is kept as a number beside the
cached header, and the observer's detail object is reused; the TypeScript ring is about half the
speed of the flat JS ring in the same process. What remains (see the profile) is a call per step,
the kernel's bounds and oops checks, and the writes reported to the memory watcher. The flat JS
ring is the ring with none of that, written as fast as JavaScript allows (header fields through
one Uint32Array, small signals copied word by word), and even it stays a little above half the
speed of the C ring (see the table): the goal of 0.5× leaves the emulator's ring no room beyond
the bare algorithm, while the kernel's checks, the oops, the guard, the observer and the memory
watcher are what the emulator is for.`,
  dispatch: `Every channel_interrupt poll is a slot of the polling table
(src/emulator/visorbus/channelinterrupt.ts), called through the driver call of
src/emulator/visorbus/drivercall.ts. The poll timer is re-armed in place, the callback's frame,
event texts, data and checksum signature are built once per device and callback, and the
channel guard keeps its device; a headless run keeps its recent events in a ring of parallel
arrays (no object per event unless the debugger's hook or a listener takes one), and timers sit
in one bucket per due jiffy. What is left per poll is the two events (\`call\` and \`return\`:
the ring stores and the checksum step), the frame pushes, the driver guard, the channel guard
and the driver's own \`signalremove\` through the checked memory model. The floor
in the same process runs the same timers on the same \`Clock\` and the same empty
\`signalremove\` with none of that; the remaining difference is the price of every poll being
an observable, numbered, checksummed event that a debugger can stop at. The profile below
shows where it goes; at 16,000 devices much of it is memory traffic (see the scaling target).`,
  linear: (r) => {
    const L = r.emulator?.linearity;
    const at = (n) => r.emulator?.scaling?.find((x) => x.devices === n && !x.throughputRun);
    const a = at(L?.from);
    const b = at(L?.to);
    return `Build time, heap, RSS and guest pages per device stay flat or fall; the cost that grows is
the one of a poll (CPU µs per device-second in the scaling table). No step of the polling path
scans the devices — timers are kept in per-jiffy buckets (O(1) to arm and fire), and there is no per-signal region search or
quadratic region map — yet the same poll costs more at ${int(L?.to)} devices. The functions
that grow most in the table below are the ones that touch per-device memory: \`doRemove\` reading
the channel's queue header (each channel's header is in its own 4 KiB page), the event and
frame bookkeeping of the poll, the poll timer — and the garbage
collector, which marks a ${mb(b?.heapBytes)} MB heap instead of ${mb(a?.heapBytes)} MB. That is the signature of cache and TLB
misses once the per-device state (about ${kb(b ? b.heapBytes / b.devices : undefined)} KiB of heap per device, in many small
objects spread over the heap) no longer fits the caches. The bare dispatch floor, whose
working set is only the timers and the queue-header pages, has slope ${f(L?.floor)} over the same range,
against ${f(L?.run)} for the emulator${share(L)}. Fewer objects per poll (see the dispatch target) would cut both
the misses and the GC work.`;
  },
  next: (r) => {
    const st = r.adapter?.real?.stats?.next;
    const over = r.adapter?.real?.over5?.next;
    return `A \`next\` runs the model in the worker thread until the next stop and then answers through the
main thread; its cost is the model work of the stepped line (about 100 channel_interrupt polls
for \`wait 1ms\` at 1,000 devices) plus two thread hops and the DAP round trip: median
${f(st?.median)} ms, mean ${f(st?.mean)} ms${over !== undefined ? `, and ${over} of the ${st?.n} samples above 5 ms` : ''}${slowList(r.adapter?.real?.slowNext)}.
Isolated slow steps among fast ones are what the first steps through not-yet-optimized code,
garbage-collector pauses in the model worker and other processes on the cores look like; p99
of 100 samples is the second-slowest one. Compare the floor's p99 in the same run.${noCheckpoints(r)}`;
  },
  variables: `The channel scopes are decoded from guest memory on each request (header, queue headers,
pending signals) in the worker; the time is the number of requests (one per expanded
variable) times a worker round trip.`,
  stepBack: (r) => {
    const ev = r.adapter?.real?.facts?.eventsBeforeStepBack;
    const emuRate = r.emulator?.throughput?.eventsPerSec;
    return `A step back goes to the earlier position from a checkpoint: one of the standby workers
(docs/design.md, "Checkpoints"; src/emulator/debug/checkpoints.ts and travel.ts) that replayed the
scenario to an earlier event and waits parked there. When one is parked at or before the target it
runs only the distance and takes over from the live worker; when none is (no checkpoints, or the
trip outruns them), the scenario is re-executed deterministically from its start — the topology
build plus ${int(ev)} events here${emuRate ? ` (the emulator alone runs an event in ${f(1e6 / emuRate)} µs in figure 2)` : ''}.
This row's adapter runs use the default checkpoints; a step taken before the standby workers have
parked at the new position pays the replay from the start. The standby workers move behind a stop
once the user has stayed there for 100 ms (and at once after a trip back); this script never
pauses, from its first \`next\` to its last step back, so its step-backs find them still being
started and replaying. Figure 5 separates paced steps from bursts.`;
  },
  activation: `Most of activation is \`require\` of the bundle (parse and compile); the profile shows which
modules' top-level code runs.`,
  activationVsCode: `VS Code's figure adds the extension host's module loading and its API objects (the real
\`vscode\` module, registrations sent to the workbench) to the bundle's own cost, on a machine
shared with the browser and code-server; the plain-Node row and its profile show the bundle's part.`,
  vsix: `The VSIX carries dist/*.js and their source maps; the maps are most of the bytes.`,
};

function slowList(slow) {
  if (!slow?.length) return '';
  return ` (step ${slow.map((x) => `#${x.i}: ${f(x.ms, 1)} ms`).join(', ')})`;
}

/** ", so about N % of the growth per poll is the machine's" when both slopes exceed 1. */
function share(L) {
  if (!L || !(L.run > 1) || !(L.floor > 1)) return '';
  const p = Math.min(1, (L.floor - 1) / (L.run - 1));
  return `: about ${Math.round(p * 100)} % of the growth per poll happens without the emulator too`;
}

function travelSection(r) {
  const t = r.timeTravel;
  if (!t) return '';
  if (!t.ok) return `## 5. Time travel\n\n> Not measured: ${t.error}\n`;
  const ms = (x) => (x ? f(x.ms, 1) : '—');
  const rows = t.histories.map((h) => [
    int(h.eventsAtStop),
    `${f(h.stepBackPaced.median, 1)} / **${f(h.stepBackPaced.p99, 1)}**`,
    `${f(h.settleBetweenMs.median, 0)} / ${f(h.settleBetweenMs.p99, 0)}`,
    `${f(h.stepBackBurst.median, 0)} / ${f(h.stepBackBurst.p99, 0)}`,
    h.reverseFar ? `${ms(h.reverseFar)}${h.reverseFar.ok ? '' : ' (wrong line)'}` : 'n/a',
    `${ms(h.reverseNear)}${h.reverseNear.ok ? '' : ' (wrong line)'}`,
    `${ms(h.reverseNearSearched)}${h.reverseNearSearched.ok ? '' : ' (wrong line)'}`,
    rate(h.forward.eventsPerSec),
    f((1e6 / h.forward.eventsPerSec) * 1000, 0),
    h.memory?.checkpointBytes ? `${f(h.memory.checkpointBytes / 2 ** 20, 0)} / ${f(h.memory.liveBytes / 2 ** 20, 0)}` : '—',
    `${h.trips.promoted} / ${h.trips.fromStart} / ${h.trips.scouted}`,
  ]);
  return `## 5. Time travel

\`node dist/emulator.js dap\` with \`checkpoints: 2\` (two standby workers; docs/design.md) on ${int(t.devices)} polled
devices (16 to a bus, the bench driver, about ${int(t.eventsPerLine)} events per \`wait 1ms\` line). One session, the
history growing: at each history it continues to the line where that many events have run (through line
breakpoints ~10^6 and ~1,000 events earlier), then measures, request → \`stopped\`:

* **stepBack, settled**: each step back issued once the checkpoints have parked after the previous stop (a
  person's pace); **settle**: how long that took after the stop (background work on the second core, while
  the user looks); **back-to-back**: the next step back as soon as the stop arrives.
* **reverseContinue far / near**: to the breakpoint ~10^6 / ~1,000 events back, a hit the run knows (the
  breakpoints did not change since it); **searched**: ~1,000 events back to a breakpoint set after the run
  passed it (a checkpoint searches its part of the history, then a new worker the rest).
* **forward**: the same session's forward rate between the stops (the reference), and the time 10^6 events
  take at that rate.

${table(['History (events)', 'stepBack settled median / p99 (ms)', 'settle median / p99 (ms)', 'stepBack back-to-back median / p99 (ms)', 'reverseContinue far (ms)', 'near (ms)', 'searched (ms)', 'Forward (events/s)', '10^6 forward (ms)', 'Checkpoints / live model (MiB)', 'Trips: promoted / from start / searched'], rows)}

A step back lands on a parked checkpoint in a few milliseconds at any history length; what grows with
the history is making the next checkpoint (a replay from the start, in the background), which is what
back-to-back step backs and searches of the history wait for. Memory: each checkpoint is a whole model.
`;
}

function targetsSection(r) {
  const rows = (r.targets ?? []).map((t) => [t.name, t.target, t.value, t.reference ?? '', met(t.met)]);
  return `## Targets\n\n${table(['Target', 'Goal', 'This run', 'Reference in the same run', 'Met'], rows, 'lllll')}\n`;
}

function ringSection(r) {
  const g = r.ring;
  if (!g) return '';
  const rows = g.sizes.map((s) => [
    s.signalSize === 1024 ? '1 KiB' : `${s.signalSize} B`,
    `${rate(s.ts)}`,
    `${rate(s.c)}`,
    `**${ratio(s.ratio)}**`,
    s.runs.map((x) => ratio(x.ratio)).join(', '),
    `${rate(s.cBarrier)}`,
    ratio(s.ratioBarrier),
    `${rate(s.flat)}`,
    ratio(s.flatRatio),
  ]);
  return `## 1. Signal queue throughput

Insert+remove pairs per second through \`VisorChannel.signalInsert\`/\`signalRemove\` (the guest's
\`visorchannel_signalinsert/remove\`, reference §2.3) on a channel laid out in \`GuestMemory\` by
\`writeChannelHeader\`/\`writeQueueHeader\`: a 128-byte channel header, one packed 128-byte queue
header at 128, 64 slots from 256. One pair = one insert then one remove of the same signal
(the queue never fills), with the ring's checks and counters (head/tail, num_sent/num_received).

**Reference:** \`bench/c/ring.c\`, the same ring algorithm in C on the same memory layout (whole-header
\`memcpy\`, bounds checks, first signal in slot 1, full when \`(head+1) % max_slots == tail\`, the
counters), compiled by the bench with the machine's gcc (${g.c?.compiler ?? 'not available'}, \`${g.c?.flags ?? '-O2'}\`).
Its barrier-free variant (only a compiler barrier) is the reference, since a single-threaded
emulator needs no memory barrier; the variant with the kernel's \`mb()\` (a full barrier) is shown
beside it. C and TypeScript runs alternate
${g.sizes[0]?.runs.length ?? 0} times per size; each run is the median of 3 timed rounds, and the ratio is the median
of the per-alternation ratios.${g.c?.available === false ? `\n\n> ${g.c.note}` : ''}

${table(['Signal', 'TypeScript pairs/s', 'C pairs/s (no barrier)', 'Ratio', 'Ratio per alternation', 'C pairs/s (mb)', 'Ratio to C (mb)', 'Flat JS ring pairs/s', 'Flat ÷ C (no barrier)'], rows)}

The last two columns are a second reference from the TypeScript process: the same ring
algorithm written directly on one flat buffer, as fast as JavaScript allows (the header fields
through one \`Uint32Array\`, a signal of at most 64 bytes copied word by word, a larger one with
\`set\`; no regions, no 4 KiB pages, no channel object, no bounds against a cached size, no guard,
observer or watcher). It separates what JavaScript costs from what the emulator's memory model
and the kernel's checks cost.

Reproduce one figure: \`node out/bench/ring.js 64\` and \`bench/c/ring.bin 64\` (after a bench run has built them).
`;
}

function emuSection(r) {
  const e = r.emulator;
  if (!e) return '';
  const t = e.throughput;
  const per = (x, n) => (x === null || x === undefined ? '—' : (x / n).toFixed(1));
  const thr = t
    ? table(
        [
          'Topology',
          'Virtual time',
          'Wall time',
          'CPU / wall',
          'Events',
          'Events/s',
          'channel_interrupt dispatches',
          'Dispatches/s',
          'Floor dispatches/s',
          'Ratio to floor',
        ],
        [
          [
            `${int(t.buses)} buses × ${t.perBus} = ${int(t.devices)} devices`,
            `${f(t.virtualMs / 1000, 3)} s`,
            `${int(t.runMs)} ms`,
            `${f((t.cpuShare ?? 0) * 100, 0)} %`,
            int(t.events),
            rate(t.eventsPerSec),
            int(t.dispatches),
            rate(t.dispatchesPerSec),
            rate(t.floor?.dispatchesPerSec),
            ratio(t.dispatchesPerSec / t.floor?.dispatchesPerSec),
          ],
        ],
      )
    : '';
  const rows = e.scaling.map((s) => [
    `${int(s.devices)}${s.throughputRun ? ' (throughput run)' : ''}`,
    int(s.buses),
    `${int(s.buildMs + s.bindMs)} (${int(s.buildCpuMs)})`,
    per(s.buildCpuMs * 1000, s.devices),
    `${int(s.runMs)} (${int(s.runCpuMs)})`,
    per(s.runCpuMs * 1000, s.devices),
    per(s.floorCpuMs * 1000, s.devices),
    mb(s.heapBytes),
    kb(s.heapBytes / s.devices),
    mb(s.rssBytes),
    mb(s.residentBytes),
    kb(s.residentBytes / s.devices),
    s.deterministic ? 'same' : '**differs**',
  ]);
  const L = e.linearity;
  return `## 2. Emulator throughput and scaling

The topology is built by the scenario runner exactly as \`visorbus-emu run\` builds it: a generated
\`.visor\` scenario (\`chipset init\`, \`chipset ready\`, \`autoload off\`, one \`bus create B devcount=16\`
per 16 devices, one \`device create B:D\` per device, then \`driver load bench/drivers/benchpoll.js\`
and \`wait 1000ms\`), parsed by \`parseScenario\`, run by \`newRun(…, { keepEvents: false })\` and
\`ScenarioRun.step()\`. The driver enables channel interrupts at probe and drains queue 0 on every
channel_interrupt, as visorhba and visornic poll their response queues (an empty poll is one
\`signalremove\` → -EAGAIN). Loading it after the devices exist binds them all at once, so the
build does no polling. The poll period is the kernel's 10 jiffies at HZ 1000: 100 dispatches
per device per virtual second. Each size runs in its own process (\`out/bench/emu.js\`, with
\`--expose-gc\`).

### Throughput

${thr}

**Reference (same process):** the dispatch floor — the same number of periodic timers on the
emulator's own \`Clock\`, each doing the driver's work (one \`signalremove\` on an empty queue of a
raw \`VisorChannel\`) and re-armed in place as the emulator re-arms its poll timers (no new timer or
closure per dispatch), without the event log, frames, channel guard or observer. The ratio is the
share of that bare speed the full emulator keeps (wall time; "CPU / wall" below 100 % means
other processes took the cores part of the time — the ratio to the floor, measured minutes
apart in the same process, is the figure to compare across machines). Events are the numbered events of the
debugger's log (a poll is a \`call\` and a \`return\` event; an empty \`signalremove\` is not an event).
${runsLine(e.throughput)}
### Scaling

${table(['Devices', 'Buses', 'Build + bind, wall (CPU) ms', 'CPU µs / device', '1 virtual s, wall (CPU) ms', 'CPU µs / device-second', 'Floor CPU µs / device-second', 'Heap (MB)', 'Heap / device (KiB)', 'RSS (MB)', 'Guest pages (MB)', 'Guest pages / device (KiB)', 'Trace checksum across reps'], rows)}

Build + bind is every line up to and including \`driver load\`; "1 virtual s" is the \`wait 1000ms\`
line. Each is given as wall time and, in parentheses, CPU time of the main thread (${e.throughput?.cpuClock ?? 'read from /proc/thread-self/schedstat'}):
per-device costs and slopes use it, since neither other processes on a shared machine nor the
garbage collector's helper threads inflate it (the main thread's own GC pauses do count). Heap and RSS are the growth over the empty process after the build (after
\`gc()\`); guest pages are \`GuestMemory.residentBytes()\` (4 KiB pages actually written). Times are
the median of ${e.scaling[0]?.reps ?? 1} runs per size.

![Scaling curve: wall time and memory against the device count, log-log](bench/scaling.svg)

**Linearity (reference: the ${int(L?.from)}-device point, same run):** log-log slope of each cost from ${int(L?.from)} to
${int(L?.to)} devices — 1.00 means the cost per device stays flat, 2.00 would be quadratic; the
target counts as met at ≤ 1.10 (at most ~26 % more per device over a tenfold growth).
CPU time: build ${f(L?.build)}, one virtual second ${f(L?.run)}; memory: heap ${f(L?.heap)}, RSS ${f(L?.rss)}, guest pages ${f(L?.resident)}
(wall time, for comparison: build ${f(L?.buildWall)}, one virtual second ${f(L?.runWall)}). The dispatch floor — the same
timers, re-armed in place, and empty \`signalremove\`s without the emulator around them, same process — has slope ${f(L?.floor)}
over the same range: what the machine alone adds per dispatch as the device count grows.

Reproduce: \`node --expose-gc out/bench/emu.js 10000\` (one JSON line; \`--floor\` adds the floor, \`--profile FILE\`
writes a CPU profile of the virtual second).
`;
}

function dapSection(r) {
  const a = r.adapter;
  if (!a) return '';
  const names = {
    next: '`next` (one `wait 1ms` line)',
    stepIn: '`stepIn`',
    variables: '`stackTrace` + `scopes` + all channel `variables`',
    readMemory: '`readMemory` 64 KiB',
    stepBack: '`stepBack`',
  };
  let body;
  if (a.real?.stats) {
    const rows = Object.keys(names).map((k) => {
      const s = a.real.stats[k];
      const fl = a.floor.stats[k];
      return [names[k], f(s.median), f(s.p99), f(fl.median), f(fl.p99), ratio(a.ratios?.[k]?.median), ratio(a.ratios?.[k]?.p99), String(s.n)];
    });
    // The same script without standby workers: what the checkpoints add to stepping.
    for (const k of ['next', 'stepIn', 'variables']) {
      const s = a.noCheckpoints?.stats?.[k];
      const fl = a.floor.stats[k];
      if (s?.n)
        rows.push([
          `${names[k]}, \`checkpoints: 0\``,
          f(s.median),
          f(s.p99),
          f(fl.median),
          f(fl.p99),
          ratio(s.median / fl.median),
          ratio(s.p99 / fl.p99),
          String(s.n),
        ]);
    }
    const F = a.real.facts;
    body = `${table(['Request', 'Median (ms)', 'p99 (ms)', 'Floor median (ms)', 'Floor p99 (ms)', 'Ratio (median)', 'Ratio (p99)', 'n'], rows)}

Facts of this run: launch to the entry stop ${f(F.launchToEntryMs, 0)} ms; topology build and driver load
(continue to a breakpoint on the first \`wait 1ms\` line) ${f(F.buildToBreakpointMs, 0)} ms; the channel
scopes held ${int(F.channelVariables)} variables; step back started at event ${int(F.eventsBeforeStepBack)} and ended at
event ${int(F.eventsAfterStepBack)}.${F.ok === false ? `\n\n> The real adapter failed: ${F.error}` : ''}`;
  } else {
    body = `> The real adapter was not measured: ${a.real?.note ?? 'unknown reason'}. The floor's figures are in bench/results.json.`;
  }
  return `## 3. Adapter latency

The real adapter is \`node dist/emulator.js dap\` over stdio, launched with \`{ scenario, stopOnEntry: true }\`
on a generated scenario of ${int(a.scenario?.devices)} devices (16 to a bus, the bench driver polling them all),
${a.counts?.nSteps ?? '?'} \`wait 1ms\` lines, one \`wait ${a.scenario?.bigWaitMs ?? '?'}ms\` (well over 100,000 events) and more \`wait 1ms\` lines.
The client is the bench's own DAP client (\`scripts/bench/dapclient.mjs\`, Content-Length framing
over the child's stdio); a step's latency is from sending the request until both its response
and the \`stopped\` event have arrived. The script: continue to the first \`wait 1ms\` line; ${a.counts?.nSteps ?? '?'}× \`next\`;
${a.counts?.nSteps ?? '?'}× \`stepIn\`; with a function breakpoint on \`vbus1:dev0.channel_interrupt\`, ${a.counts?.nVars ?? '?'}× continue and
then \`stackTrace\`, \`scopes\` and every variable under the channel scopes (header fields, queue
headers, pending signals, recursively), and \`readMemory\` of 64 KiB of that device's channel;
then continue past the big wait and ${a.counts?.nBack ?? '?'}× \`stepBack\`. The rows marked \`checkpoints: 0\` are the same
script run again without standby workers (no \`stepBack\`), in the same run.

**Reference (same run):** \`bench/floor-adapter.js\`, a \`@vscode/debugadapter\` session that answers the
same requests with no work (a fixed frame, fixed variables, a stop after each step, readMemory
from a prepared buffer — so the 64 KiB still crosses the pipe base64-encoded). Its latency is
the cost of the process boundary, the framing and JSON.

${body}
`;
}

function extSection(r) {
  const x = r.extension;
  if (!x) return '';
  const A = x.activation;
  const V = x.activationVsCode;
  const vsRow = V?.ok
    ? ['dist/extension.js in VS Code 1.100.3 (code-server)', '—', '—', f(V.total.median), f(V.total.p99), String(V.total.n)]
    : ['dist/extension.js in VS Code 1.100.3 (code-server)', '—', '—', V?.note ?? 'not measured', '—', '0'];
  const act = table(
    ['', 'require / code loading (median ms)', 'activate (median ms)', 'Total median (ms)', 'Total p99 (ms)', 'n'],
    [
      vsRow,
      [
        'dist/extension.js in Node, stand-in `vscode`',
        f(A.real.require.median),
        f(A.real.activate.median),
        f(A.real.total.median),
        f(A.real.total.p99),
        String(A.real.total.n),
      ],
      [
        'floor (bench/floor-extension.js) in Node, stand-in `vscode`',
        f(A.floor.require.median),
        f(A.floor.activate.median),
        f(A.floor.total.median),
        f(A.floor.total.p99),
        String(A.floor.total.n),
      ],
    ],
  );
  const bundles = table(
    ['File', 'Bytes', 'KiB'],
    x.bundles.map((b) => [b.file, int(b.bytes), kb(b.bytes)]),
  );
  const top = (x.vsix.entries ?? []).slice(0, 6).map((e) => [e.name, int(e.size), int(e.compressed)]);
  const tree = Object.values(x.tree ?? {}).map((t) => [
    `${int(t.buses)} bus${t.buses === 1 ? '' : 'es'} × ${int(t.perBus === 10000 ? 10000 : t.perBus)}`,
    int(t.nodes),
    int(t.requests),
    int(t.loadMores),
    f(t.rootMs.median),
    f(t.firstPageMs.median),
    f(t.allChildrenMs.median),
    f(t.treeItemsMs.median),
    f(t.floorMs.median),
    ratio(t.ratio),
  ]);
  return `## 4. Extension

### Activation

Two rows, measured differently.

**In VS Code** (first row): the e2e suite's code-server (VS Code 1.100.3, started by
\`scripts/e2e/codeserver.mjs\`) with the VSIX installed, on a copy of examples/workspace, whose .visor
files activate the extension at start-up (\`workspaceContains\`). The figure is VS Code's own: its
extension host times loading the extension's code and the call of \`activate()\`, and
"Developer: Show Running Extensions" shows their sum (\`Activation: N ms\`, whole milliseconds);
\`scripts/bench/ext-vscode.mjs\` reads it there, so nothing of the extension times itself.
\`activate()\` returns its API synchronously, so nothing is added while a promise resolves.
Each sample is a fresh browser window, which gets its own extension host: a cold load of the bundle
in a new process each time. It covers what follows the activation event for this extension: its
code loading and \`activate()\`, in the real extension host with the real \`vscode\` module.${V?.ok ? '' : ` (This run: ${V?.note ?? 'not measured'}.)`}

**In plain Node with a stand-in \`vscode\`** (second and third rows): one fresh process per sample
(cold: the bundle is parsed and compiled each time); a \`Module._resolveFilename\` hook maps
\`require('vscode')\` to a minimal fake (\`scripts/bench/fakevscode.cjs\`: real EventEmitter, TreeItem,
ThemeIcon, MarkdownString, Uri and registration functions returning disposables; inert stubs for
the rest), then the time of \`require('./dist/extension.js')\` plus \`activate(context)\` is taken.
Without VS Code around it, it isolates the bundle's own cost and can be profiled.
**Reference:** \`bench/floor-extension.js\` (one output channel, one tree view, one command),
loaded the same way, alternating with the real one. Ratio ${ratio(x.activation.ratio)}.

${act}

### Bundles and VSIX

${bundles}

VSIX (\`npm run package\` → dist/visorbus-studio.vsix): **${int(x.vsix.bytes)} bytes** (${mb(x.vsix.bytes)} MB), packaged in ${f(x.vsix.ms / 1000, 1)} s.${x.vsix.ok ? '' : `\n\n> ${x.vsix.note}`}

Largest entries (${x.vsix.file ?? 'no package'}):

${table(['Entry', 'Bytes', 'Compressed'], top)}

### Buses & Devices tree, 10,000 devices

The tree provider (\`DevicesTreeProvider\` in src/extension/views/devicesTree.ts, over \`VisorbusModel\`)
of the activated bundle, driven with a fake debug session made the active one: it answers
\`visorbus/topology\` and \`visorbus/devices\` pages (200 devices a page, as the model asks) by
parsing prepared JSON text, as a DAP response arrives. Timed: the root, the first bus's first
page, and every bus's children — with "Load more…" (\`model.loadMore\` then \`getChildren\` again,
as the view does after the change event) until every device is listed — then \`getTreeItem\` for
all nodes. **Reference:** the same requests through the same fake session without the tree
(fetch and parse only). Medians of ${x.tree?.oneBus?.allChildrenMs?.n ?? '?'} rounds in one process.

${table(['Shape', 'Nodes', 'Requests', '"Load more…"', 'Root (ms)', 'First page (ms)', 'All children (ms)', 'getTreeItem, all (ms)', 'Floor (ms)', 'Ratio'], tree)}
`;
}

function limitsSection(r) {
  const missed = (r.targets ?? []).filter((t) => t.met === false);
  if (!missed.length) return '## What limits the figures\n\nEvery measured target is met in this run.\n';
  const out = ['## What limits the missed targets', ''];
  const prof = r.profiles ?? {};
  const profFor = {
    ring64: 'ring',
    ring1024: 'ring',
    dispatch: 'dispatch',
    linear: 'linear',
    next: 'adapter',
    variables: 'adapter',
    stepBack: 'adapter',
    activation: 'activation',
  };
  const seen = new Set();
  const shownProfiles = new Map();
  for (const t of missed) {
    const key = t.id.startsWith('ring') ? 'ring' : t.id;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`### ${t.name}: ${t.value} (goal ${t.target})`, '');
    if (LIMITS[key]) out.push(typeof LIMITS[key] === 'function' ? LIMITS[key](r) : LIMITS[key], '');
    const p = prof[profFor[t.id]];
    if (p && shownProfiles.has(profFor[t.id])) {
      out.push(`Profile: the one under “${shownProfiles.get(profFor[t.id])}” above.`, '');
      continue;
    }
    if (p) shownProfiles.set(profFor[t.id], t.name);
    if (key === 'linear' && p?.rows?.length) {
      out.push(
        `Profile (${p.what}; self time in ${p.unit}, ${int(p.from)} → ${int(p.to)} devices; all functions: ${f(p.totalSmall, 3)} → ${f(p.totalLarge, 3)}):`,
        '',
      );
      out.push(
        table(
          ['Function', 'Where', `${int(p.from)} devices`, `${int(p.to)} devices`, 'Growth'],
          p.rows.map((x) => [`\`${x.fn}\``, x.where ? `\`${x.where}\`` : '', f(x.small, 3), f(x.large, 3), x.small >= 0.005 ? ratio(x.large / x.small) : '—']),
          'llrrr',
        ),
        '',
      );
    } else if (p?.top?.length) {
      out.push(`Profile (${p.what}; self time, share of ${f(p.profiledMs, 0)} ms profiled):`, '');
      out.push(
        table(
          ['Function', 'Where', 'Self'],
          p.top.map((x) => [`\`${x.fn}\``, x.where ? `\`${x.where}\`` : '', `${(x.share * 100).toFixed(1)} %`]),
          'llr',
        ),
        '',
      );
    } else if (p?.error) out.push(`(profiling failed: ${p.error})`, '');
  }
  out.push(
    "Profiles are written to out/bench/prof/ (open them in Chrome DevTools or VS Code); the locations above are mapped back to the TypeScript sources through the bundles' source maps (the line where the function starts).",
    '',
  );
  return out.join('\n');
}

export function renderMarkdown(r, soakSection) {
  const m = r.machine;
  const failures = (r.failures ?? []).map((x) => `> **${x.section} failed:** ${x.error}`).join('\n\n');
  const notes = (r.build?.notes ?? []).map((n) => `> ${n}`).join('\n\n');
  return `# Benchmarks

<!-- Generated by \`npm run bench\` (scripts/bench.mjs) from bench/results.json. Regenerating rewrites
     everything except the "## Soak" section, which is kept as it is. -->

\`npm run bench\` measures Visorbus Studio and writes this file, \`bench/results.json\` (every number,
with the raw samples' summaries) and \`bench/scaling.svg\`. Each figure comes from a real run of the
real code and is set against a **reference measured in the same run** — a C implementation, a
bare floor, an earlier point of the same curve — because ratios hold on shared machines where
absolute times drift. No test asserts any timing.

**Reproduce** from a fresh clone: \`npm ci && npm run bench\` (needs Node 20; gcc for the C reference,
skipped with a note without it; no network). It builds the bundles (\`npm run build\`), bundles the
harnesses in scripts/bench/ into out/bench/, compiles bench/c/ring.c, and packages the VSIX. The activation
row measured in VS Code also needs the e2e suite's code-server and Chromium (\`npm run e2e:install\`, or
\`E2E_CS_DIR\` naming an install); without them that row says "not measured". This run took
${f(r.durationSec, 0)} s${r.quick ? ' with `--quick` (smaller sizes and fewer samples: not the reference figures)' : ''}. Options: \`--quick\`, \`--skip-build\`, \`--only=ring,emu,dap,ext,travel\` (the other sections keep their last figures), \`--no-profile\`, \`--report-only\` (rewrite this file from bench/results.json).

| Run | |
|---|---|
| Date | ${r.generatedAt} |
| Machine | ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.platform} |
| Load average (start → end) | ${m.loadAverageAtStart?.join(' ')} → ${m.loadAverageAtEnd?.join(' ')} |
| Node | ${m.node} (V8 ${m.v8}) |
| C compiler | ${m.gcc ?? 'none'} |
| Commit | ${m.commit ?? '?'}${m.dirty ? ' (with uncommitted changes)' : ''} |

${notes}${notes && failures ? '\n\n' : ''}${failures}

${targetsSection(r)}
${ringSection(r)}
${emuSection(r)}
${dapSection(r)}
${extSection(r)}
${travelSection(r)}
${limitsSection(r)}
${soakSection.replace(/\s+$/, '')}
`.replace(/\n{3,}/g, '\n\n');
}

// ---- SVG ------------------------------------------------------------------------------------

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceLogTicks(min, max) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

function fmtTick(v, unit) {
  if (unit === 'ms') return v >= 1000 ? `${v / 1000} s` : `${v} ms`;
  if (unit === 'MB') return v >= 1000 ? `${v / 1000} GB` : v >= 1 ? `${v} MB` : `${v * 1000} kB`;
  return v >= 1000 ? `${(v / 1000).toLocaleString('en-US')}k` : String(v);
}

/** One log-log panel: series of [x, y], plus a dashed linear guide through the anchor point of each series. */
function panel({ x0, y0, w, h, title, unit, series, anchorX }) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const ymin = Math.min(...ys) / 1.5;
  const ymax = Math.max(...ys) * 1.5;
  const lx = (v) => x0 + ((Math.log10(v) - Math.log10(xmin)) / (Math.log10(xmax) - Math.log10(xmin))) * w;
  const ly = (v) => y0 + h - ((Math.log10(v) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))) * h;
  const out = [];
  out.push(`<text x="${x0 + w / 2}" y="${y0 - 14}" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#888"/>`);
  for (const t of niceLogTicks(ymin, ymax)) {
    if (t < ymin || t > ymax) continue;
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${ly(t).toFixed(1)}" y2="${ly(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 6}" y="${(ly(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fmtTick(t, unit))}</text>`);
  }
  let lastLabel = -Infinity;
  let row = 0;
  for (const t of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = lx(t);
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y0}" y2="${y0 + h}" stroke="#eee"/>`);
    // labels closer than 36 px to the previous one go on a second row
    row = x - lastLabel < 36 && row === 0 ? 1 : 0;
    if (row === 0) lastLabel = x;
    out.push(`<text x="${x.toFixed(1)}" y="${y0 + h + 16 + row * 12}" text-anchor="middle" font-size="11">${esc(t.toLocaleString('en-US'))}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 42}" text-anchor="middle" font-size="12">devices (log scale)</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[1] > 0);
    const anchor = pts.find((p) => p[0] === anchorX) ?? pts[pts.length - 1];
    if (anchor) {
      // linear guide y = k·x through the anchor point, clipped to the panel
      const k = anchor[1] / anchor[0];
      const xa = Math.max(xmin, ymin / k);
      const xb = Math.min(xmax, ymax / k);
      if (xa < xb)
        out.push(
          `<line x1="${lx(xa).toFixed(1)}" y1="${ly(k * xa).toFixed(1)}" x2="${lx(xb).toFixed(1)}" y2="${ly(k * xb).toFixed(1)}" stroke="${s.color}" stroke-opacity="0.35" stroke-dasharray="4 4"/>`,
        );
    }
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${lx(p[0]).toFixed(1)},${ly(p[1]).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      out.push(
        `<circle cx="${lx(p[0]).toFixed(1)}" cy="${ly(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${p[0].toLocaleString('en-US')} devices, ${p[1].toPrecision(3)} ${unit}`)}</title></circle>`,
      );
    const ly0 = y0 + 14 + i * 16;
    out.push(`<line x1="${x0 + 10}" x2="${x0 + 30}" y1="${ly0 - 4}" y2="${ly0 - 4}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${x0 + 36}" y="${ly0}" font-size="11">${esc(s.name)}</text>`);
  });
  out.push(
    `<text x="${x0 + w - 8}" y="${y0 + h - 8}" text-anchor="end" font-size="10" fill="#666">dashed: linear through ${esc(anchorX.toLocaleString('en-US'))} devices</text>`,
  );
  return out.join('\n');
}

export function renderScalingSvg(scaling) {
  const rows = [...scaling].sort((a, b) => a.devices - b.devices);
  const W = 940;
  const H = 400;
  const anchorX = rows.some((r) => r.devices === 1000) ? 1000 : rows[Math.floor(rows.length / 2)].devices;
  const time = panel({
    x0: 80,
    y0: 50,
    w: 340,
    h: 280,
    title: 'Main-thread CPU time',
    unit: 'ms',
    anchorX,
    series: [
      { name: 'build + bind', color: '#1f77b4', points: rows.map((r) => [r.devices, r.buildCpuMs ?? r.buildMs + r.bindMs]) },
      { name: 'one virtual second', color: '#d62728', points: rows.map((r) => [r.devices, r.runCpuMs ?? r.runMs]) },
    ],
  });
  const memory = panel({
    x0: 560,
    y0: 50,
    w: 340,
    h: 280,
    title: 'Memory after the build',
    unit: 'MB',
    anchorX,
    series: [
      { name: 'JS heap growth', color: '#2ca02c', points: rows.map((r) => [r.devices, r.heapBytes / 1e6]) },
      { name: 'RSS growth', color: '#9467bd', points: rows.map((r) => [r.devices, r.rssBytes / 1e6]) },
      { name: 'guest pages (residentBytes)', color: '#ff7f0e', points: rows.map((r) => [r.devices, r.residentBytes / 1e6]) },
    ],
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<title>Visorbus emulator scaling: wall time and memory against the device count (log-log)</title>
<rect width="${W}" height="${H}" fill="#fff"/>
${time}
${memory}
</svg>
`;
}
