import * as assert from 'node:assert/strict';
import { EventLog } from '../../src/emulator/engine/events';

describe('event log', () => {
  const emitSix = (log: EventLog) => {
    for (let i = 1; i <= 6; i++) log.emit(i * 10, i % 2 ? 'call' : 'return', 1000 + i, `vbus1:dev${i}`, `text ${i}`, i === 5 ? { result: -11 } : undefined);
  };

  it('keeps the last ringSize events, oldest first, every field as emitted', () => {
    const log = new EventLog({ ringSize: 4 });
    emitSix(log);
    const evs = log.events();
    assert.deepEqual(
      evs.map((e) => [e.n, e.jiffies, e.kind, e.thread, e.subject, e.text, e.data]),
      [3, 4, 5, 6].map((i) => [i, i * 10, i % 2 ? 'call' : 'return', 1000 + i, `vbus1:dev${i}`, `text ${i}`, i === 5 ? { result: -11 } : undefined]),
    );
    assert.equal(log.count, 6);
  });

  it('before the ring is full it returns what there is; keepAll keeps everything', () => {
    const part = new EventLog({ ringSize: 8 });
    emitSix(part);
    assert.deepEqual(
      part.events().map((e) => e.n),
      [1, 2, 3, 4, 5, 6],
    );
    const all = new EventLog({ keepAll: true, ringSize: 2 });
    emitSix(all);
    assert.deepEqual(
      all.events().map((e) => e.text),
      ['text 1', 'text 2', 'text 3', 'text 4', 'text 5', 'text 6'],
    );
  });

  it('the hook and the listeners get each event as an object; the checksum does not depend on who listens', () => {
    const quiet = new EventLog({ ringSize: 4 });
    const heard = new EventLog({ ringSize: 4 });
    const seen: string[] = [];
    heard.onEvent((e) => seen.push(`L${e.n}:${e.kind}`));
    heard.hook = (e) => seen.push(`H${e.n}:${e.text}`);
    emitSix(quiet);
    emitSix(heard);
    assert.equal(seen.length, 12);
    assert.deepEqual(seen.slice(0, 2), ['L1:call', 'H1:text 1']);
    assert.equal(quiet.checksum, heard.checksum);
  });
});
