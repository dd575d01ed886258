/**
 * The short soak: the mixed workload of `npm run soak` (disk, network, input, pause/resume,
 * hot-plug, parahotplug, injected medium errors) for 200,000 events, twice. Both runs must
 * produce the identical trace (same checksum), no step may fail, and after warm-up the
 * guest's memory, its mapped regions and armed timers must stay flat and the heap trend small.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { flatness, runSoak } from './support/soakload';
import { parseScenario } from '../../src/emulator/scenario/parser';
import { newRun } from '../../src/emulator/host/scenariofile';

describe('robust: soak (short)', function () {
  this.timeout(170000);

  it('200,000 events of mixed workload, twice: identical traces, no failed step, flat memory after warm-up', () => {
    const dir = path.join(os.tmpdir(), 'visorbus-soak-test');
    const gc = (globalThis as { gc?: () => void }).gc;
    const a = runSoak({ events: 200_000, dir, sampleEvery: 20_000, gc });
    const b = runSoak({ events: 200_000, dir, sampleEvery: 20_000, gc });
    assert.deepEqual(a.stepErrors, [], 'every workload step succeeds');
    assert.equal(a.events, b.events);
    assert.equal(a.jiffies, b.jiffies);
    assert.equal(a.checksum, b.checksum, 'the same workload gives the same trace');
    assert.deepEqual(a.errorEvents, b.errorEvents);
    // The Command partition's sent-message history fills up over the first ~120,000 events.
    const f = flatness(a.samples, 0.6);
    assert.ok(f.flat, f.why.join('; '));
    assert.ok(a.cycles > 500, `${a.cycles} workload cycles`);
  });
});

describe('robust: found by the soak', function () {
  this.timeout(60000);

  it('a keyboard typed at for a long time keeps only the last 4096 characters of text', () => {
    const chunk = 'abcdefghij'.repeat(10);
    const lines = ['chipset init', 'bus create 1', 'device create 1:1 type=keyboard', 'input 1:1 open', 'wait 20ms'];
    for (let i = 0; i < 120; i++) lines.push(`keyboard 1:1 type "${chunk}"`, 'wait 30ms');
    const run = newRun(parseScenario(lines.join('\n') + '\n', path.join(os.tmpdir(), 'typing.visor')));
    run.runToEnd();
    assert.deepEqual(run.errors, []);
    const text = String(run.allCounters()['input "visor Keyboard" text']);
    assert.equal(text.length, 4096, `${text.length} characters kept of 12,000 typed`);
    assert.ok(text.endsWith(chunk), 'the most recent text is kept');
    run.emu.shutdown();
  });
});
