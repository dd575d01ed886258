/**
 * Linux input event codes the visor input devices use (values from the kernel's
 * input-event-codes.h, a stable user-space ABI) and visorinput's two scancode tables
 * (reference §7.5): table 1 for a single-byte PC set-1 scancode, table 2 for an
 * extended scancode whose second byte (arg1 >> 8) is the index.
 */

export const EV = { SYN: 0x00, KEY: 0x01, REL: 0x02, ABS: 0x03, LED: 0x11, REP: 0x14 } as const;
export const REL_WHEEL = 0x08;
export const REL_X = 0x00;
export const REL_Y = 0x01;
export const ABS_X = 0x00;
export const ABS_Y = 0x01;
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const BTN_MIDDLE = 0x112;
export const LED_NUML = 0;
export const LED_CAPSL = 1;
export const LED_SCROLLL = 2;
export const BUS_HOST = 0x19;
export const BUS_VIRTUAL = 0x06;

/** KEY_* names by code (the codes visorinput can produce). */
const NAMED: Record<number, string> = {
  0: 'RESERVED',
  1: 'ESC',
  2: '1',
  3: '2',
  4: '3',
  5: '4',
  6: '5',
  7: '6',
  8: '7',
  9: '8',
  10: '9',
  11: '0',
  12: 'MINUS',
  13: 'EQUAL',
  14: 'BACKSPACE',
  15: 'TAB',
  16: 'Q',
  17: 'W',
  18: 'E',
  19: 'R',
  20: 'T',
  21: 'Y',
  22: 'U',
  23: 'I',
  24: 'O',
  25: 'P',
  26: 'LEFTBRACE',
  27: 'RIGHTBRACE',
  28: 'ENTER',
  29: 'LEFTCTRL',
  30: 'A',
  31: 'S',
  32: 'D',
  33: 'F',
  34: 'G',
  35: 'H',
  36: 'J',
  37: 'K',
  38: 'L',
  39: 'SEMICOLON',
  40: 'APOSTROPHE',
  41: 'GRAVE',
  42: 'LEFTSHIFT',
  43: 'BACKSLASH',
  44: 'Z',
  45: 'X',
  46: 'C',
  47: 'V',
  48: 'B',
  49: 'N',
  50: 'M',
  51: 'COMMA',
  52: 'DOT',
  53: 'SLASH',
  54: 'RIGHTSHIFT',
  55: 'KPASTERISK',
  56: 'LEFTALT',
  57: 'SPACE',
  58: 'CAPSLOCK',
  59: 'F1',
  60: 'F2',
  61: 'F3',
  62: 'F4',
  63: 'F5',
  64: 'F6',
  65: 'F7',
  66: 'F8',
  67: 'F9',
  68: 'F10',
  69: 'NUMLOCK',
  70: 'SCROLLLOCK',
  71: 'KP7',
  72: 'KP8',
  73: 'KP9',
  74: 'KPMINUS',
  75: 'KP4',
  76: 'KP5',
  77: 'KP6',
  78: 'KPPLUS',
  79: 'KP1',
  80: 'KP2',
  81: 'KP3',
  82: 'KP0',
  83: 'KPDOT',
  86: '102ND',
  87: 'F11',
  88: 'F12',
  96: 'KPENTER',
  97: 'RIGHTCTRL',
  98: 'KPSLASH',
  99: 'SYSRQ',
  100: 'RIGHTALT',
  102: 'HOME',
  103: 'UP',
  104: 'PAGEUP',
  105: 'LEFT',
  106: 'RIGHT',
  107: 'END',
  108: 'DOWN',
  109: 'PAGEDOWN',
  110: 'INSERT',
  111: 'DELETE',
  112: 'MACRO',
  113: 'MUTE',
  138: 'HELP',
  179: 'KPLEFTPAREN',
  180: 'KPRIGHTPAREN',
};

/** "KEY_A", "BTN_LEFT", or "KEY_<n>" for an unnamed code. */
export function keyName(code: number): string {
  if (code === BTN_LEFT) return 'BTN_LEFT';
  if (code === BTN_RIGHT) return 'BTN_RIGHT';
  if (code === BTN_MIDDLE) return 'BTN_MIDDLE';
  const n = NAMED[code];
  return n !== undefined ? `KEY_${n}` : `KEY_${code}`;
}

const BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(NAMED).map(([k, v]) => [v, Number(k)]));

/** Friendly aliases accepted by the console back-end's `press`/`release`/`tap`. */
const ALIASES: Record<string, string> = {
  ESCAPE: 'ESC',
  RETURN: 'ENTER',
  SHIFT: 'LEFTSHIFT',
  LSHIFT: 'LEFTSHIFT',
  RSHIFT: 'RIGHTSHIFT',
  CTRL: 'LEFTCTRL',
  CONTROL: 'LEFTCTRL',
  LCTRL: 'LEFTCTRL',
  RCTRL: 'RIGHTCTRL',
  ALT: 'LEFTALT',
  LALT: 'LEFTALT',
  RALT: 'RIGHTALT',
  ALTGR: 'RIGHTALT',
  CAPS: 'CAPSLOCK',
  NUM: 'NUMLOCK',
  SCROLL: 'SCROLLLOCK',
  DEL: 'DELETE',
  INS: 'INSERT',
  PGUP: 'PAGEUP',
  PGDN: 'PAGEDOWN',
  BS: 'BACKSPACE',
  PERIOD: 'DOT',
  QUOTE: 'APOSTROPHE',
  BACKQUOTE: 'GRAVE',
};

/**
 * Every key name `keycodeByName` knows, lower-case and without KEY_: the one table the
 * scenario checker warns against and the console back-end types from.
 */
export const KEY_NAMES: ReadonlySet<string> = new Set(
  [...Object.values(NAMED).filter((n) => n !== 'RESERVED'), ...Object.keys(ALIASES)].map((n) => n.toLowerCase()),
);

/** A key name ("a", "KEY_A", "Enter", "CapsLock", "RightAlt") -> Linux keycode, or undefined. */
export function keycodeByName(name: string): number | undefined {
  let n = name.toUpperCase().replace(/^KEY_/, '');
  n = ALIASES[n] ?? n;
  return BY_NAME[n];
}

/** visorinput table 1: single-byte scancode -> keycode (256 entries, 0 = KEY_RESERVED). */
export const SCANCODE_TABLE_1: readonly number[] = (() => {
  const t = new Array<number>(256).fill(0);
  t[0] = 41; // index 0 -> KEY_GRAVE
  for (let i = 1; i <= 83; i++) t[i] = i;
  t[86] = 86;
  t[87] = 87;
  t[88] = 88;
  t[90] = 179;
  t[91] = 180;
  t[92] = 55;
  t[93] = 55;
  t[94] = 78;
  t[95] = 138;
  t[96] = 96;
  t[97] = 97;
  t[98] = 98;
  t[99] = 179;
  t[100] = 180;
  t[101] = 98;
  for (let i = 102; i <= 113; i++) t[i] = i;
  return t;
})();

/** visorinput table 2: extended scancode (second byte) -> keycode. */
export const SCANCODE_TABLE_2: readonly number[] = (() => {
  const t = new Array<number>(256).fill(0);
  t[0x1c] = 96; // KEY_KPENTER
  t[0x1d] = 97; // KEY_RIGHTCTRL
  t[0x28] = 100; // KEY_RIGHTALT
  t[0x38] = 100; // KEY_RIGHTALT
  t[0x47] = 102; // KEY_HOME
  t[0x48] = 103; // KEY_UP
  t[0x49] = 104; // KEY_PAGEUP
  t[0x4b] = 105; // KEY_LEFT
  t[0x4d] = 106; // KEY_RIGHT
  t[0x4f] = 107; // KEY_END
  t[0x50] = 108; // KEY_DOWN
  t[0x51] = 109; // KEY_PAGEDOWN
  t[0x52] = 110; // KEY_INSERT
  t[0x53] = 111; // KEY_DELETE
  return t;
})();

/**
 * The guest's translation of a report's arg1: ≤ 0xFF indexes table 1; otherwise the
 * second byte indexes table 2 (the low byte, nominally 0xE0, is not checked).
 */
export function scancodeToKeycode(arg1: number): number {
  if (arg1 <= 0xff) return SCANCODE_TABLE_1[arg1];
  return SCANCODE_TABLE_2[(arg1 >> 8) & 0xff];
}

/**
 * The scancode a console partition sends for a Linux keycode: the PC set-1 make code
 * for ordinary keys (equal to the keycode for 1–88), the 0xE0-prefixed form
 * `(code << 8) | 0xE0` for extended keys, or the table-1 index the guest maps to it.
 * Undefined when the guest's tables cannot produce that keycode.
 */
export function keycodeToScancode(keycode: number): number | undefined {
  if (keycode >= 1 && keycode <= 88 && SCANCODE_TABLE_1[keycode] === keycode) return keycode;
  const ext = SCANCODE_TABLE_2.indexOf(keycode);
  if (ext > 0) return (ext << 8) | 0xe0;
  const one = SCANCODE_TABLE_1.indexOf(keycode);
  if (one > 0 || (one === 0 && keycode === 41)) return one;
  return undefined;
}
