// Checkpoints move once the user stays at a stop (quiettime.ts): a burst of steps moves them
// once, after the burst; someone waiting for them gets them at once; a trip back drops the
// placement meant for the history it left.
import * as assert from 'node:assert/strict';
import { QuietTime, QuietTimers } from '../../src/emulator/debug/quiettime';

/** A clock the test advances by hand. */
class ManualTimers implements QuietTimers {
  now = 0;
  private next = 1;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.due]) {
      if (t.at > this.now) continue;
      this.due.delete(id);
      t.fn();
    }
  }
  get armed(): number {
    return this.due.size;
  }
}

describe('quiet time before the checkpoints move (quiettime.ts)', () => {
  it('a burst of stops runs only the latest placement, once the user has stayed for the quiet time', () => {
    const clock = new ManualTimers();
    const q = new QuietTime(100, clock);
    const ran: string[] = [];
    q.after(() => ran.push('stop 1'));
    clock.advance(60);
    q.after(() => ran.push('stop 2'));
    clock.advance(60);
    q.after(() => ran.push('stop 3'));
    clock.advance(99);
    assert.deepEqual(ran, [], 'nothing while the user keeps stepping');
    clock.advance(1);
    assert.deepEqual(ran, ['stop 3']);
    clock.advance(1000);
    assert.deepEqual(ran, ['stop 3'], 'once');
    assert.equal(clock.armed, 0);
  });

  it('flush runs the waiting placement at once (someone waits for the checkpoints); cancel drops it', () => {
    const clock = new ManualTimers();
    const q = new QuietTime(100, clock);
    const ran: string[] = [];
    q.after(() => ran.push('a'));
    assert.equal(q.waiting, true);
    q.flush();
    assert.deepEqual(ran, ['a']);
    assert.equal(clock.armed, 0, 'its timer is cleared');
    q.flush();
    assert.deepEqual(ran, ['a'], 'nothing left to run');
    q.after(() => ran.push('b'));
    q.cancel();
    clock.advance(500);
    assert.deepEqual(ran, ['a']);
    assert.equal(q.waiting, false);
  });

  it('a quiet time of 0 places at once', () => {
    const ran: number[] = [];
    new QuietTime(0, new ManualTimers()).after(() => ran.push(1));
    assert.deepEqual(ran, [1]);
  });
});
