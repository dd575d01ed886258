/**
 * Time travel with checkpoints: standby workers parked at earlier positions carry out
 * stepBack and reverseContinue. What comes back must be the state the forward run had at
 * that position (guest memory, the virtual clock, sysfs), with the debugger's
 * interventions replayed; a cancelled trip leaves the session where it was.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { useClient, VisorClient, fixture, sha } from './helpers/client';

interface Status {
  enabled: boolean;
  slots: number;
  checkpoints: { event: number }[];
  bytes?: number;
  trips: { promoted: number; fromStart: number; scouted: number };
}

describe('DAP time travel (checkpoints)', function () {
  this.timeout(60000);
  let dc: VisorClient;
  useClient((c) => (dc = c));
  const file = fixture('travel.visor');

  /** Everything a user could compare: device channels and the controlvm channel, the clock, a sysfs file. */
  async function state(): Promise<string> {
    const parts: Buffer[] = [];
    const cv = await dc.custom<{ memoryReference: string; nbytes: number }>('visorbus/channel', { device: 'controlvm' });
    parts.push((await dc.read(cv.memoryReference, 0, cv.nbytes)).data);
    const devs = await dc.custom<{ devices: { memoryReference: string; nbytes: number }[] }>('visorbus/devices', { bus: 2 });
    for (const d of devs.devices) parts.push((await dc.read(d.memoryReference, 0, d.nbytes)).data);
    const jiffies = (await dc.evaluate('jiffies')).result;
    const ask = (e: string) =>
      dc.evaluate(e).then(
        (r) => r.result,
        (err: Error) => err.message,
      );
    const sent = `${await ask('2:0.queue[0].num_sent')}/${await ask('2:1.queue[0].num_sent')}`;
    const driver = await ask('cat /sys/bus/visorbus/devices/vbus2:dev1/driver');
    return `${sha(Buffer.concat(parts))} jiffies=${jiffies} sent=${sent} driver=${driver}`;
  }

  const status = (settle = true) => dc.custom<Status>('visorbus/checkpoints', { settle });

  const next = () => dc.nextLine();

  async function back(): Promise<number> {
    const { reason, line } = await dc.backLine();
    assert.equal(reason, 'step');
    return line;
  }

  it('steps back through checkpoints to exactly the state the forward run had there', async () => {
    await dc.launchWith({ scenario: file, stopOnEntry: true, checkpoints: 2 });
    await dc.stopped();
    const seen = new Map<number, string>();
    seen.set(2, await state());
    let line = 2;
    while (line < 16) {
      line = await next();
      seen.set(line, await state());
    }
    const st = await status();
    assert.equal(st.enabled, true);
    assert.equal(st.checkpoints.length, 2, 'two standby workers parked behind the stop');
    const lines = [...seen.keys()];
    for (let i = lines.length - 2; i >= lines.length - 5; i--) {
      assert.equal(await back(), lines[i]);
      assert.equal(await state(), seen.get(lines[i]), `the state at line ${lines[i]}`);
      await status();
    }
    const trips = (await status()).trips;
    assert.ok(trips.promoted >= 4, `every step back came from a checkpoint (${JSON.stringify(trips)})`);
    assert.equal(trips.fromStart, 0);
    // Forward again: the same run.
    const from = (await dc.topFrame(1)).line;
    const again = await next();
    assert.equal(await state(), seen.get(again), `line ${again} again after going back to ${from}`);
  });

  it("steps back repeatedly without waiting for the checkpoints: every stop is the forward run's", async () => {
    await dc.launchWith({ scenario: file, stopOnEntry: true, checkpoints: 2 });
    await dc.stopped();
    const seen = new Map<number, string>();
    let line = 2;
    while (line < 18) {
      line = await next();
      seen.set(line, await state());
    }
    for (const want of [17, 16, 15, 14, 13]) {
      assert.equal(await back(), want);
      assert.equal(await state(), seen.get(want), `the state at line ${want}`);
    }
    assert.doesNotMatch(dc.output('stderr'), /Going back failed/);
  });

  it("after a million events, a step back returns the forward run's trace checksum, channel bytes and sysfs", async function () {
    this.timeout(240000);
    const long = fixture('travel-long.visor');
    // 64 devices polled every 10 ms of virtual time: line 160 (a one-second wait) starts after more than 10^6 events.
    await dc.launchWith({ scenario: long, checkpoints: 2 }, () => dc.setBreakpointsRequest({ source: { path: long }, breakpoints: [{ line: 160 }] }));
    await dc.stopped(180000);
    const checksum = async () => {
      const frame = (await dc.frames(1))[0];
      const run = await dc.scopeVars(frame.id, /^Emulator$/);
      const get = (n: string) => run.find((v) => v.name === n)?.value;
      return { checksum: get('trace checksum'), event: Number(get('event')) };
    };
    const at160 = { ...(await checksum()), state: await state() };
    assert.ok(at160.event > 1_000_000, `history of ${at160.event} events`);
    await dc.setBreakpointsRequest({ source: { path: long }, breakpoints: [] });
    assert.equal(await next(), 161);
    assert.equal((await status()).checkpoints[0].event, at160.event, 'a checkpoint is parked at line 160');
    assert.equal(await back(), 160);
    assert.deepEqual({ ...(await checksum()), state: await state() }, at160);
    assert.equal((await status()).trips.promoted, 1);
  });

  it('warns when a checkpoint arrives at a stop with another trace checksum (a driver using Math.random)', async () => {
    await dc.launchWith({ scenario: fixture('dice.visor'), stopOnEntry: true, checkpoints: 2 });
    await dc.stopped();
    let line = 2;
    while (line < 8) line = await next();
    await status();
    // Event numbers are positions: in a run that differs, the same event may be another line.
    await dc.stepBackRequest({ threadId: 1 });
    await dc.stopped();
    await dc.outputMatching(/state at event \d+ differs from the first time it was reached; a driver is not deterministic/);
  });

  it('reports a replay that ends before reaching its target (a run shorter the second time)', async () => {
    // The driver's first probe queues signals; a replay's probe finds its marker file and does not.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MARKER } = require(fixture('drivers/shrink.js')) as { MARKER: string };
    fs.rmSync(MARKER, { force: true });
    try {
      const shrink = fixture('shrink.visor');
      await dc.launchWith({ scenario: shrink, stopOnEntry: true, checkpoints: 0 });
      await dc.stopped();
      let line = 2;
      while (line < 7) line = await next();
      assert.ok(fs.existsSync(MARKER), 'the first run probed');
      await dc.stepBackRequest({ threadId: 1 });
      await dc.outputMatching(/The replay ended before reaching its target \(event \d+\): the run is not deterministic\./);
    } finally {
      fs.rmSync(MARKER, { force: true });
    }
  });

  it('searches the whole history in one pass when no checkpoint holds the match: a follower chases the search', async function () {
    this.timeout(240000);
    const long = fixture('travel-long.visor');
    await dc.launchWith({ scenario: long, checkpoints: 2 }, () => dc.setBreakpointsRequest({ source: { path: long }, breakpoints: [{ line: 160 }] }));
    await dc.stopped(180000);
    await status();
    // Polls before virtual second 40 match many times, all before the checkpoints (at lines 159 and 158).
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', condition: 'jiffies < 40000' }] });
    const started = dc.next(
      'progressStart',
      (e) => /Reverse continue/.test(String((e.body as { title: string }).title)),
      180000,
    ) as Promise<DebugProtocol.ProgressStartEvent>;
    await dc.reverseContinueRequest({ threadId: 1 });
    const p = await started;
    await dc.next('progressEnd', (e) => (e.body as { progressId: string }).progressId === p.body.progressId, 180000);
    const s = await dc.stopped(180000);
    assert.equal(s.body.reason, 'function breakpoint');
    const j = Number((await dc.evaluate('jiffies')).result);
    assert.ok(j >= 39990 && j < 40000, `the last poll before jiffy 40000 (${j})`);
    assert.match((await dc.topFrame(s.body.threadId!)).name, /echodrv\.channel_interrupt\(vbus5:dev15\)/, "the last of that jiffy's polls");
    const trips = (await status()).trips;
    assert.equal(trips.scouted, 2, 'the nearest checkpoint searched its part, then one search from the start');
    assert.equal(trips.fromStart, 0, 'the follower was promoted: no second replay from the start');
  });

  it("replays the debugger's interventions in the checkpoints (writeMemory, sysfs writes)", async () => {
    await dc.launchWith({ scenario: file, stopOnEntry: true, checkpoints: 2 });
    await dc.stopped();
    for (let i = 0; i < 6; i++) await next();
    await status();
    // Standby workers are parked before the intervention: they must apply it on their way.
    const dev = (await dc.custom<{ devices: { memoryReference: string; nbytes: number }[] }>('visorbus/devices', { bus: 2 })).devices[0];
    await dc.customRequest('writeMemory', { memoryReference: dev.memoryReference, offset: 0x800, data: Buffer.from('checkpoint').toString('base64') });
    await dc.evaluate('echo 1 > /sys/devices/platform/visorchipset/install/remainingsteps');
    const after = await state();
    await next();
    await next();
    await status();
    await back();
    await back();
    assert.equal(await state(), after, 'back at the line of the intervention: the written bytes are there');
    assert.equal((await dc.read(dev.memoryReference, 0x800, 10)).data.toString(), 'checkpoint');
    assert.equal((await dc.evaluate('cat /sys/devices/platform/visorchipset/install/remainingsteps')).result.trim(), '1');
    const trips = (await status()).trips;
    assert.ok(trips.promoted >= 2, JSON.stringify(trips));
    assert.doesNotMatch(dc.output(), /not deterministic/, 'the interventions are not taken for a different run');
  });

  it('continues backwards to the last breakpoint hit from a checkpoint, without searching the history', async () => {
    await dc.launchWith({ scenario: file, checkpoints: 2 }, () =>
      dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 10 }, { line: 16 }] }),
    );
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 10);
    const at10 = await state();
    await dc.continueRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.topFrame(1)).line, 16);
    await status();
    await dc.reverseContinueRequest({ threadId: 1 });
    const s = await dc.stopped();
    assert.equal(s.body.reason, 'breakpoint');
    assert.equal((await dc.topFrame(1)).line, 10);
    assert.equal(await state(), at10);
    const trips = (await status()).trips;
    assert.deepEqual([trips.promoted, trips.fromStart, trips.scouted], [1, 0, 0], 'the checkpoint parked at the earlier stop was promoted');
  });

  it('searches the history with a checkpoint when the breakpoint was set after the run passed it', async () => {
    await dc.launchWith({ scenario: file, stopOnEntry: true, checkpoints: 2 });
    await dc.stopped();
    let line = 2;
    while (line < 18) line = await next();
    assert.deepEqual((await status()).checkpoints.length, 2);
    // Line 17 is where the nearest checkpoint is parked: a breakpoint set now must still be found there.
    await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 17 }] });
    const at17 = await (async () => {
      await dc.reverseContinueRequest({ threadId: 1 });
      const s = await dc.stopped();
      assert.equal(s.body.reason, 'breakpoint');
      return (await dc.topFrame(1)).line;
    })();
    assert.equal(at17, 17);
    const trips = (await status()).trips;
    assert.deepEqual([trips.scouted, trips.promoted, trips.fromStart], [1, 1, 0], 'one checkpoint searched, the other went there');
  });

  it('cancelling a trip back leaves the session where it was; pause does the same', async () => {
    // No checkpoint behind the stop yet (0 slots, then a scenario with a long history): the trip replays from the start.
    await dc.launchWith({ scenario: fixture('long.visor'), checkpoints: 1 }, () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', hitCondition: '% 200000' }] }),
    );
    await dc.stopped(60000);
    const where = (await dc.evaluate('jiffies')).result;
    // Only a search from the start can answer this: the breakpoint changes now.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', condition: 'jiffies >= 100 && jiffies < 110' }] });
    const progress = dc.next(
      'progressStart',
      (e) => /Reverse continue/.test(String((e.body as { title: string }).title)),
      30000,
    ) as Promise<DebugProtocol.ProgressStartEvent>;
    await dc.reverseContinueRequest({ threadId: 1 });
    const p = await progress;
    assert.equal(p.body.cancellable, true);
    await dc.customRequest('cancel', { progressId: p.body.progressId });
    const s = await dc.stopped(60000);
    assert.equal((await dc.evaluate('jiffies')).result, where, 'back where it was');
    void s;
    // Pause during a trip does the same.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', condition: 'jiffies >= 200 && jiffies < 210' }] });
    const again = dc.next('progressStart', (e) => /Reverse continue/.test(String((e.body as { title: string }).title)), 30000);
    await dc.reverseContinueRequest({ threadId: 1 });
    await again;
    await dc.pauseRequest({ threadId: 1 });
    await dc.stopped(60000);
    assert.equal((await dc.evaluate('jiffies')).result, where, 'back where it was after a pause');
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', condition: 'jiffies >= 100 && jiffies < 110' }] });
    // The session goes on: forward, and back for real.
    await dc.reverseContinueRequest({ threadId: 1 });
    await dc.stopped(60000);
    assert.equal((await dc.evaluate('jiffies')).result, '103', 'the poll of jiffy 103 is the only one that matches');
  });

  it('cancelling the progress of a long forward run pauses it', async () => {
    await dc.launchWith({ scenario: fixture('long.visor') });
    const p = (await dc.next('progressStart', () => true, 30000)) as DebugProtocol.ProgressStartEvent;
    assert.equal(p.body.cancellable, true);
    await dc.customRequest('cancel', { progressId: p.body.progressId });
    const s = await dc.stopped(30000);
    assert.equal(s.body.reason, 'pause');
    await dc.next('progressEnd', (e) => (e.body as { progressId: string }).progressId === p.body.progressId);
  });

  it('a scenario with a disk image goes back without checkpoints (they would share the image), and its trip can be cancelled too', async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visorbus-travel-'));
    const file = path.join(dir, 'disk.visor');
    // Waits are at most 600 s each: six of them make the history long enough for the search to show progress.
    const waits = Array.from({ length: 6 }, () => 'wait 600s');
    fs.writeFileSync(
      file,
      [
        'chipset init',
        'bus create 2 name=io',
        'device create 2:0 type=vhba',
        'disk 2:0 attach lun=0 image=lun0.img size=64k',
        'wait 10ms',
        ...waits,
        'wait 10ms',
      ].join('\n') + '\n',
    );
    try {
      await dc.launchWith({ scenario: file, checkpoints: 2 }, () =>
        dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 6 }, { line: 12 }] }),
      );
      await dc.stopped();
      const at6 = (await dc.evaluate('jiffies')).result;
      await dc.continueRequest({ threadId: 1 });
      await dc.stopped(60000);
      const at7 = (await dc.evaluate('jiffies')).result;
      assert.equal((await status()).enabled, false);
      // The breakpoints change: the run does not know the last hit, the history is searched from the start.
      await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 5 }, { line: 6 }] });
      const progress = dc.next(
        'progressStart',
        (e) => /Reverse continue/.test(String((e.body as { title: string }).title)),
        60000,
      ) as Promise<DebugProtocol.ProgressStartEvent>;
      await dc.reverseContinueRequest({ threadId: 1 });
      const p = await progress;
      await dc.customRequest('cancel', { progressId: p.body.progressId });
      const s = await dc.stopped(60000);
      assert.equal(s.body.reason, 'pause');
      assert.match(String(s.body.description), /Cancelled on the way back/);
      const j = Number((await dc.evaluate('jiffies')).result);
      assert.ok(j <= Number(at7), `stopped where the replay was (jiffy ${j})`);
      await dc.reverseContinueRequest({ threadId: 1 });
      await dc.stopped(60000);
      assert.ok(Number((await dc.evaluate('jiffies')).result) <= Number(at6));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
