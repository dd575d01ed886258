/**
 * Bench driver for `npm run bench` (emulator throughput and the adapter benchmarks): claims
 * channels of its own type, enables channel interrupts at probe, and on every
 * channel_interrupt drains queue 0 the way visorhba and visornic poll their response
 * queues (an empty poll is one signalremove returning -EAGAIN). It counts its polls so the
 * benchmark can check the dispatch count against the event log.
 *
 * With BENCHPOLL_STAGGER=1 in the environment, probe starts each device's polling after a
 * delay of 1..10 jiffies (from the device number) instead of at once, so that the polls of a
 * topology bound in one go spread over the 10-jiffy period the way devices created over time
 * do — otherwise every device polls on the same jiffy and one line in ten does all the work.
 */
'use strict';

const BENCH_GUID = 'b3c4e7a1-0d2f-4c55-9e61-62656e636831';
const stats = { probes: 0, dispatches: 0, signals: 0 };
const STAGGER = process.env.BENCHPOLL_STAGGER === '1';

const driver = {
  name: 'benchpoll',
  channelTypes: [{ guid: BENCH_GUID, name: 'benchpoll', minBytes: 4096, version: 1 }],
  probe(dev) {
    stats.probes++;
    dev.driverData = { polls: 0, signals: 0, buf: new Uint8Array(128) };
    if (!STAGGER) return dev.enableChannelInterrupts();
    const delay = 1 + ((dev.busNo * 16 + dev.devNo) % 10);
    dev.driverData.cancelStart = dev.kernel.setTimer(dev, delay, 'start polling', () => dev.enableChannelInterrupts());
    return 0;
  },
  remove(dev) {
    if (dev.driverData && dev.driverData.cancelStart) dev.driverData.cancelStart();
    dev.disableChannelInterrupts();
  },
  pause(dev, complete) {
    dev.disableChannelInterrupts();
    complete(0);
    return 0;
  },
  resume(dev, complete) {
    const rc = dev.enableChannelInterrupts();
    complete(0);
    return rc;
  },
  channelInterrupt(dev) {
    stats.dispatches++;
    const d = dev.driverData;
    d.polls++;
    while (dev.channel.signalRemove(0, d.buf) === 0) {
      d.signals++;
      stats.signals++;
    }
  },
};

module.exports = driver;
module.exports.BENCH_GUID = BENCH_GUID;
module.exports.stats = stats;
