// Hand-made mutation check of the emulator core (visorchannel, visorchipset, visorbus).
//
// Each mutant is one small change to one source line. For each, the script compiles the
// mutated file alone (esbuild, to the same out/ path tsc writes), runs the unit tests, and
// puts the compiled original back. A mutant is killed when the tests fail, survived when
// they pass. Needs a compiled tree first: `npx tsc -p . --outDir out`.
//
//   node scripts/mutants.mjs [--only=SUBSTRING] [--suite=unit|unit+robust]
//
// Prints one line per mutant and the score; exits 1 when a mutant survived. Not part of
// `npm test` (one unit-test run per mutant).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHANNEL = 'src/emulator/visorchannel/visorchannel.ts';
const QUEUEWIN = 'src/emulator/visorchannel/queuewindow.ts';
const CHIPSET = 'src/emulator/visorchipset/visorchipset.ts';
const CHANINT = 'src/emulator/visorbus/channelinterrupt.ts';
const DRVCALL = 'src/emulator/visorbus/drivercall.ts';
const CONTROLVM = 'src/emulator/protocol/controlvm.ts';

/** [file, what the kernel would see change, text to find (exactly once), replacement] */
const MUTANTS = [
  // visorchannel: the ring (reference §2.3)
  [CHANNEL, 'next slot without the modulo', 'return i1 < max ? i1 : i1 % max;', 'return i1;'],
  [CHANNEL, 'full test off by one', 'if (newHead === q.tail) {', 'if (newHead === q.head) {'],
  [CHANNEL, 'overflow not counted', 'this.incField64(SQ.num_overflows);', '/* num_overflows not bumped */'],
  [CHANNEL, 'full queue accepted', '      return -EIO;\n    }\n    const n = q.signalSize;', '    }\n    const n = q.signalSize;'],
  [CHANNEL, 'num_sent/num_received not incremented', 'this.incField64(countField);', '/* count not bumped */'],
  [QUEUEWIN, 'a u64 counter loses its carry', 'dv.setUint32(o + 4, (dv.getUint32(o + 4, true) + 1) >>> 0, true);', '/* no carry */'],
  [CHANNEL, 'a u64 counter in a header across pages loses its carry', 'if (b[i] !== 0) break;', 'break;'],
  [CHANNEL, 'head/tail not published', 'this.writeField(indexField, index);', '/* index not written */'],
  [CHANNEL, 'empty test inverted in remove', 'if (q.head === q.tail) return -EAGAIN;', 'if (q.head !== q.tail) return -EAGAIN;'],
  [CHANNEL, 'signalEmpty inverted', 'return this.q.head === this.q.tail;\n  }\n}', 'return this.q.head !== this.q.tail;\n  }\n}'],
  [
    CHANNEL,
    'insert writes the current head slot',
    'r = this.copy(this.slotOffset(newHead), data, n, true);',
    'r = this.copy(this.slotOffset(q.head), data, n, true);',
  ],
  [CHANNEL, 'remove reads the current tail slot', 'const off = this.slotOffset(newTail);', 'const off = this.slotOffset(q.tail);'],
  [CHANNEL, 'queue header stride', 'return (this.csoLow + queue * 128) | 0;', 'return (this.csoLow + queue * 64) | 0;'],
  [CHANNEL, 'short signal not padded to signal_size', 'if (msg.length < n) {', 'if (false) {'],
  // controlvm messages (the ACK and response headers)
  [
    CONTROLVM,
    'ACK keeps payload_vm_offset',
    'm.setU64(MSG.payload_vm_offset, 0).setU32(MSG.payload_max_bytes, 0).setU32(MSG.payload_bytes, 0);',
    'm.setU32(MSG.payload_max_bytes, 0).setU32(MSG.payload_bytes, 0);',
  ],
  [CHIPSET, 'ACK is the whole message', 'const ack = msg.headerCopy();', 'const ack = new ControlvmMessage(msg.bytes);'],
  // visorchipset (reference §4)
  [CHIPSET, 'failed flag not set', 'm.setU32(MSG.flags, m.flags | FLAG.failed);', '/* failed flag not set */'],
  [CHIPSET, 'completion_status not negated', 'm.setU32(MSG.completion_status, -r);', 'm.setU32(MSG.completion_status, r);'],
  [
    CHIPSET,
    'features without PARA_HOTPLUG mask',
    'this.features = (msg.u32(MSG.init_features) & CHIPSET_FEATURE.PARA_HOTPLUG) | CHIPSET_FEATURE.REPLY;',
    'this.features = msg.u32(MSG.init_features) | CHIPSET_FEATURE.REPLY;',
  ],
  [
    CHIPSET,
    'features without REPLY',
    'this.features = (msg.u32(MSG.init_features) & CHIPSET_FEATURE.PARA_HOTPLUG) | CHIPSET_FEATURE.REPLY;',
    'this.features = msg.u32(MSG.init_features) & CHIPSET_FEATURE.PARA_HOTPLUG;',
  ],
  [CHIPSET, 'duplicate device accepted', 'if (!err && existing && existing.created) err = -EEXIST;', '/* duplicate accepted */'],
  [CHIPSET, 'pending header does not block CHANGESTATE', 'if (dev.pendingMsgHdr) return -EIO;', '/* pending header ignored */'],
  [
    CHIPSET,
    'idle poll interval',
    'this.schedule(idle ? POLLJIFFIES_CONTROLVM_SLOW : POLLJIFFIES_CONTROLVM_FAST);',
    'this.schedule(POLLJIFFIES_CONTROLVM_FAST);',
  ],
  [
    CHIPSET,
    'pause/resume state decoding swapped',
    'if (alive && operating) r = this.bus.resumeDevice(dev);',
    'if (alive && operating) r = this.bus.pauseDevice(dev);',
  ],
  // visorbus core (reference §5): polling (channelinterrupt.ts) and driver calls (drivercall.ts)
  [CHANINT, 'second enable_channel_interrupts accepted', 'if (d.beingRemoved || d.timerActive) return -EINVAL;', 'if (d.beingRemoved) return -EINVAL;'],
  [CHANINT, 'enable during removal accepted', 'if (d.beingRemoved || d.timerActive) return -EINVAL;', 'if (d.timerActive) return -EINVAL;'],
  [
    CHANINT,
    'poll period doubled',
    'd.timer = this.engine.clock.rearm(this.slotTimer(slot, thread, d.name), this.pollJiffies);',
    'd.timer = this.engine.clock.rearm(this.slotTimer(slot, thread, d.name), this.pollJiffies * 2);',
  ],
  [CHANINT, 'poll not re-armed', 'if (d.timerActive && d.timer === t && t) this.engine.clock.rearm(t, this.pollJiffies);', '/* not re-armed */'],
  [CHANINT, 'disable does not cancel the timer', 'this.engine.clock.cancel(d.timer);\n    d.timer = undefined;', 'd.timer = undefined;'],
  [DRVCALL, 'a throwing callback returns 0', 'const rc = -EINVAL;\n    // `threw`', 'const rc = 0;\n    // `threw`'],
];

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const suite = args.find((a) => a.startsWith('--suite='))?.slice('--suite='.length) ?? 'unit';
const configs = suite === 'unit+robust' ? ['test/unit/.mocharc.json', 'test/robust/.mocharc.json'] : ['test/unit/.mocharc.json'];

function outFile(src) {
  return path.join(ROOT, 'out', src.replace(/\.ts$/, '.js'));
}

function testsPass() {
  for (const config of configs) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--config', config, '--reporter', 'dot', '--bail'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (r.status !== 0) return false;
  }
  return true;
}

for (const src of new Set(MUTANTS.map((m) => m[0]))) {
  if (!fs.existsSync(outFile(src))) {
    console.error(`${path.relative(ROOT, outFile(src))} is missing: run \`npx tsc -p . --outDir out\` first`);
    process.exit(2);
  }
}

const originals = new Map();
function restoreAll() {
  for (const [file, text] of originals) fs.writeFileSync(file, text);
}
process.on('SIGINT', () => {
  restoreAll();
  process.exit(130);
});

if (!testsPass()) {
  console.error('the unit tests fail without any mutant: fix them first');
  process.exit(2);
}

const results = [];
for (const [src, what, find, replace] of MUTANTS) {
  if (only && !what.includes(only) && !src.includes(only)) continue;
  const text = fs.readFileSync(path.join(ROOT, src), 'utf8');
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0) {
    results.push({ src, what, status: 'stale' });
    console.log(`STALE     ${path.basename(src)}: ${what} (the text to mutate is not found exactly once)`);
    continue;
  }
  const mutated = text.slice(0, at) + replace + text.slice(at + find.length);
  const out = outFile(src);
  if (!originals.has(out)) originals.set(out, fs.readFileSync(out, 'utf8'));
  try {
    fs.writeFileSync(out, transformSync(mutated, { loader: 'ts', format: 'cjs', target: 'es2022', sourcefile: src }).code);
    const killed = !testsPass();
    results.push({ src, what, status: killed ? 'killed' : 'survived' });
    console.log(`${killed ? 'killed  ' : 'SURVIVED'}  ${path.basename(src)}: ${what}`);
  } finally {
    fs.writeFileSync(out, originals.get(out));
  }
}

const counted = results.filter((r) => r.status !== 'stale');
const killed = counted.filter((r) => r.status === 'killed').length;
console.log(
  `\nmutation score (${suite}): ${killed}/${counted.length} killed${counted.length ? ` (${((100 * killed) / counted.length).toFixed(0)} %)` : ''}; ${results.length - counted.length} stale`,
);
process.exit(killed === counted.length && counted.length === results.length ? 0 : 1);
