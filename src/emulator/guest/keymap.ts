/**
 * The guest console's US keymap: which character a key press produces, with and
 * without Shift. Used to show what a user "typed" on a visor keyboard as text, the
 * way a terminal reading the input device would see it, and by the console back-end
 * to turn text into key strokes.
 */

/** keycode -> [plain, shifted]. */
export const US_KEYMAP: Readonly<Record<number, readonly [string, string]>> = {
  2: ['1', '!'],
  3: ['2', '@'],
  4: ['3', '#'],
  5: ['4', '$'],
  6: ['5', '%'],
  7: ['6', '^'],
  8: ['7', '&'],
  9: ['8', '*'],
  10: ['9', '('],
  11: ['0', ')'],
  12: ['-', '_'],
  13: ['=', '+'],
  15: ['\t', '\t'],
  16: ['q', 'Q'],
  17: ['w', 'W'],
  18: ['e', 'E'],
  19: ['r', 'R'],
  20: ['t', 'T'],
  21: ['y', 'Y'],
  22: ['u', 'U'],
  23: ['i', 'I'],
  24: ['o', 'O'],
  25: ['p', 'P'],
  26: ['[', '{'],
  27: [']', '}'],
  28: ['\n', '\n'],
  30: ['a', 'A'],
  31: ['s', 'S'],
  32: ['d', 'D'],
  33: ['f', 'F'],
  34: ['g', 'G'],
  35: ['h', 'H'],
  36: ['j', 'J'],
  37: ['k', 'K'],
  38: ['l', 'L'],
  39: [';', ':'],
  40: ["'", '"'],
  41: ['`', '~'],
  43: ['\\', '|'],
  44: ['z', 'Z'],
  45: ['x', 'X'],
  46: ['c', 'C'],
  47: ['v', 'V'],
  48: ['b', 'B'],
  49: ['n', 'N'],
  50: ['m', 'M'],
  51: [',', '<'],
  52: ['.', '>'],
  53: ['/', '?'],
  55: ['*', '*'],
  57: [' ', ' '],
  71: ['7', '7'],
  72: ['8', '8'],
  73: ['9', '9'],
  74: ['-', '-'],
  75: ['4', '4'],
  76: ['5', '5'],
  77: ['6', '6'],
  78: ['+', '+'],
  79: ['1', '1'],
  80: ['2', '2'],
  81: ['3', '3'],
  82: ['0', '0'],
  83: ['.', '.'],
  96: ['\n', '\n'],
  98: ['/', '/'],
};

export const KEY_LEFTSHIFT = 42;
export const KEY_RIGHTSHIFT = 54;
export const KEY_CAPSLOCK = 58;
export const KEY_NUMLOCK = 69;
export const KEY_SCROLLLOCK = 70;
export const KEY_BACKSPACE = 14;

/** Character -> [keycode, needs shift]; undefined when the US layout cannot type it. */
export function charToKey(ch: string): [number, boolean] | undefined {
  for (const [code, [plain, shifted]] of Object.entries(US_KEYMAP)) {
    const c = Number(code);
    if (c >= 71 && c !== 96 && c !== 98) continue; // prefer the main block over the keypad
    if (plain === ch) return [c, false];
    if (shifted === ch && shifted !== plain) return [c, true];
  }
  return undefined;
}
