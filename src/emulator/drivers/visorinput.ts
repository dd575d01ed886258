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
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { DRAIN_LIMIT } from './uiscmdrsp';
import { GUIDS } from '../protocol/guid';
import { EBUSY } from '../protocol/errno';
import { decodeInputReport, INPUT_CHANNEL_DATA, INPUT_QUEUE, INPUT_REPORT_BYTES, INPUTACTION, INPUTACTION_NAMES, MOUSE_BUTTON } from './inputreport';
import {
  ABS_X, ABS_Y, BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BUS_VIRTUAL, EV, keyName, LED_CAPSL, LED_NUML, LED_SCROLLL, REL_WHEEL, REL_X, REL_Y,
  SCANCODE_TABLE_1, SCANCODE_TABLE_2, scancodeToKeycode,
} from './keycodes';
import { InputDevice, inputDevices } from '../guest/input';
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

interface Internal {
  main: InputDevice;
  wheel?: InputDevice;
}

const DEFAULT_X_RES = 1024;
const DEFAULT_Y_RES = 768;

export function createVisorinput(): VisorDriver {
  const internals = new WeakMap<VisorDevice, Internal>();

  const data = (dev: VisorDevice): VisorinputData => dev.driverData as VisorinputData;

  const readers = (inn: Internal): number => inn.main.users + (inn.wheel?.users ?? 0);

  const startPolling = (dev: VisorDevice): void => {
    const d = data(dev);
    if (d.polling) return;
    const rc = dev.enableChannelInterrupts();
    if (rc === 0) d.polling = true;
    else dev.warn(`could not enable polling (${rc})`);
  };

  const stopPolling = (dev: VisorDevice): void => {
    const d = data(dev);
    if (!d.polling) return;
    dev.disableChannelInterrupts();
    d.polling = false;
  };

  const makeDevice = (dev: VisorDevice, name: string, phys: string, product: number): InputDevice => {
    const k = dev.kernel;
    const idev = new InputDevice(name, phys, { bustype: BUS_VIRTUAL, vendor: 0x0001, product, version: 0x0100 }, `${dev.busNo}:${dev.devNo}`, () => k.jiffies());
    idev.evbits.add(EV.SYN);
    idev.hooks = {
      // input_dev->open: start polling unless paused.
      open: () => {
        const inn = internals.get(dev);
        const d = data(dev);
        if (inn && readers(inn) === 0) {
          if (!d.paused) startPolling(dev);
          else dev.info(`${name} opened while paused; polling starts at resume`);
        }
        d.openDevices++;
        return 0;
      },
      close: () => {
        const d = data(dev);
        d.openDevices = Math.max(0, d.openDevices - 1);
        const inn = internals.get(dev);
        if (inn && readers(inn) === 0) stopPolling(dev);
      },
    };
    return idev;
  };

  const register = (dev: VisorDevice, idev: InputDevice): void => {
    const k = dev.kernel;
    idev.className = k.nextClassName('input', 'input');
    k.addClassDevice({ cls: 'input', name: idev.className, attrs: idev.attrs() }, dev);
    idev.registered = true;
    inputDevices(k.memory).push(idev);
    dev.info(`input: ${idev.name} as /devices/visorbus${dev.busNo}/${dev.name}/input/${idev.className}`);
  };

  const unregister = (dev: VisorDevice, idev: InputDevice): void => {
    const k = dev.kernel;
    if (!idev.registered) return;
    idev.registered = false;
    k.removeClassDevice('input', idev.className);
    const list = inputDevices(k.memory);
    const i = list.indexOf(idev);
    if (i >= 0) list.splice(i, 1);
  };

  const buttonCode = (arg1: number): number | undefined =>
    arg1 === MOUSE_BUTTON.LEFT ? BTN_LEFT : arg1 === MOUSE_BUTTON.MIDDLE ? BTN_MIDDLE : arg1 === MOUSE_BUTTON.RIGHT ? BTN_RIGHT : undefined;

  const pressRelease = (idev: InputDevice, code: number): void => {
    idev.reportKey(code, true);
    idev.sync();
    idev.reportKey(code, false);
    idev.sync();
  };

  const handleReport = (dev: VisorDevice, inn: Internal, raw: Uint8Array): void => {
    const d = data(dev);
    const r = decodeInputReport(raw);
    const idev = inn.main;
    d.lastReport = `${INPUTACTION_NAMES[r.action] ?? `action ${r.action}`} arg1=0x${r.arg1.toString(16)} arg2=${r.arg2} arg3=${r.arg3}`;
    switch (r.action) {
      case INPUTACTION.XY_MOTION:
        idev.reportAbs(ABS_X, r.arg1);
        idev.reportAbs(ABS_Y, r.arg2);
        idev.sync();
        break;
      case INPUTACTION.MOUSE_BUTTON_DOWN:
      case INPUTACTION.MOUSE_BUTTON_UP: {
        const b = buttonCode(r.arg1);
        if (b === undefined) return ignored(d);
        idev.reportKey(b, r.action === INPUTACTION.MOUSE_BUTTON_DOWN);
        idev.sync();
        break;
      }
      case INPUTACTION.MOUSE_BUTTON_CLICK:
      case INPUTACTION.MOUSE_BUTTON_DCLICK: {
        const b = buttonCode(r.arg1);
        if (b === undefined) return ignored(d);
        pressRelease(idev, b);
        if (r.action === INPUTACTION.MOUSE_BUTTON_DCLICK) pressRelease(idev, b);
        break;
      }
      case INPUTACTION.WHEEL_ROTATE_AWAY:
      case INPUTACTION.WHEEL_ROTATE_TOWARD: {
        const w = inn.wheel ?? idev;
        w.reportRel(REL_WHEEL, r.action === INPUTACTION.WHEEL_ROTATE_AWAY ? 1 : -1);
        w.sync();
        break;
      }
      case INPUTACTION.KEY_DOWN:
      case INPUTACTION.KEY_UP:
        idev.reportKey(scancodeToKeycode(r.arg1), r.action === INPUTACTION.KEY_DOWN);
        idev.sync();
        break;
      case INPUTACTION.KEY_DOWN_UP:
        pressRelease(idev, scancodeToKeycode(r.arg1));
        break;
      case INPUTACTION.SET_LOCKING_KEY_STATE: {
        const code = scancodeToKeycode(r.arg1);
        const bit = code === KEY_CAPSLOCK ? LED_CAPSL : code === KEY_NUMLOCK ? LED_NUML : code === KEY_SCROLLLOCK ? LED_SCROLLL : -1;
        if (bit < 0) return ignored(d);
        const lit = (idev.led >> bit) & 1;
        // handle_locking_key compares test_bit() (0/1) with the raw arg2: 2 differs every time.
        if (lit !== r.arg2) {
          pressRelease(idev, code);
          idev.led ^= 1 << bit;
          dev.info(`${keyName(code)} LED ${idev.led & (1 << bit) ? 'on' : 'off'}`);
        }
        d.leds = idev.ledNames();
        break;
      }
      default:
        // none, the old set_max_xy (8) and unknown actions are ignored.
        return ignored(d);
    }
    d.reportsHandled++;
  };

  const ignored = (d: VisorinputData): void => {
    d.reportsIgnored++;
  };

  return {
    name: 'visorinput',
    channelTypes: [
      { guid: GUIDS.keyboard, name: 'keyboard', minBytes: 128, version: 0 },
      { guid: GUIDS.mouse, name: 'mouse', minBytes: 128, version: 0 },
    ],

    probe(dev: VisorDevice): number {
      const isMouse = dev.channelTypeGuid === GUIDS.mouse;
      if (!isMouse && dev.channelTypeGuid !== GUIDS.keyboard) {
        dev.err(`unknown channel type ${dev.channelTypeGuid}`);
        return -19;
      }
      // Polling stays off until a reader opens the input device.
      dev.disableChannelInterrupts();
      const d: VisorinputData = {
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
      dev.driverData = d;
      let inn: Internal;
      if (isMouse) {
        const cd = new Uint8Array(8);
        let xres = 0;
        let yres = 0;
        if (dev.channel.read(INPUT_CHANNEL_DATA.n_input_reports, cd) === 0) {
          xres = cd[4] | (cd[5] << 8);
          yres = cd[6] | (cd[7] << 8);
        }
        if (!xres) xres = DEFAULT_X_RES;
        if (!yres) yres = DEFAULT_Y_RES;
        d.xRes = xres;
        d.yRes = yres;
        const mouse = makeDevice(dev, 'visor Mouse', 'visormou:input0', 0x0002);
        mouse.evbits.add(EV.KEY).add(EV.ABS);
        mouse.keybits.add(BTN_LEFT).add(BTN_RIGHT).add(BTN_MIDDLE);
        mouse.absinfo.set(ABS_X, { min: 0, max: xres, value: 0 });
        mouse.absinfo.set(ABS_Y, { min: 0, max: yres, value: 0 });
        const wheel = makeDevice(dev, 'visor Wheel', 'visorwhl:input0', 0x0003);
        wheel.evbits.add(EV.REL).add(EV.KEY);
        wheel.relbits.add(REL_WHEEL).add(REL_X).add(REL_Y);
        wheel.keybits.add(BTN_LEFT).add(BTN_RIGHT).add(BTN_MIDDLE);
        inn = { main: mouse, wheel };
      } else {
        const kbd = makeDevice(dev, 'visor Keyboard', 'visorkbd:input0', 0x0001);
        kbd.evbits.add(EV.KEY).add(EV.REP).add(EV.LED);
        kbd.ledbits.add(LED_CAPSL).add(LED_SCROLLL).add(LED_NUML);
        for (const code of [...SCANCODE_TABLE_1, ...SCANCODE_TABLE_2]) if (code) kbd.keybits.add(code);
        inn = { main: kbd };
      }
      internals.set(dev, inn);
      register(dev, inn.main);
      if (inn.wheel) register(dev, inn.wheel);
      d.inputDevices = [inn.main, inn.wheel].filter((x): x is InputDevice => !!x).map((x) => `${x.className} "${x.name}"`);
      return 0;
    },

    remove(dev: VisorDevice): void {
      const inn = internals.get(dev);
      stopPolling(dev);
      if (!inn) return;
      unregister(dev, inn.main);
      if (inn.wheel) unregister(dev, inn.wheel);
      internals.delete(dev);
    },

    channelInterrupt(dev: VisorDevice): void {
      const inn = internals.get(dev);
      if (!inn) return;
      const buf = new Uint8Array(INPUT_REPORT_BYTES);
      let n = 0;
      while (dev.channel.signalRemove(INPUT_QUEUE, buf) === 0) {
        handleReport(dev, inn, buf);
        if (++n >= DRAIN_LIMIT) {
          dev.err(`queue ${INPUT_QUEUE} still not empty after ${DRAIN_LIMIT} reports: its head/tail look corrupted; reading stops for this poll`);
          break;
        }
      }
    },

    pause(dev: VisorDevice, complete: CompleteFunc): number {
      const d = data(dev);
      if (d.paused) return -EBUSY;
      stopPolling(dev);
      d.paused = true;
      complete(0);
      return 0;
    },

    resume(dev: VisorDevice, complete: CompleteFunc): number {
      const d = data(dev);
      const inn = internals.get(dev);
      if (!d.paused) return -EBUSY;
      d.paused = false;
      complete(0);
      if (inn && readers(inn) > 0) startPolling(dev);
      return 0;
    },
  };
}
