/**
 * The guest's input core around one `input_dev` (/sys/class/input/inputN): the
 * capabilities a driver declares, the events it reports (filtered the way the input
 * core filters them: unsupported codes, a key already in the reported state, an
 * absolute axis that did not move, a zero relative motion and an empty SYN are not
 * passed on), the LED state, the open count of user-space readers, and a log of
 * every event delivered — what an `evtest` on the device would print.
 *
 * Input devices of one emulator run belong to its `InputCore`.
 */
import { EV, keyName, LED_CAPSL, LED_NUML, LED_SCROLLL } from '../drivers/keycodes';
import { KEY_BACKSPACE, KEY_CAPSLOCK, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, US_KEYMAP } from './keymap';

export interface InputId {
  bustype: number;
  vendor: number;
  product: number;
  version: number;
}

export interface InputEventRecord {
  jiffies: number;
  type: number;
  code: number;
  value: number;
}

export interface AbsInfo {
  min: number;
  max: number;
  value: number;
}

/** Open / close hooks of the driver (input_dev->open / ->close). */
export interface InputDeviceHooks {
  open?(): number;
  close?(): void;
}

const LOG_LIMIT = 4096;

export class InputDevice {
  /** "input3", set when registered. */
  className = '';
  readonly evbits = new Set<number>();
  readonly keybits = new Set<number>();
  readonly relbits = new Set<number>();
  readonly ledbits = new Set<number>();
  readonly absinfo = new Map<number, AbsInfo>();
  /** Keys currently down. */
  readonly keyState = new Set<number>();
  /** LED bits (bit LED_NUML, LED_CAPSL, LED_SCROLLL). */
  led = 0;
  /** Open count of user-space readers. */
  users = 0;
  /** Delivered events (the last 4096). */
  readonly events: InputEventRecord[] = [];
  readonly counts = { events: 0, keys: 0, releases: 0, buttons: 0, wheel: 0, moves: 0, syn: 0, ignored: 0 };
  /** What a terminal reading this device would have received, as text (the last 4096 characters). */
  text = '';
  lastKey = '';
  registered = false;
  private pendingSinceSyn = 0;
  private shift = 0;
  private caps = false;

  constructor(
    readonly name: string,
    readonly phys: string,
    readonly id: InputId,
    /** The visor device, "3:0". */
    readonly owner: string,
    private readonly now: () => number,
    public hooks: InputDeviceHooks = {},
  ) {}

  /** input_event with the input core's filtering; returns whether the event was passed on. */
  event(type: number, code: number, value: number): boolean {
    if (!this.evbits.has(type)) return this.ignore();
    switch (type) {
      case EV.KEY: {
        if (!this.keybits.has(code) || code === 0) return this.ignore();
        const down = value !== 0;
        if (value !== 2 && this.keyState.has(code) === down) return this.ignore();
        if (down) this.keyState.add(code);
        else this.keyState.delete(code);
        this.onKey(code, value);
        break;
      }
      case EV.REL:
        if (!this.relbits.has(code) || value === 0) return this.ignore();
        if (code === 8) this.counts.wheel += value;
        break;
      case EV.ABS: {
        const a = this.absinfo.get(code);
        if (!a || a.value === value) return this.ignore();
        a.value = value;
        this.counts.moves++;
        break;
      }
      case EV.LED:
        if (!this.ledbits.has(code)) return this.ignore();
        if (value) this.led |= 1 << code;
        else this.led &= ~(1 << code);
        break;
      case EV.SYN:
        if (this.pendingSinceSyn === 0) return false;
        this.pendingSinceSyn = 0;
        this.counts.syn++;
        this.push(type, code, value);
        return true;
      default:
        break;
    }
    this.pendingSinceSyn++;
    this.counts.events++;
    this.push(type, code, value);
    return true;
  }

  reportKey(code: number, down: boolean): boolean {
    return this.event(EV.KEY, code, down ? 1 : 0);
  }

  reportRel(code: number, value: number): boolean {
    return this.event(EV.REL, code, value);
  }

  reportAbs(code: number, value: number): boolean {
    return this.event(EV.ABS, code, value);
  }

  sync(): void {
    this.event(EV.SYN, 0, 0);
  }

  private ignore(): false {
    this.counts.ignored++;
    return false;
  }

  private push(type: number, code: number, value: number): void {
    this.events.push({ jiffies: this.now(), type, code, value });
    if (this.events.length > LOG_LIMIT) this.events.splice(0, this.events.length - LOG_LIMIT);
  }

  private onKey(code: number, value: number): void {
    const isButton = code >= 0x100 && code < 0x160;
    if (value === 0) {
      this.counts.releases++;
      if (code === KEY_LEFTSHIFT || code === KEY_RIGHTSHIFT) this.shift = Math.max(0, this.shift - 1);
      return;
    }
    if (isButton) {
      this.counts.buttons++;
      this.lastKey = keyName(code);
      return;
    }
    this.counts.keys++;
    this.lastKey = keyName(code);
    if (code === KEY_LEFTSHIFT || code === KEY_RIGHTSHIFT) this.shift++;
    else if (code === KEY_CAPSLOCK) this.caps = !this.caps;
    else if (code === KEY_BACKSPACE) this.text = this.text.slice(0, -1);
    else {
      const m = US_KEYMAP[code];
      if (m) {
        let ch = this.shift > 0 ? m[1] : m[0];
        if (this.caps && /[a-z]/i.test(m[0])) ch = this.shift > 0 ? m[0] : m[1];
        this.text += ch;
        // Bounded like the event log: a long session must not keep every key ever typed.
        if (this.text.length > LOG_LIMIT) this.text = this.text.slice(-LOG_LIMIT);
      }
    }
  }

  /** A reader opens /dev/input/eventN. */
  open(): number {
    if (this.users === 0 && this.hooks.open) {
      const rc = this.hooks.open();
      if (rc < 0) return rc;
    }
    this.users++;
    return 0;
  }

  /** The last reader closes it. */
  close(): void {
    if (this.users === 0) return;
    this.users--;
    if (this.users === 0) this.hooks.close?.();
  }

  ledNames(): string {
    const n: string[] = [];
    if (this.led & (1 << LED_NUML)) n.push('NUML');
    if (this.led & (1 << LED_CAPSL)) n.push('CAPSL');
    if (this.led & (1 << LED_SCROLLL)) n.push('SCROLLL');
    return n.join(',');
  }

  /**
   * Capability bitmap text as input_print_bitmap prints it: 64-bit words (unsigned long on
   * x86-64) as %lx, most significant first, separated by spaces, leading zero words
   * dropped (a zero word after the first printed one prints "0"); "0" when empty.
   */
  static bitmapText(bits: Iterable<number>): string {
    const words: bigint[] = [];
    for (const b of bits) {
      const w = Math.floor(b / 64);
      while (words.length <= w) words.push(0n);
      words[w] |= 1n << BigInt(b % 64);
    }
    while (words.length && words[words.length - 1] === 0n) words.pop();
    if (!words.length) return '0';
    return words
      .reverse()
      .map((w) => w.toString(16))
      .join(' ');
  }

  attrs(): Record<string, () => string> {
    const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
    return {
      name: () => `${this.name}\n`,
      phys: () => `${this.phys}\n`,
      uniq: () => '\n',
      properties: () => '0\n',
      'id/bustype': () => `${hex4(this.id.bustype)}\n`,
      'id/vendor': () => `${hex4(this.id.vendor)}\n`,
      'id/product': () => `${hex4(this.id.product)}\n`,
      'id/version': () => `${hex4(this.id.version)}\n`,
      'capabilities/ev': () => `${InputDevice.bitmapText(this.evbits)}\n`,
      'capabilities/key': () => `${InputDevice.bitmapText(this.keybits)}\n`,
      'capabilities/rel': () => `${InputDevice.bitmapText(this.relbits)}\n`,
      'capabilities/abs': () => `${InputDevice.bitmapText(this.absinfo.keys())}\n`,
      'capabilities/led': () => `${InputDevice.bitmapText(this.ledbits)}\n`,
    };
  }

  /** Counter values for `expect counter`. */
  counterValues(): Record<string, number | string> {
    return {
      ...this.counts,
      text: this.text,
      lastkey: this.lastKey,
      leds: this.ledNames(),
      x: this.absinfo.get(0)?.value ?? 0,
      y: this.absinfo.get(1)?.value ?? 0,
      open: this.users,
      pressed: [...this.keyState].map(keyName).join(','),
    };
  }
}

/** The input core of one run: its registered input devices, in registration order. */
export class InputCore {
  readonly devices: InputDevice[] = [];

  /** Input devices of one visor device ("3:1"): a keyboard has one, a mouse two (Mouse, Wheel). */
  of(owner: string): InputDevice[] {
    return this.devices.filter((d) => d.owner === owner);
  }

  /** The first input device with that name ("visor Keyboard"). */
  byName(name: string): InputDevice | undefined {
    return this.devices.find((d) => d.name === name);
  }

  /**
   * Every input device's counters under the names scenarios use:
   * `input "visor Keyboard" keys`, `input "visor Keyboard".keys` (first device of that
   * name) and `input 3:0 keys` / `input 3:0 "visor Wheel" wheel` (by visor device).
   */
  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const seen = new Set<string>();
    for (const d of this.devices) {
      const values = d.counterValues();
      for (const [k, v] of Object.entries(values)) {
        if (!seen.has(d.name)) {
          out[`input "${d.name}" ${k}`] = v;
          out[`input "${d.name}".${k}`] = v;
        }
        out[`input ${d.owner} "${d.name}" ${k}`] = v;
        out[`input ${d.className} ${k}`] = v;
      }
      // `input 3:0 keys`: all input devices of the visor device together (numbers add up).
      for (const [k, v] of Object.entries(values)) {
        const key = `input ${d.owner} ${k}`;
        const prev = out[key];
        if (typeof v === 'number') out[key] = (typeof prev === 'number' ? prev : 0) + v;
        else if (prev === undefined || prev === '') out[key] = v;
      }
      seen.add(d.name);
    }
    return out;
  }
}
