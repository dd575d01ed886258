/**
 * Where the guest kernel would crash or be misused, the debugger stops: a "kernel oops"
 * (visorchannel's `% max_slots` with max_slots 0) with the call stack, the faulting
 * operation and the queue header values; and a "channel access while paused" (the kernel
 * lets a paused driver touch its channel: a plain memcpy, reported as a warning).
 */
import * as assert from 'node:assert/strict';
import { useClient, VisorClient, fixture } from './helpers/client';

describe('DAP kernel stops', function () {
  this.timeout(30000);
  let dc: VisorClient;

  useClient((c) => (dc = c));

  it('advertises the kernel oops and channel access while paused filters', async () => {
    const init = await dc.initializeRequest({ adapterID: 'visorbus' });
    const filters = init.body?.exceptionBreakpointFilters ?? [];
    assert.deepEqual(
      filters.filter((f) => f.filter === 'kernelOops' || f.filter === 'pausedAccess').map((f) => [f.filter, f.label, f.default]),
      [
        ['kernelOops', 'Kernel oops', true],
        ['pausedAccess', 'Channel access while paused', true],
      ],
    );
  });

  it('stops on a kernel oops (divide error in visorchannel_signalremove) with the stack, the operation and the header values', async () => {
    await dc.launchWith({ scenario: fixture('oops.visor') }, () => dc.setExceptionBreakpointsRequest({ filters: ['kernelOops'] }));
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(String(stop.body.description), /^Kernel oops: kernel oops: divide error in visorchannel_signalremove\(vbus3:dev0, queue 0\)/);
    const info = await dc.exceptionInfoRequest({ threadId: stop.body.threadId! });
    assert.equal(info.body.exceptionId, 'kernelOops');
    assert.equal(info.body.details?.typeName, 'kernel oops');
    assert.match(String(info.body.details?.stackTrace), /queue header: ch_space_offset 136 sig_base_offset 128 signal_size 16 max_slots 0 head 1 tail 0/);
    const names = (await dc.frames(stop.body.threadId!)).map((f) => f.name);
    assert.equal(names[0], 'vbus3:dev0: visorchannel_signalremove(queue 0)');
    assert.ok(names.includes('visorinput.channel_interrupt(vbus3:dev0)'), names.join(' | '));
    // The emulator goes on (the channel is dead to the guest from here) and ends normally.
    await dc.continueRequest({ threadId: 1 });
    assert.match(String((await dc.stopped()).body.description), /Scenario finished/);
    assert.match(dc.output(), /kernel oops: divide error/);
  });

  it('validates fixKernelBugs at launch and names the known defects', async () => {
    await dc.initializeRequest({ adapterID: 'visorbus' });
    const msg = await dc.failing(dc.launchRequest({ scenario: fixture('oops.visor'), fixKernelBugs: ['promisc'] } as never));
    assert.match(msg, /launch: "fixKernelBugs": unknown name 'promisc' \(known: promiscEnable, staleCmdrsp, busConfigureName, flowControl, oversizedPayload\)/);
  });

  it('stops where a paused driver touches its channel', async () => {
    await dc.launchWith({ scenario: fixture('paused.visor') }, () => dc.setExceptionBreakpointsRequest({ filters: ['pausedAccess'] }));
    const stop = await dc.stopped();
    assert.equal(stop.body.reason, 'exception');
    assert.match(
      String(stop.body.description),
      /^Channel access while paused: channel access while paused: pausetoucher touched the channel of vbus2:dev0 while paused/,
    );
    const info = await dc.exceptionInfoRequest({ threadId: stop.body.threadId! });
    assert.equal(info.body.exceptionId, 'pausedAccess');
    const names = (await dc.frames(stop.body.threadId!)).map((f) => f.name);
    assert.ok(names.includes('pausetoucher.pause(vbus2:dev0)'), names.join(' | '));
    await dc.continueRequest({ threadId: 1 });
    assert.match(String((await dc.stopped()).body.description), /Scenario finished/, 'the run goes on to its end');
  });
});
