/**
 * Misbehaving function drivers: a driver that throws (in probe, channel_interrupt, pause,
 * resume, remove, its own timers — anything, even values that cannot be printed), returns
 * a Promise, never calls its completion, or touches its channel while paused. Each is
 * contained and reported (an error event with data.category "exception" or "driver"; a
 * warning with data.category "pausedAccess" for the paused access, which goes through),
 * and the rest of the bus goes on: another device's polling continues and later controlvm
 * messages are answered.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { EmuEvent } from '../../src/emulator/engine/events';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import { SentMessage } from '../../src/emulator/backend/commandpartition';
import { VisorDriver } from '../../src/emulator/visorbus/driver';
import { Callback, DriverBehaviour, DriverLog, ROBUST_GUID, SEED, makeRun, newDriverLog, robustDriver, treeProblems } from './support/harness';

/** A second channel type for the well-behaved neighbour. */
const GOOD_GUID = '600d600d-0b0b-4c0c-8d0d-00000000600d';

interface Bench {
  run: ScenarioRun;
  errors: EmuEvent[];
  bad: DriverLog;
  good: DriverLog;
}

/** Device 1:0 is driven by the misbehaving driver, 1:1 by a polling, echoing good one. */
function bench(lines: string, bad: DriverBehaviour | (() => VisorDriver)): Bench {
  const badLog = newDriverLog();
  const goodLog = newDriverLog();
  const { run, errors } = makeRun(`chipset init\nbus create 1\ndevice create 1:1 type=${GOOD_GUID}\ndevice create 1:0 type=${ROBUST_GUID}\n${lines}`, {
    baddrv: typeof bad === 'function' ? bad : () => robustDriver(badLog, { name: 'baddrv', poll: true, ...bad }),
    gooddrv: () => robustDriver(goodLog, { name: 'gooddrv', guid: GOOD_GUID, poll: true }),
  });
  return { run, errors, bad: badLog, good: goodLog };
}

function runAll(b: Bench): void {
  while (!b.run.done) {
    b.run.step();
    assert.deepEqual(treeProblems(b.run.emu), [], `after ${b.run.scenario.steps[b.run.index - 1].text}`);
  }
}

function sent(b: Bench): SentMessage[] {
  return [...b.run.emu.cp.sent.values()];
}

/** The neighbour still polls, and a CHIPSET_READY sent now is answered with success. */
function restOfBusAlive(b: Bench, label: string): void {
  const emu = b.run.emu;
  const before = b.good.polls.get('vbus1:dev1') ?? 0;
  emu.advance(50);
  assert.ok((b.good.polls.get('vbus1:dev1') ?? 0) >= before + 4, `${label}: the neighbour's channel_interrupt keeps running`);
  const rec = emu.cp.send(emu.cp.message(0x304));
  assert.equal(typeof rec, 'object');
  emu.runUntil(() => emu.cp.isAcked((rec as SentMessage).handle), 300);
  emu.cp.collect();
  assert.equal((rec as SentMessage).responses.length, 1, `${label}: a later controlvm message is answered`);
  assert.equal((rec as SentMessage).responses[0].failed, false);
}

function errorsOf(b: Bench, category: string): EmuEvent[] {
  return b.errors.filter((e) => e.data?.category === category);
}

describe('robust: misbehaving drivers', function () {
  this.timeout(60000);

  for (const cb of ['probe', 'channel_interrupt', 'pause', 'resume', 'remove'] as Callback[]) {
    it(`a driver that throws in ${cb} is reported and the bus goes on`, () => {
      const b = bench('wait 30ms\ndevice pause 1:0\ndevice resume 1:0\nwait 30ms\ndevice destroy 1:0\n', { throwIn: [cb] });
      runAll(b);
      const ex = errorsOf(b, 'exception');
      assert.ok(ex.length >= 1, `an exception event for ${cb}`);
      assert.ok(
        ex.every((e) => e.data?.driver === 'baddrv' && e.data?.device === '1:0'),
        'the event names the driver and device',
      );
      assert.ok(ex.some((e) => e.data?.callback === cb));
      assert.match(ex[0].text, new RegExp(`baddrv\\.${cb}\\(vbus1:dev0\\) threw: baddrv ${cb} failure`));
      const s = sent(b);
      const pause = s[4];
      const resume = s[5];
      if (cb === 'probe') {
        // Probe failed: the device stays unbound; CHANGESTATE of an unbound device gets no answer.
        assert.equal(pause.responses.length, 0);
      } else if (cb === 'pause') {
        assert.equal(pause.responses[0].failed, true);
        assert.equal(pause.responses[0].completionStatus, 22, 'a throwing pause() fails the CHANGESTATE with EINVAL');
        assert.equal(resume.responses[0].completionStatus, 5, 'then the device keeps its pending request (as the kernel does)');
      } else if (cb === 'resume') {
        assert.equal(pause.responses[0].failed, false);
        assert.equal(resume.responses[0].completionStatus, 22);
      }
      if (cb === 'channel_interrupt') assert.ok(ex.length >= 3, 'every poll that throws is reported');
      if (cb === 'remove' || cb === 'channel_interrupt') {
        assert.equal(b.run.emu.device(1, 0), undefined, 'the destroy went through');
        assert.equal(b.run.emu.backendDevices.has('1:0'), false, 'and its channel was given back');
      }
      restOfBusAlive(b, cb);
    });
  }

  it('anything thrown — strings, null, symbols, objects without a prototype, revoked proxies — is contained', () => {
    // Makers, not values: fast-check itself cannot handle a revoked proxy as a generated value.
    const nasty = fc.oneof(
      fc.anything().map((v) => () => v),
      fc.constantFrom<() => unknown>(
        () => Object.create(null),
        () => ({
          toString: () => {
            throw new Error('toString throws');
          },
        }),
        () => Symbol('boom'),
        () => {
          const p = Proxy.revocable({}, {});
          p.revoke();
          return p.proxy;
        },
        () => {
          const e = new Error('x');
          Object.defineProperty(e, 'message', {
            get: () => {
              throw new Error('message getter throws');
            },
          });
          return e;
        },
      ),
    );
    fc.assert(
      fc.property(nasty, fc.constantFrom<Callback>('probe', 'channel_interrupt', 'pause', 'remove'), (make, where) => {
        const thrown = make();
        const log = newDriverLog();
        const b = bench('wait 20ms\ndevice pause 1:0\ndevice destroy 1:0\n', () => {
          const d = robustDriver(log, { name: 'baddrv', poll: true });
          const original = d[where === 'channel_interrupt' ? 'channelInterrupt' : where] as (...a: unknown[]) => unknown;
          const replaced = function (this: unknown, ...a: unknown[]) {
            original.apply(this, a);
            throw thrown;
          };
          if (where === 'channel_interrupt') d.channelInterrupt = replaced as VisorDriver['channelInterrupt'];
          else (d as unknown as Record<string, unknown>)[where] = replaced;
          return d;
        });
        runAll(b);
        assert.ok(errorsOf(b, 'exception').length >= 1, `reported: ${typeof thrown}`);
        restOfBusAlive(b, `throw in ${where}`);
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  it('a pause that never completes: no answer, later requests refused (5) or busy (16), the bus goes on', () => {
    const b = bench('device pause 1:0\ndevice resume 1:0\ncontrolvm send id=0x204 bus=1 dev=0 state=0xf7 flags=0\ndevice pause 1:1\ndevice resume 1:1\n', {
      neverComplete: ['pause'],
    });
    runAll(b);
    const s = sent(b);
    assert.equal(s[4].responses.length, 0, 'the pause is never answered');
    assert.equal(s[5].responses[0].completionStatus, 5, 'the device keeps its pending request');
    assert.equal(s[7].responses[0].failed, false, 'the neighbour pauses');
    assert.equal(s[8].responses[0].failed, false, 'and resumes');
    restOfBusAlive(b, 'never completes');
  });

  it('a resume that never completes (like visorhba) leaves the device paused-in-progress; destroy still refused with 5, others fine', () => {
    const b = bench('device pause 1:0\ndevice resume 1:0\ndevice destroy 1:0\n', { neverComplete: ['resume'] });
    runAll(b);
    const s = sent(b);
    assert.equal(s[4].responses[0].failed, false);
    assert.equal(s[5].responses.length, 0);
    assert.equal(s[6].responses[0].completionStatus, 5);
    restOfBusAlive(b, 'resume never completes');
  });

  it('a driver that touches its channel while paused: the access goes through (no guard in the kernel) and is reported as a warning', () => {
    const b = bench('wait 20ms\ndevice pause 1:0\nsignal insert 1:0 queue=0 "x"\nwait 40ms\n', { touchWhilePaused: true });
    runAll(b);
    const warnings = b.run.emu.engine.log.events().filter((e) => e.kind === 'log' && e.data?.category === 'pausedAccess');
    assert.ok(warnings.length >= 2, `paused-access warnings: ${warnings.length}`);
    assert.match(warnings[0].text, /channel access while paused: baddrv touched the channel of vbus1:dev0 while paused/);
    // visorchannel_signalremove is a plain memcpy: the paused driver consumed the signal.
    const q0 = b.run.fieldValue({ bus: 1, dev: 0 }, 'queue[0].head');
    assert.equal(q0, b.run.fieldValue({ bus: 1, dev: 0 }, 'queue[0].tail'), 'the paused driver consumed the signal');
    restOfBusAlive(b, 'touch while paused');
  });

  it('a driver returning a Promise (an async callback) is reported, and its later rejection does not crash the process', async () => {
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      const log = newDriverLog();
      const b = bench('wait 20ms\ndevice pause 1:0\ndevice destroy 1:0\n', () => {
        const d = robustDriver(log, { name: 'baddrv', poll: true });
        const probe = d.probe;
        d.probe = (async (dev: Parameters<VisorDriver['probe']>[0]) => {
          probe.call(d, dev);
          throw new Error('async probe failed later');
        }) as unknown as VisorDriver['probe'];
        return d;
      });
      runAll(b);
      // Let the rejected promise settle (a turn of the event loop; no timer).
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections.map(String), [], 'no unhandled rejection');
      assert.ok(
        errorsOf(b, 'driver').some((e) => /Promise/.test(e.text)),
        'the async callback is reported',
      );
      restOfBusAlive(b, 'async probe');
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('a driver timer that fires after its device is gone and throws is contained', () => {
    const log = newDriverLog();
    const b = bench('wait 5ms\ndevice destroy 1:0\nwait 50ms\n', () => {
      const d = robustDriver(log, { name: 'baddrv' });
      d.probe = (dev) => {
        dev.kernel.setTimer(dev, 20, 'late', () => {
          // Reads memory of a channel the back-end has released.
          dev.kernel.memory.readU32(dev.channel.physaddr);
          throw new Error('late timer');
        });
        return 0;
      };
      return d;
    });
    runAll(b);
    assert.ok(
      b.errors.some((e) => /late|not mapped/.test(e.text)),
      'reported',
    );
    restOfBusAlive(b, 'late timer');
  });

  describe('user driver modules (loaded by path)', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-robust-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const modules: Record<string, string> = {
      'syntax error': 'module.exports = {',
      'throws at load': 'throw new Error("module init failed")',
      'throws a non-Error at load': 'throw Object.create(null)',
      'exports nothing useful': 'module.exports = 42',
      'factory throws': 'module.exports = () => { throw "factory says no" }',
      'channelTypes entries are garbage': `module.exports = { name: 'garbage', channelTypes: [null, 7, { guid: 5 }], probe() {}, remove() {}, pause() {}, resume() {} }`,
      'a hostile proxy': `module.exports = new Proxy({}, { get() { throw new Error('get trap') }, has() { throw new Error('has trap') } })`,
      'callbacks are not functions': `module.exports = { name: 'nofn', channelTypes: [{ guid: '${ROBUST_GUID}', name: 'x', minBytes: 0, version: 0 }], probe: 1 }`,
    };
    for (const [what, source] of Object.entries(modules)) {
      it(`${what}: the load is refused with a located error, the run goes on`, () => {
        const file = path.join(dir, `${what.replace(/\W+/g, '-')}.js`);
        fs.writeFileSync(file, source);
        // 1:2 has a type nobody claims, so every loaded driver is matched against it.
        const b = bench(`driver load ${file}\ndevice create 1:2 type=vnic\nwait 20ms\n`, { name: 'baddrv', poll: true });
        runAll(b);
        const err = b.run.errors.find((e) => e.line === 5);
        assert.ok(err, `${what}: the driver load line reports an error`);
        assert.equal(err.file, '/tmp/robust.visor');
        assert.ok(b.run.emu.device(1, 2), 'later lines still run');
        restOfBusAlive(b, what);
      });
    }
  });
});
