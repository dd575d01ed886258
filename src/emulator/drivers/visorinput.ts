/**
 * visorinput: the function driver for s-Par virtual keyboards and mice (reference
 * §7.5). It claims {keyboard GUID, "keyboard", 128, 0} and {mouse GUID, "mouse", 128,
 * 0}; which one a device is comes from the GUID in its create message.
 *
 * What users see follows the 2016 documentation: a keyboard channel gives one input
 * device, "visor Keyboard"; a mouse channel gives two, "visor Mouse" (buttons and
 * absolute position) and "visor Wheel" (the wheel). The final kernel driver differs:
 * it registers a single "visor Mouse" that also carries REL_WHEEL, and has no
 * "visor Wheel" device. Ids follow the final driver (BUS_VIRTUAL, vendor 1, product 1
 * keyboard / 2 mouse, version 0x100); the wheel device uses product 3 and phys
 * "visorwhl:input0" (the emulator's choice; the old out-of-tree driver's ids are not
 * known exactly).
 *
 * Reports are 16 bytes on queue 0. The channel is polled (every 10 jiffies, by the bus
 * core) only while some reader has an input device of the channel open and the device
 * is not paused. Scancodes go through the driver's two tables (keycodes.ts). For
 * SET_LOCKING_KEY_STATE the driver presses and releases the lock key and flips its
 * LED bit only when the LED differs from the requested state.
 *
 * Shaped like the kernel module: module-level functions over a `visorinput_devdata`
 * per device, found from the device as dev_get_drvdata would.
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { DRAIN_LIMIT } from './uiscmdrsp';
import { GUIDS } from '../protocol/guid';
import { EBUSY } from '../protocol/errno';
import { decodeInputReport, INPUT_CHANNEL_DATA, INPUT_QUEUE, INPUT_REPORT_BYTES, INPUTACTION, INPUTACTION_NAMES, MOUSE_BUTTON } from './inputreport';
import {
  ABS_X,
  ABS_Y,
  BTN_LEFT,
  BTN_MIDDLE,
  BTN_RIGHT,
  BUS_VIRTUAL,
  EV,
  keyName,
  LED_CAPSL,
  LED_NUML,
  LED_SCROLLL,
  REL_WHEEL,
  REL_X,
  REL_Y,
  SCANCODE_TABLE_1,
  SCANCODE_TABLE_2,
  scancodeToKeycode,
} from './keycodes';
import { InputDevice } from '../guest/input';
import { guestOf } from '../guest/kernel';
import { KEY_CAPSLOCK, KEY_NUMLOCK, KEY_SCROLLLOCK } from '../guest/keymap';

/** What the debugger shows for a visorinput device (dev.driverData). */
export interface VisorinputData {
  kind: 'keyboard' | 'mouse';
  inputDevices: string[];
  paused: boolean;
  polling: boolean;
  openDevices: number;
  xRes?: number;
  yRes?: number;
  reportsHandled: number;
  reportsIgnored: number;
  lastReport: string;
  leds: string;
}

/** struct visorinput_devdata: one per visor device. */
export interface visorinput_devdata {
  dev: VisorDevice;
  /** The state the debugger shows (dev.driverData). */
  data: VisorinputData;
  /** The keyboard, or the mouse's buttons and position. */
  visorinput_dev: InputDevice;
  /** The mouse's wheel device (2016 documentation); none for a keyboard. */
  wheel?: InputDevice;
}

const DEFAULT_X_RES = 1024;
const DEFAULT_Y_RES = 768;

/** dev_get_drvdata: the devdata of a bound device (driverData stays the debugger's view). */
const drvdata = new WeakMap<VisorDevice, visorinput_devdata>();

/** The devdata of a probed device, undefined once it is removed. */
export function visorinput_get_devdata(dev: VisorDevice): visorinput_devdata | undefined {
  return drvdata.get(dev);
}

/** Readers holding any of the device's input devices open. */
function visorinput_users(devdata: visorinput_devdata): number {
  return devdata.visorinput_dev.users + (devdata.wheel?.users ?? 0);
}

function visorinput_start_polling(dev: VisorDevice, data: VisorinputData): void {
  if (data.polling) return;
  const rc = dev.enableChannelInterrupts();
  if (rc === 0) data.polling = true;
  else dev.warn(`could not enable polling (${rc})`);
}

function visorinput_stop_polling(dev: VisorDevice, data: VisorinputData): void {
  if (!data.polling) return;
  dev.disableChannelInterrupts();
  data.polling = false;
}

/** input_dev->open: start polling unless paused. */
function visorinput_open(dev: VisorDevice, name: string): number {
  const devdata = drvdata.get(dev);
  const data = dev.driverData as VisorinputData;
  if (devdata && visorinput_users(devdata) === 0) {
    if (!data.paused) visorinput_start_polling(dev, data);
    else dev.info(`${name} opened while paused; polling starts at resume`);
  }
  data.openDevices++;
  return 0;
}

/** input_dev->close: the last reader gone stops polling. */
function visorinput_close(dev: VisorDevice): void {
  const data = dev.driverData as VisorinputData;
  data.openDevices = Math.max(0, data.openDevices - 1);
  const devdata = drvdata.get(dev);
  if (devdata && visorinput_users(devdata) === 0) visorinput_stop_polling(dev, data);
}

/** input_allocate_device with the driver's ids and open/close hooks. */
function visorinput_alloc_input_dev(dev: VisorDevice, name: string, phys: string, product: number): InputDevice {
  const k = dev.kernel;
  const idev = new InputDevice(name, phys, { bustype: BUS_VIRTUAL, vendor: 0x0001, product, version: 0x0100 }, `${dev.busNo}:${dev.devNo}`, () => k.jiffies());
  idev.evbits.add(EV.SYN);
  idev.hooks = { open: () => visorinput_open(dev, name), close: () => visorinput_close(dev) };
  return idev;
}

/** setup_client_keyboard: the "visor Keyboard" input device. */
function setup_client_keyboard(dev: VisorDevice): InputDevice {
  const kbd = visorinput_alloc_input_dev(dev, 'visor Keyboard', 'visorkbd:input0', 0x0001);
  kbd.evbits.add(EV.KEY).add(EV.REP).add(EV.LED);
  kbd.ledbits.add(LED_CAPSL).add(LED_SCROLLL).add(LED_NUML);
  for (const code of [...SCANCODE_TABLE_1, ...SCANCODE_TABLE_2]) if (code) kbd.keybits.add(code);
  return kbd;
}

/** setup_client_mouse: "visor Mouse" (buttons, absolute position) and "visor Wheel". */
function setup_client_mouse(dev: VisorDevice, xres: number, yres: number): { mouse: InputDevice; wheel: InputDevice } {
  const mouse = visorinput_alloc_input_dev(dev, 'visor Mouse', 'visormou:input0', 0x0002);
  mouse.evbits.add(EV.KEY).add(EV.ABS);
  mouse.keybits.add(BTN_LEFT).add(BTN_RIGHT).add(BTN_MIDDLE);
  mouse.absinfo.set(ABS_X, { min: 0, max: xres, value: 0 });
  mouse.absinfo.set(ABS_Y, { min: 0, max: yres, value: 0 });
  const wheel = visorinput_alloc_input_dev(dev, 'visor Wheel', 'visorwhl:input0', 0x0003);
  wheel.evbits.add(EV.REL).add(EV.KEY);
  wheel.relbits.add(REL_WHEEL).add(REL_X).add(REL_Y);
  wheel.keybits.add(BTN_LEFT).add(BTN_RIGHT).add(BTN_MIDDLE);
  return { mouse, wheel };
}

/** input_register_device: /sys/class/input/inputN and the guest's device list. */
function register_client_input(dev: VisorDevice, idev: InputDevice): void {
  const k = dev.kernel;
  idev.className = k.nextClassName('input', 'input');
  k.addClassDevice({ cls: 'input', name: idev.className, attrs: idev.attrs() }, dev);
  idev.registered = true;
  guestOf(dev).input.devices.push(idev);
  dev.info(`input: ${idev.name} as /devices/visorbus${dev.busNo}/${dev.name}/input/${idev.className}`);
}

/** unregister_client_input. */
function unregister_client_input(dev: VisorDevice, idev: InputDevice): void {
  const k = dev.kernel;
  if (!idev.registered) return;
  idev.registered = false;
  k.removeClassDevice('input', idev.className);
  const list = guestOf(dev).input.devices;
  const i = list.indexOf(idev);
  if (i >= 0) list.splice(i, 1);
}

/** calc_button: the BTN_ code of a report's button number, undefined when unknown. */
export function calc_button(arg1: number): number | undefined {
  return arg1 === MOUSE_BUTTON.LEFT ? BTN_LEFT : arg1 === MOUSE_BUTTON.MIDDLE ? BTN_MIDDLE : arg1 === MOUSE_BUTTON.RIGHT ? BTN_RIGHT : undefined;
}

function visorinput_press_release(idev: InputDevice, code: number): void {
  idev.reportKey(code, true);
  idev.sync();
  idev.reportKey(code, false);
  idev.sync();
}

/**
 * handle_locking_key: press and release the lock key and flip its LED only when the
 * LED differs from the requested state. False when the scancode is no lock key.
 */
export function handle_locking_key(dev: VisorDevice, idev: InputDevice, scancode: number, desiredState: number): boolean {
  const code = scancodeToKeycode(scancode);
  const bit = code === KEY_CAPSLOCK ? LED_CAPSL : code === KEY_NUMLOCK ? LED_NUML : code === KEY_SCROLLLOCK ? LED_SCROLLL : -1;
  if (bit < 0) return false;
  const lit = (idev.led >> bit) & 1;
  // The kernel compares test_bit() (0/1) with the raw arg2: 2 differs every time.
  if (lit !== desiredState) {
    visorinput_press_release(idev, code);
    idev.led ^= 1 << bit;
    dev.info(`${keyName(code)} LED ${idev.led & (1 << bit) ? 'on' : 'off'}`);
  }
  return true;
}

/** One report through the input core; false when the driver ignores it. */
function visorinput_handle_report(devdata: visorinput_devdata, raw: Uint8Array): boolean {
  const data = devdata.data;
  const r = decodeInputReport(raw);
  const idev = devdata.visorinput_dev;
  data.lastReport = `${INPUTACTION_NAMES[r.action] ?? `action ${r.action}`} arg1=0x${r.arg1.toString(16)} arg2=${r.arg2} arg3=${r.arg3}`;
  switch (r.action) {
    case INPUTACTION.XY_MOTION:
      idev.reportAbs(ABS_X, r.arg1);
      idev.reportAbs(ABS_Y, r.arg2);
      idev.sync();
      return true;
    case INPUTACTION.MOUSE_BUTTON_DOWN:
    case INPUTACTION.MOUSE_BUTTON_UP: {
      const b = calc_button(r.arg1);
      if (b === undefined) return false;
      idev.reportKey(b, r.action === INPUTACTION.MOUSE_BUTTON_DOWN);
      idev.sync();
      return true;
    }
    case INPUTACTION.MOUSE_BUTTON_CLICK:
    case INPUTACTION.MOUSE_BUTTON_DCLICK: {
      const b = calc_button(r.arg1);
      if (b === undefined) return false;
      visorinput_press_release(idev, b);
      if (r.action === INPUTACTION.MOUSE_BUTTON_DCLICK) visorinput_press_release(idev, b);
      return true;
    }
    case INPUTACTION.WHEEL_ROTATE_AWAY:
    case INPUTACTION.WHEEL_ROTATE_TOWARD: {
      const w = devdata.wheel ?? idev;
      w.reportRel(REL_WHEEL, r.action === INPUTACTION.WHEEL_ROTATE_AWAY ? 1 : -1);
      w.sync();
      return true;
    }
    case INPUTACTION.KEY_DOWN:
    case INPUTACTION.KEY_UP:
      idev.reportKey(scancodeToKeycode(r.arg1), r.action === INPUTACTION.KEY_DOWN);
      idev.sync();
      return true;
    case INPUTACTION.KEY_DOWN_UP:
      visorinput_press_release(idev, scancodeToKeycode(r.arg1));
      return true;
    case INPUTACTION.SET_LOCKING_KEY_STATE:
      if (!handle_locking_key(devdata.dev, idev, r.arg1, r.arg2)) return false;
      data.leds = idev.ledNames();
      return true;
    default:
      // none, the old set_max_xy (8) and unknown actions are ignored.
      return false;
  }
}

/** The mouse's resolution from the channel; 0 means the default (1024 × 768). */
function visorinput_read_resolution(dev: VisorDevice): { xres: number; yres: number } {
  const cd = new Uint8Array(8);
  let xres = 0;
  let yres = 0;
  if (dev.channel.read(INPUT_CHANNEL_DATA.n_input_reports, cd) === 0) {
    xres = cd[4] | (cd[5] << 8);
    yres = cd[6] | (cd[7] << 8);
  }
  return { xres: xres || DEFAULT_X_RES, yres: yres || DEFAULT_Y_RES };
}

/** devdata_create: the input devices of one keyboard or mouse channel, registered. */
function devdata_create(dev: VisorDevice, data: VisorinputData, isMouse: boolean): visorinput_devdata {
  let devdata: visorinput_devdata;
  if (isMouse) {
    const { xres, yres } = visorinput_read_resolution(dev);
    data.xRes = xres;
    data.yRes = yres;
    const { mouse, wheel } = setup_client_mouse(dev, xres, yres);
    devdata = { dev, data, visorinput_dev: mouse, wheel };
  } else {
    devdata = { dev, data, visorinput_dev: setup_client_keyboard(dev) };
  }
  drvdata.set(dev, devdata);
  register_client_input(dev, devdata.visorinput_dev);
  if (devdata.wheel) register_client_input(dev, devdata.wheel);
  return devdata;
}

export function visorinput_probe(dev: VisorDevice): number {
  const isMouse = dev.channelTypeGuid === GUIDS.mouse;
  if (!isMouse && dev.channelTypeGuid !== GUIDS.keyboard) {
    dev.err(`unknown channel type ${dev.channelTypeGuid}`);
    return -19;
  }
  // Polling stays off until a reader opens the input device.
  dev.disableChannelInterrupts();
  const data: VisorinputData = {
    kind: isMouse ? 'mouse' : 'keyboard',
    inputDevices: [],
    paused: false,
    polling: false,
    openDevices: 0,
    reportsHandled: 0,
    reportsIgnored: 0,
    lastReport: '',
    leds: '',
  };
  dev.driverData = data;
  const devdata = devdata_create(dev, data, isMouse);
  data.inputDevices = [devdata.visorinput_dev, devdata.wheel].filter((x): x is InputDevice => !!x).map((x) => `${x.className} "${x.name}"`);
  return 0;
}

export function visorinput_remove(dev: VisorDevice): void {
  const devdata = drvdata.get(dev);
  visorinput_stop_polling(dev, dev.driverData as VisorinputData);
  if (!devdata) return;
  unregister_client_input(dev, devdata.visorinput_dev);
  if (devdata.wheel) unregister_client_input(dev, devdata.wheel);
  drvdata.delete(dev);
}

/** channel_interrupt: every report waiting on queue 0 goes to the input core. */
export function visorinput_channel_interrupt(dev: VisorDevice): void {
  const devdata = drvdata.get(dev);
  if (!devdata) return;
  const buf = new Uint8Array(INPUT_REPORT_BYTES);
  let n = 0;
  while (dev.channel.signalRemove(INPUT_QUEUE, buf) === 0) {
    if (visorinput_handle_report(devdata, buf)) devdata.data.reportsHandled++;
    else devdata.data.reportsIgnored++;
    if (++n >= DRAIN_LIMIT) {
      dev.err(`queue ${INPUT_QUEUE} still not empty after ${DRAIN_LIMIT} reports: its head/tail look corrupted; reading stops for this poll`);
      break;
    }
  }
}

export function visorinput_pause(dev: VisorDevice, complete: CompleteFunc): number {
  const data = dev.driverData as VisorinputData;
  if (data.paused) return -EBUSY;
  visorinput_stop_polling(dev, data);
  data.paused = true;
  complete(0);
  return 0;
}

export function visorinput_resume(dev: VisorDevice, complete: CompleteFunc): number {
  const data = dev.driverData as VisorinputData;
  const devdata = drvdata.get(dev);
  if (!data.paused) return -EBUSY;
  data.paused = false;
  complete(0);
  if (devdata && visorinput_users(devdata) > 0) visorinput_start_polling(dev, data);
  return 0;
}

/** The visor_driver of the module: what `driver load visorinput` registers. */
export function createVisorinput(): VisorDriver {
  return {
    name: 'visorinput',
    channelTypes: [
      { guid: GUIDS.keyboard, name: 'keyboard', minBytes: 128, version: 0 },
      { guid: GUIDS.mouse, name: 'mouse', minBytes: 128, version: 0 },
    ],
    probe: visorinput_probe,
    remove: visorinput_remove,
    channelInterrupt: visorinput_channel_interrupt,
    pause: visorinput_pause,
    resume: visorinput_resume,
  };
}
