// The timeline's bounded store: each kind keeps its newest landmarks, counts what it drops, and
// a flood of one kind never pushes out another; pages merge the kinds in event order.
import * as assert from 'node:assert/strict';
import { LandmarkStore, Mark } from '../../src/emulator/debug/worker/landmarks';

const mark = (n: number, text = `event ${n}`): Mark => ({ n, jiffies: n * 2, text, line: undefined, thread: 1 });

describe('timeline landmark store', () => {
  it('keeps the newest landmarks of each kind, at most its capacity, and counts the dropped ones', () => {
    const store = new LandmarkStore(['line', 'driverError'], 100);
    store.push('driverError', mark(5, 'rare'));
    for (let n = 10; n < 1_000_010; n++) store.push('line', mark(n));
    assert.equal(store.kept, 101);
    assert.equal(store.dropped, 1_000_000 - 100);
    assert.deepEqual(store.seen(), { line: 1_000_000, driverError: 1 });
    const lines = store.select(['line'], () => true);
    assert.deepEqual([lines[0].n, lines[99].n], [999_910, 1_000_009]);
    assert.equal(store.find('driverError', 5)?.text, 'rare', 'the flood of lines did not push out the rare kind');
    assert.ok(!store.covers('line', 999_909) && store.covers('line', 999_910) && store.covers('driverError', 1), 'what the rings still hold');
  });

  it('merges kinds in event order and filters', () => {
    const store = new LandmarkStore(['line', 'probe', 'breakpoint'], 10);
    for (const n of [1, 4, 9]) store.push('line', mark(n));
    for (const n of [2, 4, 7]) store.push('probe', mark(n, `probe ${n}`));
    store.insert('breakpoint', mark(7, 'hit'));
    store.insert('breakpoint', mark(3, 'earlier hit'));
    store.insert('breakpoint', mark(7, 'hit again'));
    assert.deepEqual(
      store.select(['line', 'probe', 'breakpoint'], () => true).map((m) => `${m.kind}@${m.n}`),
      ['line@1', 'probe@2', 'breakpoint@3', 'line@4', 'probe@4', 'probe@7', 'breakpoint@7', 'line@9'],
    );
    assert.deepEqual(
      store.select(['probe', 'breakpoint'], (m) => m.text.includes('hit')).map((m) => m.text),
      ['earlier hit', 'hit'],
    );
    assert.equal(store.findAny(9)?.kind, 'line');
  });

  it('forgets the history from an event on, in every kind', () => {
    const store = new LandmarkStore(['line', 'probe'], 4);
    for (let n = 1; n <= 10; n++) store.push(n % 2 ? 'line' : 'probe', mark(n));
    store.truncateFrom(8);
    assert.deepEqual(
      store.select(['line', 'probe'], () => true).map((m) => m.n),
      [3, 4, 5, 6, 7],
    );
    store.push('probe', mark(8, 'new'));
    assert.equal(store.find('probe', 8)?.text, 'new');
  });
});
