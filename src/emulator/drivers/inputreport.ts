/**
 * `struct visor_inputreport` (ultrainputreport.h, reference §7.5): the 16-byte report
 * a console partition puts on queue 0 of a keyboard or mouse channel, and the
 * `visor_input_channel_data` block at channel offset 128.
 */

export const INPUT_REPORT_BYTES = 16;
/** Queue the reports travel on (the guest reads queue 0). */
export const INPUT_QUEUE = 0;

export const REPORT = { seq_no: 0, action: 8, arg1: 10, arg2: 12, arg3: 14 } as const;

/** Channel offsets of visor_input_channel_data. */
export const INPUT_CHANNEL_DATA = { n_input_reports: 128, x_res: 132, y_res: 134, flags: 132 } as const;

/** Action codes (INPUTACTION_* of the final driver; 8 was the old set_max_xy). */
export const INPUTACTION = {
  NONE: 0,
  XY_MOTION: 1,
  MOUSE_BUTTON_DOWN: 2,
  MOUSE_BUTTON_UP: 3,
  MOUSE_BUTTON_CLICK: 4,
  MOUSE_BUTTON_DCLICK: 5,
  WHEEL_ROTATE_AWAY: 6,
  WHEEL_ROTATE_TOWARD: 7,
  SET_MAX_XY: 8,
  KEY_DOWN: 64,
  KEY_UP: 65,
  SET_LOCKING_KEY_STATE: 66,
  KEY_DOWN_UP: 67,
} as const;

export const INPUTACTION_NAMES: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'XY_MOTION',
  2: 'MOUSE_BUTTON_DOWN',
  3: 'MOUSE_BUTTON_UP',
  4: 'MOUSE_BUTTON_CLICK',
  5: 'MOUSE_BUTTON_DCLICK',
  6: 'WHEEL_ROTATE_AWAY',
  7: 'WHEEL_ROTATE_TOWARD',
  8: 'set_max_xy',
  64: 'KEY_DOWN',
  65: 'KEY_UP',
  66: 'SET_LOCKING_KEY_STATE',
  67: 'KEY_DOWN_UP',
};

/** Mouse button numbers in arg1. */
export const MOUSE_BUTTON = { LEFT: 1, MIDDLE: 2, RIGHT: 3 } as const;

export interface InputReport {
  seqNo: bigint;
  action: number;
  arg1: number;
  arg2: number;
  arg3: number;
}

export function encodeInputReport(r: InputReport): Uint8Array {
  const b = new Uint8Array(INPUT_REPORT_BYTES);
  const v = new DataView(b.buffer);
  v.setBigUint64(REPORT.seq_no, BigInt.asUintN(64, r.seqNo), true);
  v.setUint16(REPORT.action, r.action, true);
  v.setUint16(REPORT.arg1, r.arg1, true);
  v.setUint16(REPORT.arg2, r.arg2, true);
  v.setUint16(REPORT.arg3, r.arg3, true);
  return b;
}

export function decodeInputReport(b: Uint8Array): InputReport {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    seqNo: v.getBigUint64(REPORT.seq_no, true),
    action: v.getUint16(REPORT.action, true),
    arg1: v.getUint16(REPORT.arg1, true),
    arg2: v.getUint16(REPORT.arg2, true),
    arg3: v.getUint16(REPORT.arg3, true),
  };
}
