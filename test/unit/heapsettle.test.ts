// After a long run the worker promotes what the run left in V8's young generation before it
// announces the stop, so the user's next steps do not pay for copying it (heapsettle.ts).
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { LONG_RUN_MS, settleAfterRun } from '../../src/emulator/debug/worker/heapsettle';

const newSpaceUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

/** Objects a run keeps (a model it built), young when made. */
function build(n: number): { id: number; name: string }[] {
  const kept: { id: number; name: string }[] = [];
  for (let i = 0; i < n; i++) kept.push({ id: i, name: `device ${i}` });
  return kept;
}

describe('the young generation after a run (heapsettle.ts)', () => {
  it('after a long run, what the run left young is promoted before the stop', () => {
    const kept = build(50000);
    const before = newSpaceUsed();
    assert.ok(before > 1e6, `the run's objects are young: ${before} bytes`);
    assert.equal(settleAfterRun(LONG_RUN_MS + 1), true);
    const after = newSpaceUsed();
    assert.ok(after < before / 4, `young generation ${before} -> ${after} bytes`);
    assert.equal(kept.length, 50000);
  });

  it('a short run (a step) is left alone', () => {
    const kept = build(50000);
    const before = newSpaceUsed();
    assert.equal(settleAfterRun(LONG_RUN_MS / 10), false);
    assert.ok(newSpaceUsed() >= before, 'nothing collected');
    assert.equal(kept.length, 50000);
  });
});
