// @ts-check
/**
 * mydriver — a small function driver written against the Visorbus Studio driver API.
 *
 * It claims channels of its own type (GUID below). The service side sends it 128-byte
 * signals on queue 0; the driver counts each one and answers on queue 1 with
 * "echo: <text>". Load it from a scenario with
 *
 *     driver load ./my-driver/index.js
 *
 * The types come from the emulator's source, so an editor with TypeScript checking
 * (this file starts with // @ts-check) shows every field of the API.
 *
 * @typedef {import('../../src/emulator/visorbus/driver').VisorDriver} VisorDriver
 * @typedef {import('../../src/emulator/visorbus/driver').VisorDevice} VisorDevice
 * @typedef {import('../../src/emulator/visorbus/driver').CompleteFunc} CompleteFunc
 * @typedef {import('../../src/emulator/visorbus/driver').DriverModuleApi} DriverModuleApi
 */
'use strict';

/** The channel type this driver claims (lower-case canonical GUID text). */
const MYDRIVER_GUID = '5c1e3a5e-6d79-4472-9976-65722d636861';
const FROM_SERVICE = 0; // queue the service partition fills
const TO_SERVICE = 1; // queue the driver fills
const SIGNAL_BYTES = 128; // signal_size of both queues in the generic channel layout

/**
 * The driver's own state lives in dev.driverData as a plain object: the debugger's
 * "Driver" scope shows it while you step.
 * @typedef {{ received: number, echoed: number, dropped: number, last: string, paused: boolean }} MyState
 */

/**
 * A driver module may export the driver object itself, or (as here) a factory that
 * receives the emulator's errno values and GUIDs.
 * @param {DriverModuleApi} api
 * @returns {VisorDriver}
 */
module.exports = function createMyDriver(api) {
  const { EBUSY } = api.errno;

  /** @param {VisorDevice} dev @returns {MyState} */
  const state = (dev) => /** @type {MyState} */ (dev.driverData);

  /** @type {VisorDriver} */
  const driver = {
    name: 'mydriver',
    // Matched against the GUID of DEVICE_CREATE and the channel header (type, size, version).
    channelTypes: [{ guid: MYDRIVER_GUID, name: 'mychannel', minBytes: 128, version: 1 }],

    /** Called once per device of our type. Return 0, or a negative errno to refuse the device. */
    probe(dev) {
      /** @type {MyState} */
      const s = { received: 0, echoed: 0, dropped: 0, last: '', paused: false };
      dev.driverData = s;
      // visorbus_enable_channel_interrupts: channelInterrupt() then runs every 10 jiffies.
      const rc = dev.enableChannelInterrupts();
      if (rc < 0) return rc;
      dev.info(`mydriver bound to ${dev.name} (channel at 0x${dev.channel.physaddr.toString(16)}, ${dev.channel.nbytes} bytes)`);
      return 0;
    },

    remove(dev) {
      dev.disableChannelInterrupts();
      dev.info(`mydriver leaves ${dev.name} after ${state(dev).received} signal(s)`);
    },

    /** The periodic poll: take every signal off queue 0 and answer it on queue 1. */
    channelInterrupt(dev) {
      const s = state(dev);
      const buf = new Uint8Array(SIGNAL_BYTES);
      // Take at most 64 signals per poll: a queue with corrupted head/tail never empties.
      for (let n = 0; n < 64 && dev.channel.signalRemove(FROM_SERVICE, buf) === 0; n++) {
        s.received++;
        dev.kernel.counter('mydriver.received', 1);
        const end = buf.indexOf(0);
        s.last = Buffer.from(buf.subarray(0, end < 0 ? buf.length : end)).toString('latin1');
        const reply = new Uint8Array(SIGNAL_BYTES);
        reply.set(Buffer.from(`echo: ${s.last}`.slice(0, SIGNAL_BYTES - 1), 'latin1'));
        // signalInsert returns 0, or -EIO when the queue is full (the reply is dropped and counted).
        if (dev.channel.signalInsert(TO_SERVICE, reply) === 0) s.echoed++;
        else s.dropped++;
      }
    },

    /** DEVICE_CHANGESTATE to standby. Call complete(0) when paused (now or later). */
    pause(dev, complete) {
      const s = state(dev);
      if (s.paused) return -EBUSY;
      dev.disableChannelInterrupts();
      s.paused = true;
      complete(0);
      return 0;
    },

    /** DEVICE_CHANGESTATE to running. */
    resume(dev, complete) {
      const s = state(dev);
      if (!s.paused) return -EBUSY;
      s.paused = false;
      dev.enableChannelInterrupts();
      complete(0);
      return 0;
    },
  };
  return driver;
};

module.exports.MYDRIVER_GUID = MYDRIVER_GUID;
