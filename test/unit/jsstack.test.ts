// At a stop the debugger maps the JavaScript stack through source maps itself (jsstack.ts),
// instead of parsing the text Node formats. Every frame must be the one Node's own text
// gives: a wrong line would put the user's cursor on the wrong driver or handler line.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { captureJsStack, JsFrame, parseStack } from '../../src/emulator/debug/worker/jsstack';
import { FIXTURES, makeRun, runSteps, testDriver, TEST_GUID } from './helpers/testdriver';

/** The same stack through Node's own formatting with source maps: the reference. */
function captureJsStackText(): JsFrame[] {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 2000;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  Error.stackTraceLimit = limit;
  return parseStack(holder.stack);
}

/** Both captures from the same place; their own frame and the line that calls them differ. */
function both(): { fast: JsFrame[]; node: JsFrame[] } {
  const fast = captureJsStack();
  const node = captureJsStackText();
  return { fast: fast.slice(2), node: node.slice(2) };
}

describe('the JavaScript stack at a stop (jsstack.ts)', () => {
  it('gives the frames Node prints with source maps, inside a running model', () => {
    const r = makeRun(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${TEST_GUID}\nwait 35ms\n`, {
      testdrv: () => testDriver({ calls: [] }, { poll: true }),
    });
    const seen: { fast: JsFrame[]; node: JsFrame[] }[] = [];
    r.emu.engine.log.hook = (ev) => {
      if (ev.kind === 'call' || ev.kind === 'step') seen.push(both());
    };
    runSteps(r);
    assert.ok(seen.length >= 5, `stops taken: ${seen.length}`);
    for (const s of seen) assert.deepEqual(s.fast, s.node);
    const files = new Set(seen.flatMap((s) => s.fast.map((f) => f.file)));
    // Mapped frames (the emulator's TypeScript sources) and frames without a map (mocha, node:internal).
    assert.ok(
      [...files].some((f) => /[\\/]src[\\/]emulator[\\/]engine[\\/]events\.ts$/.test(f)),
      [...files].join('\n'),
    );
    assert.ok([...files].some((f) => f.startsWith('node:')));
    assert.ok(seen.some((s) => s.fast.some((f) => f.fn === 'EventLog.emit')));
  });

  it('names constructors and anonymous functions as Node does', () => {
    class Probe {
      readonly got: { fast: JsFrame[]; node: JsFrame[] };
      constructor() {
        this.got = [0].map(() => both())[0];
      }
    }
    const { fast, node } = new Probe().got;
    assert.deepEqual(fast, node);
    assert.ok(
      fast.some((f) => f.fn.startsWith('new ')),
      JSON.stringify(fast.slice(0, 4)),
    );
  });

  it('restores the original names a bundle renamed, from its source map', () => {
    // A bundle like dist/emulator.js: esbuild output with a source map that carries names.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsstack-'));
    const bundle = path.join(dir, 'bundle.js');
    buildSync({
      entryPoints: [path.join(FIXTURES, 'jsstack', 'entry.js')],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      sourcemap: 'inline',
      outfile: bundle,
    });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { run } = require(bundle) as { run: (cap: () => { fast: JsFrame[]; node: JsFrame[] }) => { fast: JsFrame[]; node: JsFrame[] } };
      const { fast, node } = run(() => both());
      assert.deepEqual(fast, node);
      const renamed = fast.find((f) => f.fn === 'helper' && f.file.endsWith('entry.js'));
      assert.ok(renamed, `the renamed helper is shown by its own name: ${JSON.stringify(fast.slice(0, 8))}`);
      assert.ok(fast.some((f) => f.fn === 'Walker.walk' && f.file.endsWith('walker.js')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
