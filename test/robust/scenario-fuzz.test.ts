/**
 * Scenario fuzzing: generated, mutated and random `.visor` text through the parser and the
 * runner (built-in drivers and back-ends, as `visorbus-emu run` uses them). Every input
 * yields either a run or located diagnostics: no exception escapes, no diagnostic points
 * outside the text, every step finishes in bounded time (the generator asks for extreme
 * waits, counts and wheel steps as they are; the emulator's own limits bound them), run
 * errors name a real step line, the bus/device tree stays consistent, no channel leaks,
 * and the heap does not grow with the number of runs.
 *
 * The back-end touches the host only through disk images; every image path is redirected
 * into a temporary directory, and driver modules are never loaded from fuzzed paths.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseScenario } from '../../src/emulator/scenario/parser';
import { Scenario } from '../../src/emulator/scenario/ast';
import { newRun } from '../../src/emulator/host/scenariofile';
import { SEED, channelLeaks, describeInput, heapUsed, treeProblems } from './support/harness';
import { MAX_WAIT_SECONDS } from '../../src/emulator/limits';

const ROOT = path.resolve(__dirname, '../../..');
/** Most virtual time one line may take (jiffies at HZ 1000): the longest wait, or a controlvm wait of 12 s and a little. */
const MAX_STEP_JIFFIES = MAX_WAIT_SECONDS * 1000 + 13000;
/** Wall-clock budget of one step: far above any real step, far below a hang. */
const STEP_BUDGET_MS = 30000;

function seedScenarios(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.visor')) out.push({ name: path.relative(ROOT, p), text: fs.readFileSync(p, 'utf8') });
    }
  };
  for (const d of ['scenarios', 'examples']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function lineCount(text: string): string[] {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\r|\n/);
}

/** Every diagnostic names this file, a line of the text and a column range within that line. */
function diagnosticProblems(sc: Scenario, text: string, file: string): string[] {
  const lines = lineCount(text);
  const p: string[] = [];
  for (const d of sc.diagnostics) {
    const where = `${d.line}:${d.column}-${d.endColumn} ${d.severity} '${d.message}'`;
    if (d.file !== file) p.push(`${where}: file ${d.file}`);
    if (!Number.isInteger(d.line) || d.line < 1 || d.line > lines.length) p.push(`${where}: line outside 1..${lines.length}`);
    else {
      const len = lines[d.line - 1].length;
      if (!(d.column >= 1 && d.column <= len + 1)) p.push(`${where}: column outside the line (length ${len})`);
      if (!(d.endColumn > d.column && d.endColumn <= len + 2)) p.push(`${where}: end column outside the line (length ${len})`);
    }
    if (typeof d.message !== 'string' || d.message.trim() === '') p.push(`${where}: empty message`);
    if (/internal error/i.test(d.message)) p.push(`${where}: the parser failed internally`);
  }
  const stepLines = new Set<number>();
  for (const s of sc.steps) {
    if (stepLines.has(s.loc.line)) p.push(`two steps on line ${s.loc.line}`);
    stepLines.add(s.loc.line);
    if (s.loc.line < 1 || s.loc.line > lines.length) p.push(`step on line ${s.loc.line} outside the text`);
  }
  return p;
}

/**
 * Keep a fuzzed scenario inside its sandbox: disk images in `tmp` (sparse, any size the
 * emulator accepts) and no driver module loaded by path. Waits, counts and sizes stay as
 * generated.
 */
function sandbox(sc: Scenario, tmp: string): void {
  sc.steps.forEach((s, i) => {
    const c = s.command;
    if (c.kind === 'backend') {
      if ('image' in c.options) c.options.image = path.join(tmp, `img${i % 3}.img`);
    } else if (c.kind === 'driverLoad' && c.isPath) {
      c.name = path.join(tmp, 'no-such-driver.js');
    }
  });
}

interface Outcome {
  steps: number;
  runErrors: number;
  diagnostics: number;
}

/** Parse, then run whatever steps the parser produced. Throws (fails) on any broken promise above. */
function fuzzOne(text: string, tmp: string): Outcome {
  const file = path.join(tmp, 'fuzz.visor');
  const sc = parseScenario(text, file);
  assert.deepEqual(diagnosticProblems(sc, text, file), [], `diagnostics of: ${describeInput(text)}`);
  sandbox(sc, tmp);
  const run = newRun(sc);
  const emu = run.emu;
  try {
    while (!run.done) {
      const s = run.current!;
      const t0 = Date.now();
      run.step();
      const ms = Date.now() - t0;
      assert.ok(ms < STEP_BUDGET_MS, `line ${s.loc.line} '${s.text}' took ${ms} ms of wall time`);
      const tree = treeProblems(emu);
      if (tree.length) assert.fail(`after line ${s.loc.line} '${s.text}': ${tree.join('; ')}\n${describeInput(text)}`);
    }
    assert.ok(emu.engine.jiffies <= sc.steps.length * MAX_STEP_JIFFIES, 'virtual time stays bounded');
    assert.deepEqual(channelLeaks(emu), [], `channels of: ${describeInput(text)}`);
    const lines = new Set(sc.steps.map((s) => s.loc.line));
    for (const e of run.errors) {
      assert.ok(lines.has(e.line) && e.column >= 1 && e.message.trim() !== '', `run error not located on a step: ${JSON.stringify(e)}`);
      assert.equal(e.file, file);
    }
  } finally {
    emu.shutdown();
  }
  return { steps: sc.steps.length, runErrors: run.errors.length, diagnostics: sc.diagnostics.length };
}

// ---- generated scenarios --------------------------------------------------------------------

const bus = fc.integer({ min: 0, max: 3 });
const anyDev = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([b, d]) => `${b}:${d}`);
/** Mostly the preamble's devices (so commands reach drivers and back-ends), sometimes any. */
const dev = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('1:1', '1:2', '2:0', '2:1') }, { weight: 1, arbitrary: anyDev });
/** A device of the family's own type, mostly. */
const devOf = (d: string) => fc.oneof({ weight: 4, arbitrary: fc.constant(d) }, { weight: 1, arbitrary: dev });
const num = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom('0x0', '0xff', '4294967295', '0xffffffff', '18446744073709551615', '9007199254740993', '-1', '1.5', ''),
);
const smallText = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
  fc.uint8Array({ maxLength: 40 }).map((b) => `hex:${Buffer.from(b).toString('hex')}`),
  fc.constantFrom('"\\x00\\xff"', '""', '"unterminated', 'hex:0', 'hex:zz'),
);
const type = fc.constantFrom(
  'vhba',
  'vnic',
  'keyboard',
  'mouse',
  'controlvm',
  'vbus',
  '3cd6e705-d6a2-4aa5-ad5c-7b08889dffe2',
  '11111111-2222-3333-4444-555555555555',
  'vhab',
);
const size = fc.constantFrom(
  '0',
  '1',
  '128',
  '4k',
  '0x1000',
  '64k',
  '1M',
  '0x27000',
  '16M',
  '4294967295',
  '1099511627776',
  '2199023255552',
  '2199023255553',
  '9007199254740991',
);
const waitArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 60 }), fc.constantFrom('ms', 's', 'us', 'j', 'h', ''))
      .map(([n, u]) => `wait ${u === 's' ? Math.min(n, 3) : n}${u}`),
  },
  // Extremes, as they are: refused past the emulator's limit, run in full up to it.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'wait 9007199254740991j',
      'wait 4294967296j',
      'wait 6000001j',
      'wait 601s',
      'wait 18446744073709551615us',
      'wait 600000001us',
      'wait 120s',
    ),
  },
);

export const line: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'chipset init',
    'chipset init features=3',
    'chipset ready',
    'chipset selftest',
    'chipset stop',
    'autoload off',
    'autoload on',
    '# comment',
    '',
    'log "hi"',
  ),
  fc.constantFrom('visorhba', 'visornic', 'visorinput', 'nosuch', './mine.js').map((d) => `driver load ${d}`),
  fc.constantFrom('visorhba', 'visornic', 'visorinput').map((d) => `driver unload ${d}`),
  fc
    .tuple(bus, fc.option(size, { nil: undefined }), fc.option(num, { nil: undefined }), fc.boolean())
    .map(([b, s, c, n]) => `bus create ${b}${s ? ` bytes=${s}` : ''}${c !== undefined ? ` devcount=${c}` : ''}${n ? ' name=io handle=0x10' : ''}`),
  fc
    .tuple(bus, fc.constantFrom('destroy', 'configure handle=7 name=x', 'configure'))
    .map(([b, v]) => `bus ${v.split(' ')[0]} ${b}${v.includes(' ') ? v.slice(v.indexOf(' ')) : ''}`),
  fc
    .tuple(
      dev,
      type,
      fc.option(size, { nil: undefined }),
      fc.option(fc.constantFrom('version=1', 'version=2', 'chtype=vnic', 'zone=vbus', 'addr=0x10000000', 'partition=5'), { nil: undefined }),
    )
    .map(([d, t, s, x]) => `device create ${d} type=${t}${s ? ` bytes=${s}` : ''}${x ? ` ${x}` : ''}`),
  fc
    .tuple(fc.constantFrom('destroy', 'pause', 'resume', 'configure', 'state'), dev, fc.constantFrom('running', 'standby', 'paused', '0x5', '99999'))
    .map(([v, d, st]) => `device ${v} ${d}${v === 'state' ? ` ${st}` : ''}`),
  bus.map((b) => `partition recover ${b}`),
  waitArb,
  fc.tuple(dev, fc.constantFrom('enable', 'disable')).map(([d, e]) => `parahotplug ${d} ${e}`),
  fc
    .tuple(
      fc.constantFrom('0x101', '0x102', '0x104', '0x105', '0x201', '0x202', '0x203', '0x204', '0x301', '0x304', '0', '0xffff'),
      bus,
      num,
      fc.constantFrom('0', '2', '3', '8', '10'),
      fc.option(fc.constantFrom('payload=00ff', 'payload_bytes=200000', 'payload_bytes=72', 'state=0x73'), { nil: undefined }),
    )
    .map(([id, b, d, fl, x]) => `controlvm send id=${id} bus=${b} dev=${d} flags=${fl}${x ? ` ${x}` : ''}`),
  fc.tuple(fc.oneof(dev, fc.constant('controlvm')), fc.integer({ min: 0, max: 4 }), smallText).map(([t, q, d]) => `signal insert ${t} queue=${q} ${d}`),
  fc.tuple(fc.oneof(dev, fc.constant('controlvm')), fc.integer({ min: 0, max: 4 })).map(([t, q]) => `signal remove ${t} queue=${q}`),
  fc
    .tuple(
      fc.oneof(dev, fc.constant('controlvm')),
      fc.constantFrom(0, 16, 64, 128, 180, 184, 188, 200, 256, 3072 + 52, 3328 + 60, 3328 + 72, 4096, 0x40000),
      fc.constantFrom('u8 255', 'u16 0', 'u32 0', 'u32 4294967295', 'u64 0', 'hex:00', 'hex:ffffffffffffffff', '"x"'),
    )
    .map(([t, o, v]) => `memory write ${t}+${o} ${v}`),
  fc
    .tuple(devOf('2:0'), fc.integer({ min: 0, max: 3 }), fc.option(size, { nil: undefined }))
    .map(([d, l, s]) => `disk ${d} attach lun=${l} image=disk${l}.img${s ? ` size=${s}` : ' size=1M'}`),
  fc
    .tuple(devOf('2:0'), fc.integer({ min: 0, max: 3 }), num, fc.constantFrom('0', '1', '8', '300', '32768', '32769', '2097152', '4294967295'))
    .map(([d, l, lba, c]) => `disk ${d} read lun=${l} lba=${lba} count=${c}`),
  fc.tuple(devOf('2:0'), fc.integer({ min: 0, max: 3 }), num, smallText).map(([d, l, lba, data]) => `disk ${d} write lun=${l} lba=${lba} ${data}`),
  fc.tuple(devOf('2:0'), fc.integer({ min: 0, max: 3 })).map(([d, l]) => `disk ${d} flush lun=${l}`),
  fc.tuple(devOf('2:1'), fc.constantFrom('send', 'xmit'), smallText).map(([d, v, data]) => `net ${d} ${v} ${data}`),
  fc.tuple(devOf('2:1'), fc.constantFrom('link up', 'link down', 'open', 'close', 'link sideways')).map(([d, v]) => `net ${d} ${v}`),
  fc
    .tuple(devOf('1:1'), fc.constantFrom('type "ls -l\\n"', 'press enter', 'release enter', 'tap capslock', 'tap 9999', 'press nosuchkey', 'type ""'))
    .map(([d, v]) => `keyboard ${d} ${v}`),
  fc
    .tuple(
      devOf('1:2'),
      fc.constantFrom(
        'move 10 20',
        'move -5 99999',
        'move 2147483648 0',
        'click',
        'click middle',
        'dclick right',
        'down',
        'up left',
        'wheel -3',
        'wheel 1000000',
        'wheel 10000',
        'wheel -10000',
        'wheel 2147483647',
        'wheel -2147483648',
      ),
    )
    .map(([d, v]) => `mouse ${d} ${v}`),
  fc.tuple(fc.oneof(devOf('1:1'), devOf('1:2')), fc.constantFrom('open', 'close')).map(([d, v]) => `input ${d} ${v}`),
  fc
    .tuple(
      fc.oneof(devOf('2:0'), devOf('2:1')),
      fc.constantFrom('medium-error', 'lost-response', 'backend-error', 'timeout', 'drop-frame', 'queue-full'),
      fc.constantFrom('', ' count=3', ' count=0', ' lun=1', ' count=99999'),
    )
    .map(([d, k, o]) => `fault ${d} ${k}${o}`),
  fc
    .tuple(
      fc.constantFrom(
        '/sys/bus/visorbus/devices/vbus2:dev0/driver',
        '/sys/devices/visorbus1/partition_name',
        '2:0.state',
        '2:0.queue[0].num_sent',
        '2:0.queue[9].head',
        'controlvm.queue[2].tail',
        '2:0.header.size',
        'counter controlvm.sent',
        'counter nosuch',
        '/sys/nope',
      ),
      fc.constantFrom('==', '!=', '<', '<=', '>', '>=', 'contains', '=<'),
      fc.constantFrom('visorhba', '0', '0x10', '""', '<missing>', 'running'),
    )
    .map(([s, op, v]) => `expect ${s} ${op} ${v}`),
  fc
    .tuple(
      fc.constantFrom(
        'install/textid',
        'install/toolaction',
        'install/boottotool',
        'parahotplug/devicedisabled',
        'parahotplug/deviceenabled',
        'install/nosuch',
      ),
      fc.constantFrom('1', '2', '300', '-1', 'abc', '4294967296'),
    )
    .map(([a, v]) => `echo ${v} > /sys/devices/platform/visorchipset/${a}`),
);

export const PREAMBLE = [
  'chipset init',
  'bus create 1 name=console',
  'bus create 2 name=io',
  'device create 1:1 type=keyboard',
  'device create 1:2 type=mouse',
  'device create 2:0 type=vhba',
  'device create 2:1 type=vnic',
  'disk 2:0 attach lun=0 image=d.img size=1M',
  'wait 50ms',
  'net 2:1 open',
  'net 2:1 link up',
  'input 1:1 open',
  'input 1:2 open',
  'wait 10ms',
];

// ---- mutations ---------------------------------------------------------------------------------

const ODD_TOKENS = [
  '0xffffffffffffffff',
  '4294967295',
  '4294967296',
  '-1',
  '99999999999999999999',
  '""',
  '"',
  'hex:',
  'hex:0',
  '1:',
  ':1',
  '=',
  'type=',
  '0x',
  '1e9',
  'controlvm',
  '\u0000',
  '\t',
  '\\',
  '#',
  '==',
  'bytes=0',
  'bytes=1',
  'lun=4294967295',
  'queue=99',
  'wait',
  'device',
  'create',
  'destroy',
  '2:4294967295',
  '4294967295:0',
  '"\\x',
  '\u{1F600}',
  '\uFFFD',
  'é',
  'x'.repeat(300),
];

type Mutation =
  | { kind: 'flip'; at: number; ch: string }
  | { kind: 'drop' | 'dup'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'token'; at: number; tok: number; by: string }
  | { kind: 'truncate'; at: number };

function mutate(text: string, muts: readonly Mutation[], pool: readonly string[]): string {
  let t = text;
  for (const m of muts) {
    const lines = t.split('\n');
    switch (m.kind) {
      case 'flip': {
        if (!t.length) break;
        const i = m.at % t.length;
        t = t.slice(0, i) + m.ch + t.slice(i + 1);
        break;
      }
      case 'drop':
        lines.splice(m.at % lines.length, 1);
        t = lines.join('\n');
        break;
      case 'dup': {
        const i = m.at % lines.length;
        lines.splice(i, 0, lines[i]);
        t = lines.join('\n');
        break;
      }
      case 'swap': {
        const i = m.at % lines.length;
        const j = m.with % lines.length;
        [lines[i], lines[j]] = [lines[j], lines[i]];
        t = lines.join('\n');
        break;
      }
      case 'token': {
        const i = m.at % lines.length;
        const toks = lines[i].split(/(\s+)/);
        const words = toks.map((w, k) => [w, k] as const).filter(([w]) => w.trim() !== '');
        if (!words.length) break;
        toks[words[m.tok % words.length][1]] = m.by || pool[m.tok % pool.length];
        lines[i] = toks.join('');
        t = lines.join('\n');
        break;
      }
      case 'truncate':
        t = t.slice(0, m.at % (t.length + 1));
        break;
    }
  }
  return t;
}

function mutationArb(): fc.Arbitrary<Mutation> {
  const at = fc.nat(100000);
  const ch = fc.oneof(
    fc.constantFrom('\n', '\r', '#', '"', ':', '=', ' ', '\0', '\\', 'x', '0', '9', '-', '/', '.', '\u00e9', '\u{1F600}', '\uD800'),
    fc.string({ minLength: 1, maxLength: 1 }),
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at, ch }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('drop' as const, 'dup' as const), at }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), at, with: at }) },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('token' as const), at, tok: fc.nat(1000), by: fc.oneof(fc.constant(''), fc.constantFrom(...ODD_TOKENS)) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }) },
  );
}

describe('robust: scenario files', function () {
  this.timeout(150000);
  let tmp: string;
  const seeds = seedScenarios();
  const pool = [...new Set(seeds.flatMap((s) => s.text.split(/\s+/)).filter((w) => w && !w.includes('/')))];

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-fuzz-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the seed scenarios are there and run clean (the mutations start from valid input)', () => {
    assert.ok(seeds.length >= 2, `seed scenarios: ${seeds.map((s) => s.name).join(', ')}`);
    for (const s of seeds) {
      const sc = parseScenario(s.text, s.name);
      assert.deepEqual(
        sc.diagnostics.filter((d) => d.severity === 'error'),
        [],
        s.name,
      );
      const o = fuzzOne(s.text, tmp);
      assert.ok(o.steps > 5, `${s.name}: ${o.steps} steps`);
    }
  });

  it('found by fuzzing: a bus or device create the guest cannot be given (EVENT queue broken) gives its channel back', () => {
    const text =
      'chipset init\nbus create 1\nmemory write controlvm+3400 u8 255\nbus create 0\ndevice create 1:0 type=vnic\nmemory write controlvm+3400 u8 2\ndevice create 1:0 type=vnic\n';
    const sc = parseScenario(text, path.join(tmp, 'x.visor'));
    const run = newRun(sc);
    run.runToEnd();
    assert.deepEqual(
      run.errors.map((e) => e.line),
      [4, 5],
      'both creates report the refused EVENT queue',
    );
    assert.match(run.errors[0].message, /EVENT queue/);
    assert.deepEqual(channelLeaks(run.emu), []);
    assert.ok(run.emu.device(1, 0), 'the repaired queue takes the next create');
    run.emu.shutdown();
  });

  it('random text, binary and unicode: the parser always answers with located diagnostics', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.string({ unit: 'grapheme', maxLength: 400 }),
      fc
        .array(fc.oneof(fc.constantFrom(...ODD_TOKENS), fc.constantFrom(...pool.slice(0, 200)), fc.constantFrom(' ', '\n', '\r\n', '\t')), { maxLength: 80 })
        .map((a) => a.join('')),
      fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    fc.assert(
      fc.property(text, (t) => {
        const file = path.join(tmp, 'fuzz.visor');
        const sc = parseScenario(t, file);
        assert.deepEqual(diagnosticProblems(sc, t, file), [], describeInput(t));
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });

  it('huge inputs: a 70 KB line, 100,000 lines, 5,000 errors — bounded diagnostics, no exception', () => {
    const file = path.join(tmp, 'big.visor');
    const long = parseScenario(`wait 1ms\nlog "${'x'.repeat(70000)}"\nwait 1ms\n`, file);
    assert.equal(long.steps.length, 2);
    assert.match(long.diagnostics[0].message, /too long/);
    const many = parseScenario('wait 1j\n'.repeat(100000), file);
    assert.equal(many.steps.length, 100000);
    const errs = parseScenario('bogus line\n'.repeat(5000), file);
    assert.ok(errs.diagnostics.length <= 1001, `${errs.diagnostics.length} diagnostics`);
  });

  it('generated scenarios (every command, good and bad arguments) run or report located errors, and memory stays bounded', () => {
    let runs = 0;
    let steps = 0;
    let errors = 0;
    let h0 = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), fc.boolean(), (lines, preamble) => {
        const text = (preamble ? [...PREAMBLE, ...lines] : lines).join('\n') + '\n';
        const o = fuzzOne(text, tmp);
        runs++;
        steps += o.steps;
        errors += o.runErrors;
        if (runs === 30) h0 = heapUsed();
      }),
      { seed: SEED, numRuns: 600 },
    );
    const grown = heapUsed() - h0;
    assert.ok(steps > 3000, `${steps} steps in ${runs} runs`);
    assert.ok(errors > 50, `the fuzz reached the runner's error paths (${errors} located run errors)`);
    assert.ok(grown < 64 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB over ${runs - 30} runs`);
  });

  it('mutated seed scenarios (byte flips, dropped/duplicated/swapped lines, replaced tokens, truncation)', () => {
    let ran = 0;
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(mutationArb(), { minLength: 1, maxLength: 8 }), (i, muts) => {
        const text = mutate(seeds[i].text, muts, pool);
        const o = fuzzOne(text, tmp);
        if (o.steps) ran++;
      }),
      { seed: SEED, numRuns: 300 },
    );
    assert.ok(ran > 200, `${ran} mutated scenarios had steps to run`);
  });
});
