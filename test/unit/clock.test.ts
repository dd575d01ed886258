import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Clock } from '../../src/emulator/engine/clock';

type Op = { kind: 'arm'; delay: number } | { kind: 'cancel'; which: number } | { kind: 'run'; jiffies: number };

/**
 * The clock against the rule it must keep: timers fire in (due jiffy, arming order) order, a
 * cancelled timer never fires, a timer armed while others fire (delay 0 included) takes its
 * place by the same rule. The reference is a plain sorted list.
 */
describe('virtual clock', () => {
  it('fires timers in (due, arming order) order, with cancels, re-arms and arming while firing', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('arm' as const), delay: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('run' as const), jiffies: fc.integer({ min: 0, max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const clock = new Clock(1000);
        const fired: string[] = [];
        const expected: string[] = [];
        const pending: { due: number; seq: number; label: string; cancelled: boolean; periodic: boolean }[] = [];
        const timers: ReturnType<Clock['schedule']>[] = [];
        let seq = 0;
        const arm = (delay: number, periodic: boolean) => {
          const label = `t${seq}`;
          const entry = { due: clock.jiffies + delay, seq: seq++, label, cancelled: false, periodic };
          pending.push(entry);
          const t = clock.schedule(delay, 1, label, () => {
            fired.push(`${label}@${clock.jiffies}`);
            // Every third timer re-arms itself in place; every fifth arms a new one for now.
            if (entry.periodic && fired.length < 200) {
              entry.due = clock.jiffies + 3;
              entry.seq = seq++;
              pending.push(entry);
              clock.rearm(t, 3);
            }
            if (Number(label.slice(1)) % 5 === 0 && fired.length < 200) arm(0, false);
          });
          timers.push(t);
        };
        for (const o of ops) {
          if (o.kind === 'arm') arm(o.delay, seq % 3 === 0);
          else if (o.kind === 'cancel' && timers.length) {
            const i = o.which % timers.length;
            clock.cancel(timers[i]);
            for (const p of pending) if (p.label === timers[i].label) p.cancelled = true;
          } else if (o.kind === 'run') {
            const limit = clock.jiffies + o.jiffies;
            for (;;) {
              const t = clock.popDue(limit);
              // The reference: the earliest live (due, seq) at or before the limit.
              pending.sort((a, b) => a.due - b.due || a.seq - b.seq);
              while (pending.length && pending[0].cancelled) pending.shift();
              const next = pending[0] && pending[0].due <= limit ? pending.shift() : undefined;
              assert.equal(t?.label, next?.label);
              if (!t || !next) break;
              clock.jiffies = t.due;
              expected.push(`${next.label}@${next.due}`);
              t.fn();
            }
            clock.jiffies = limit;
          }
        }
        assert.deepEqual(fired, expected);
        assert.equal(clock.pendingTimers(), pending.filter((p) => !p.cancelled).length);
      }),
      { numRuns: 300 },
    );
  });
});
