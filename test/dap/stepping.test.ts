/**
 * Stepping: next (a scenario line and all it causes), stepIn (into the next driver
 * callback, then into each channel operation), stepOut, instruction granularity (one
 * event), and stepBack / reverseContinue by deterministic re-execution — the guest memory
 * after a step back is byte for byte what it was at that earlier stop.
 */
import * as assert from 'node:assert/strict';
import { useClient, VisorClient, fixture, sha, lineOf } from './helpers/client';

const ECHO_JS = fixture('drivers/echo.js');

describe('DAP stepping', function () {
  this.timeout(30000);
  let dc: VisorClient;

  useClient((c) => (dc = c));

  /** The bytes of the device channel, the bus channel and the controlvm channel, hashed. */
  async function memoryHash(): Promise<string> {
    const topo = await dc.custom<{ buses: { channel: { memoryReference: string; nbytes: number } }[] }>('visorbus/topology', {});
    const parts: Buffer[] = [];
    const cv = await dc.custom<{ memoryReference: string; nbytes: number }>('visorbus/channel', { device: 'controlvm' });
    parts.push((await dc.read(cv.memoryReference, 0, cv.nbytes)).data);
    for (const b of topo.buses) parts.push((await dc.read(b.channel.memoryReference, 0, b.channel.nbytes)).data);
    const devs = await dc.custom<{ devices: { memoryReference: string; nbytes: number }[] }>('visorbus/devices', { bus: 2 });
    for (const d of devs.devices) parts.push((await dc.read(d.memoryReference, 0, d.nbytes)).data);
    return sha(Buffer.concat(parts));
  }

  async function step(
    kind: 'next' | 'stepIn' | 'stepOut' | 'stepBack',
    instruction = false,
  ): Promise<{ reason: string; description: string; threadId: number }> {
    const args = { threadId: 1, ...(instruction ? { granularity: 'instruction' as const } : {}) };
    if (kind === 'next') await dc.nextRequest(args);
    else if (kind === 'stepIn') await dc.stepInRequest(args);
    else if (kind === 'stepOut') await dc.stepOutRequest(args);
    else await dc.stepBackRequest(args);
    const s = await dc.stopped();
    return { reason: s.body.reason, description: String(s.body.description), threadId: s.body.threadId! };
  }

  it('steps over scenario lines with next', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true });
    await dc.stopped();
    const lines: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await step('next');
      assert.equal(s.reason, 'step');
      lines.push((await dc.topFrame(1)).line);
    }
    assert.deepEqual(lines, [3, 4, 6, 7], 'comments and blank lines are not steps');
  });

  it('steps into probe, into its channel operation, out to its return, and one event at a time', async () => {
    const file = fixture('echo.visor');
    await dc.launchWith({ scenario: file }, () => dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 6 }] }));
    await dc.stopped();
    let s = await step('stepIn');
    let frames = await dc.frames(s.threadId);
    assert.equal(frames[0].name, 'echodrv.probe(vbus2:dev0)');
    assert.equal(frames[0].source?.path, ECHO_JS);
    assert.equal(frames[0].line, lineOf(ECHO_JS, 'probe(dev) {'));
    assert.equal(frames[frames.length - 1].line, 6, 'the scenario line is at the bottom of the stack');

    s = await step('stepIn');
    frames = await dc.frames(s.threadId);
    assert.match(frames[0].name, /vbus2:dev0: signalinsert\(queue 0\)/);
    assert.match(String(frames[0].source?.path), /visorchannel\.ts$/);
    assert.equal(frames[1].name, 'echodrv.probe(vbus2:dev0)');
    assert.equal(frames[1].line, lineOf(ECHO_JS, 'dev.channel.signalInsert(0, hello)'));

    s = await step('stepOut');
    assert.match(s.description, /echodrv\.probe\(vbus2:dev0\) returned 0/);

    s = await step('next', true);
    assert.match(
      s.description,
      /bind \/devices\/visorbus2\/vbus2:dev0 SUBSYSTEM=visorbus DRIVER=echodrv/,
      'one event later driver_bound sends the bind uevent',
    );
    s = await step('next', true);
    assert.match(s.description, /signalinsert\(queue 0\)/, 'then the chipset answers on the controlvm REQUEST queue');
    s = await step('next', true);
    assert.match(s.description, /response CONTROLVM_DEVICE_CREATE/);
    s = await step('next');
    assert.equal((await dc.topFrame(1)).line, 7, 'next from inside the chipset work goes to the next scenario line');
  });

  it('steps back to an earlier stop with every byte of guest memory restored', async () => {
    const file = fixture('echo.visor');
    await dc.launchWith({ scenario: file, stopOnEntry: true });
    await dc.stopped();
    for (let i = 0; i < 4; i++) await step('next');
    assert.equal((await dc.topFrame(1)).line, 7);
    const at7 = await memoryHash();
    const q1At7 = (await dc.evaluate('2:0.queue[1].num_sent')).result;
    await step('next');
    await step('next');
    assert.equal((await dc.topFrame(1)).line, 9);
    const at9 = await memoryHash();
    assert.notEqual(at9, at7, 'line 8 inserted a signal');
    assert.equal((await dc.evaluate('2:0.queue[1].num_sent')).result, '1');

    let s = await step('stepBack');
    assert.equal(s.reason, 'step');
    assert.equal((await dc.topFrame(1)).line, 8);
    s = await step('stepBack');
    assert.equal((await dc.topFrame(1)).line, 7);
    assert.equal(await memoryHash(), at7, 'guest memory is what it was at line 7');
    assert.equal((await dc.evaluate('2:0.queue[1].num_sent')).result, q1At7);
    assert.equal((await dc.evaluate('jiffies')).result, '4');

    // And forward again reaches the same state as the first time.
    await step('next');
    await step('next');
    assert.equal(await memoryHash(), at9);
  });

  it('steps back inside a callback, and back one event', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor') }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.probe' }] }));
    const entry = await dc.stopped();
    await step('stepIn');
    const atInsert = await memoryHash();
    const head = (await dc.evaluate('2:0.queue[0].head')).result;
    let s = await step('stepOut');
    assert.match(s.description, /returned 0/);
    await step('next', true); // the bind uevent (driver_bound)
    await step('next', true);
    assert.notEqual(await memoryHash(), atInsert, 'the chipset wrote its response since');

    s = await step('stepBack', true);
    assert.doesNotMatch((await dc.topFrame(s.threadId)).name, /echodrv\.probe/, 'one event back is the bind uevent, after probe returned');
    s = await step('stepBack', true);
    assert.match(s.description, /event/);
    assert.match((await dc.topFrame(s.threadId)).name, /echodrv\.probe/, 'two events back is the return of probe');
    s = await step('stepBack');
    const frames = await dc.frames(s.threadId);
    assert.match(frames[0].name, /signalinsert\(queue 0\)/, 'stepping back from the return lands on the last channel operation of probe');
    assert.equal(await memoryHash(), atInsert);
    assert.equal((await dc.evaluate('2:0.queue[0].head')).result, head);
    void entry;
  });

  it('continues backwards to the previous breakpoint hit', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor') }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt' }] }));
    await dc.stopped();
    assert.equal((await dc.evaluate('jiffies')).result, '14');
    await dc.continueRequest({ threadId: 1 });
    await dc.stopped();
    await dc.continueRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.evaluate('jiffies')).result, '34');
    const echoed = (await dc.evaluate('2:0.queue[0].num_sent')).result;
    await dc.reverseContinueRequest({ threadId: 1 });
    const back = await dc.stopped();
    assert.equal(back.body.reason, 'function breakpoint');
    assert.equal((await dc.evaluate('jiffies')).result, '24');
    await dc.reverseContinueRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.evaluate('jiffies')).result, '14');
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    await dc.reverseContinueRequest({ threadId: 1 });
    const start = await dc.stopped();
    assert.equal(start.body.reason, 'entry', 'with no breakpoint before, reverse continue stops at the start');
    assert.equal((await dc.topFrame(1)).line, 2);
    // Forward again: the same run.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'channel_interrupt', hitCondition: '3' }] });
    await dc.continueRequest({ threadId: 1 });
    await dc.stopped();
    assert.equal((await dc.evaluate('jiffies')).result, '34');
    assert.equal((await dc.evaluate('2:0.queue[0].num_sent')).result, echoed);
  });
});
