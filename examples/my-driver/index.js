// @ts-check
/**
 * mydrv — a small function driver written against the Visorbus Studio driver API.
 *
 * It claims channels of its own type (GUID below). The service side sends it 128-byte
 * signals on queue 0; the driver counts each one and answers on queue 1 with
 * "echo: <text>". Load it from a scenario with
 *
 *     driver load ./my-driver/index.js
 *
 * It is shaped like a kernel module: one `mydrv_devdata` per device (dev_set_drvdata),
 * and module-level functions named `mydrv_<callback>` that the `visor_driver` object at
 * the bottom points to — the same shape as the built-in visorhba, visornic and
 * visorinput.
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
const MAX_SIGNALS_PER_POLL = 64; // a queue with corrupted head/tail never empties

/** Linux errno values, handed over by the emulator when it loads the module. */
let errno = { EBUSY: 16 };

/**
 * struct mydrv_devdata: the driver's per-device state. It lives in dev.driverData as
 * a plain object, so the debugger's "Driver" scope shows it while you step.
 * @typedef {{ received: number, echoed: number, dropped: number, last: string, paused: boolean }} mydrv_devdata
 */

/** dev_get_drvdata. @param {VisorDevice} dev @returns {mydrv_devdata} */
function mydrv_get_devdata(dev) {
  return /** @type {mydrv_devdata} */ (dev.driverData);
}

/** Called once per device of our type. Return 0, or a negative errno to refuse the device. @param {VisorDevice} dev */
function mydrv_probe(dev) {
  /** @type {mydrv_devdata} */
  const devdata = { received: 0, echoed: 0, dropped: 0, last: '', paused: false };
  dev.driverData = devdata;
  // visorbus_enable_channel_interrupts: mydrv_channel_interrupt then runs every 10 jiffies.
  const rc = dev.enableChannelInterrupts();
  if (rc < 0) return rc;
  dev.info(`mydriver bound to ${dev.name} (channel at 0x${dev.channel.physaddr.toString(16)}, ${dev.channel.nbytes} bytes)`);
  return 0;
}

/** @param {VisorDevice} dev */
function mydrv_remove(dev) {
  dev.disableChannelInterrupts();
  dev.info(`mydriver leaves ${dev.name} after ${mydrv_get_devdata(dev).received} signal(s)`);
}

/** Answer one signal on queue 1. @param {VisorDevice} dev @param {mydrv_devdata} devdata @param {Uint8Array} signal */
function mydrv_echo(dev, devdata, signal) {
  devdata.received++;
  dev.kernel.counter('mydriver.received', 1);
  const end = signal.indexOf(0);
  devdata.last = Buffer.from(signal.subarray(0, end < 0 ? signal.length : end)).toString('latin1');
  const reply = new Uint8Array(SIGNAL_BYTES);
  reply.set(Buffer.from(`echo: ${devdata.last}`.slice(0, SIGNAL_BYTES - 1), 'latin1'));
  // signalInsert returns 0, or -EIO when the queue is full (the reply is dropped and counted).
  if (dev.channel.signalInsert(TO_SERVICE, reply) === 0) devdata.echoed++;
  else devdata.dropped++;
}

/** The periodic poll: take every signal off queue 0 and answer it. @param {VisorDevice} dev */
function mydrv_channel_interrupt(dev) {
  const devdata = mydrv_get_devdata(dev);
  const buf = new Uint8Array(SIGNAL_BYTES);
  for (let n = 0; n < MAX_SIGNALS_PER_POLL && dev.channel.signalRemove(FROM_SERVICE, buf) === 0; n++) mydrv_echo(dev, devdata, buf);
}

/** DEVICE_CHANGESTATE to standby. Call complete(0) when paused (now or later). @param {VisorDevice} dev @param {CompleteFunc} complete */
function mydrv_pause(dev, complete) {
  const devdata = mydrv_get_devdata(dev);
  if (devdata.paused) return -errno.EBUSY;
  dev.disableChannelInterrupts();
  devdata.paused = true;
  complete(0);
  return 0;
}

/** DEVICE_CHANGESTATE to running. @param {VisorDevice} dev @param {CompleteFunc} complete */
function mydrv_resume(dev, complete) {
  const devdata = mydrv_get_devdata(dev);
  if (!devdata.paused) return -errno.EBUSY;
  devdata.paused = false;
  dev.enableChannelInterrupts();
  complete(0);
  return 0;
}

/**
 * The module's init: a driver module may export the driver object itself, or (as here)
 * a factory that receives the emulator's errno values and GUIDs.
 * @param {DriverModuleApi} api
 * @returns {VisorDriver}
 */
module.exports = function mydrv_init(api) {
  errno = { EBUSY: api.errno.EBUSY };
  return {
    name: 'mydriver',
    // Matched against the GUID of DEVICE_CREATE and the channel header (type, size, version).
    channelTypes: [{ guid: MYDRIVER_GUID, name: 'mychannel', minBytes: 128, version: 1 }],
    probe: mydrv_probe,
    remove: mydrv_remove,
    channelInterrupt: mydrv_channel_interrupt,
    pause: mydrv_pause,
    resume: mydrv_resume,
  };
};

module.exports.MYDRIVER_GUID = MYDRIVER_GUID;
