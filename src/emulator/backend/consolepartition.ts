/**
 * The console partition's keyboard and mouse back-end (reference §7.5): it turns a
 * user's typing and mouse actions into 16-byte input reports on queue 0 of the
 * device's keyboard or mouse channel — KEY_DOWN / KEY_UP with PC set-1 scancodes
 * (Shift pressed around shifted characters; extended keys as `(code << 8) | 0xE0`),
 * XY_MOTION with absolute coordinates, button and wheel actions, and
 * SET_LOCKING_KEY_STATE.
 *
 * Reports that do not fit (the queue holds 49) wait in the back-end's outbox and go
 * out on later polls of its thread, one jiffy apart, so no keystroke is lost while the
 * guest is not reading (no reader, or the device is paused).
 *
 * Scenario commands:
 *   keyboard B:D type "text" | press KEY | release KEY | tap KEY
 *   keyboard B:D lock caps|num|scroll on|off | raw action=N [arg1=N] [arg2=N] [arg3=N]
 *   mouse B:D move X Y | click|dclick|down|up [left|right|middle] | wheel N | resolution W H
 *   input B:D open|close [name="visor Wheel"]   (a user-space reader opens the guest's input device)
 */
import { MAX_INPUT_BACKLOG, MAX_WHEEL_STEPS } from '../limits';
import type { BackendCommand, BackendDevice, BackendHost, ServiceBackend } from './servicepartition';
import { VisorChannel } from '../visorchannel/visorchannel';
import { GUIDS } from '../protocol/guid';
import { encodeInputReport, INPUT_CHANNEL_DATA, INPUT_QUEUE, INPUTACTION, INPUTACTION_NAMES, MOUSE_BUTTON } from '../drivers/inputreport';
import { keycodeByName, keycodeToScancode, keyName } from '../drivers/keycodes';
import { charToKey, KEY_LEFTSHIFT } from '../guest/keymap';
import { devId, numOpt, requireType, strOpt, toNumber, unknownVerb } from './iopartition-cmdargs';

interface ConsoleDevice {
  dev: BackendDevice;
  channel: VisorChannel;
  outbox: Uint8Array[];
  seq: bigint;
  sent: number;
  overflows: number;
}

const KEYBOARD_VERBS = ['type', 'press', 'release', 'tap', 'lock', 'raw'] as const;
const MOUSE_VERBS = ['move', 'click', 'dclick', 'down', 'up', 'wheel', 'resolution', 'raw'] as const;
const INPUT_VERBS = ['open', 'close'] as const;

export class ConsolePartition implements ServiceBackend {
  readonly families = ['keyboard', 'mouse', 'input'] as const;
  readonly typeGuids = [GUIDS.keyboard, GUIDS.mouse] as const;
  private host: BackendHost | undefined;
  private readonly devices = new Map<string, ConsoleDevice>();
  private readonly pollCancel = new Map<number, () => void>();

  attach(host: BackendHost): void {
    this.host = host;
  }

  private get h(): BackendHost {
    if (!this.host) throw new Error('console partition back-end is not attached');
    return this.host;
  }

  deviceCreated(dev: BackendDevice): void {
    const ch = VisorChannel.create(this.h.memory, dev.physaddr, dev.typeGuid, `console ${dev.id}`);
    if (typeof ch === 'string') {
      this.event(dev.id, `cannot map the channel of ${dev.id}: ${ch}`);
      return;
    }
    this.devices.set(devId(dev), { dev, channel: ch, outbox: [], seq: 0n, sent: 0, overflows: 0 });
  }

  deviceDestroyed(dev: BackendDevice): void {
    const c = this.devices.get(devId(dev));
    if (!c) return;
    if (c.outbox.length) this.event(dev.id, `device destroyed with ${c.outbox.length} undelivered input report(s); they are discarded with the channel`);
    this.devices.delete(devId(dev));
  }

  /** `partition recover`: the console partition restarts; undelivered reports stay queued and go out after the resume. */
  recover(bus: number): void {
    for (const c of this.devices.values()) {
      if (c.dev.bus !== bus) continue;
      this.event(c.dev.id, `console partition recovered; ${c.outbox.length} report(s) still waiting are delivered after the resume`);
      this.flush(c);
    }
  }

  shutdown(): void {
    for (const cancel of this.pollCancel.values()) cancel();
    this.pollCancel.clear();
  }

  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = this.host ? this.h.guest.input.counters() : {};
    for (const c of this.devices.values()) {
      const fam = c.dev.typeGuid === GUIDS.mouse ? 'mouse' : 'keyboard';
      out[`${fam} ${c.dev.id} sent`] = c.sent;
      out[`${fam} ${c.dev.id} pending`] = c.outbox.length;
      out[`${fam} ${c.dev.id} overflows`] = c.overflows;
    }
    return out;
  }

  command(cmd: BackendCommand): void {
    if (cmd.family === 'input') return this.inputCommand(cmd);
    requireType(cmd, this.typeGuids, 'a keyboard or mouse device');
    const c = this.devices.get(devId(cmd.device));
    if (!c) throw new Error(`${cmd.family} ${cmd.verb}: device ${cmd.device.id} has no usable channel`);
    const reports = cmd.family === 'keyboard' ? this.keyboardReports(cmd) : this.mouseReports(cmd, c);
    if (!reports.length) return;
    let dropped = 0;
    for (const [action, arg1, arg2, arg3] of reports) {
      // A guest that reads nothing: like a full device queue, the oldest input is lost.
      if (c.outbox.length >= MAX_INPUT_BACKLOG) {
        c.outbox.shift();
        dropped++;
      }
      c.outbox.push(encodeInputReport({ seqNo: ++c.seq, action, arg1, arg2, arg3 }));
    }
    if (dropped) {
      c.overflows += dropped;
      this.event(cmd.device.id, `the guest has not read ${MAX_INPUT_BACKLOG} input reports: the ${dropped} oldest were dropped`);
    }
    const names = [...new Set(reports.map((r) => INPUTACTION_NAMES[r[0]] ?? String(r[0])))].join('/');
    this.event(cmd.device.id, `${cmd.family} ${cmd.verb}: ${reports.length} report(s) (${names}) for queue ${INPUT_QUEUE}`);
    this.flush(c);
  }

  private inputCommand(cmd: BackendCommand): void {
    if (!(INPUT_VERBS as readonly string[]).includes(cmd.verb)) throw unknownVerb(cmd, INPUT_VERBS);
    const all = this.h.guest.input.of(devId(cmd.device));
    const name = strOpt(cmd, 'name') ?? (cmd.positional[0] !== undefined ? String(cmd.positional[0]) : undefined);
    const targets = name ? all.filter((d) => d.name === name || d.className === name) : all;
    if (!all.length) throw new Error(`input ${cmd.verb}: device ${cmd.device.id} has no input device (is visorinput loaded and bound to it?)`);
    if (!targets.length)
      throw new Error(`input ${cmd.verb}: device ${cmd.device.id} has no input device named "${name}" (it has ${all.map((d) => `"${d.name}"`).join(', ')})`);
    for (const d of targets) {
      if (cmd.verb === 'open') {
        const rc = d.open();
        if (rc < 0) throw new Error(`input open: opening ${d.className} ("${d.name}") failed with ${rc}`);
      } else d.close();
    }
    this.event(cmd.device.id, `a reader ${cmd.verb === 'open' ? 'opened' : 'closed'} ${targets.map((d) => `${d.className} "${d.name}"`).join(', ')}`);
  }

  private keyboardReports(cmd: BackendCommand): [number, number, number, number][] {
    const r: [number, number, number, number][] = [];
    const arg = cmd.positional[0];
    switch (cmd.verb) {
      case 'type': {
        if (arg === undefined) throw new Error('keyboard type: missing "text"');
        const text = String(arg);
        const shift = keycodeToScancode(KEY_LEFTSHIFT)!;
        [...text].forEach((ch, i) => {
          const k = charToKey(ch === '\r' ? '\n' : ch);
          if (!k) throw new Error(`keyboard type: cannot type ${JSON.stringify(ch)} (character ${i + 1} of the text) on a US keyboard`);
          const sc = keycodeToScancode(k[0])!;
          if (k[1]) r.push([INPUTACTION.KEY_DOWN, shift, 0, 0]);
          r.push([INPUTACTION.KEY_DOWN, sc, 0, 0]);
          r.push([INPUTACTION.KEY_UP, sc, 0, 0]);
          if (k[1]) r.push([INPUTACTION.KEY_UP, shift, 0, 0]);
        });
        return r;
      }
      case 'press':
      case 'release':
      case 'tap': {
        const sc = this.scancodeOf(arg, cmd.verb);
        const action = cmd.verb === 'press' ? INPUTACTION.KEY_DOWN : cmd.verb === 'release' ? INPUTACTION.KEY_UP : INPUTACTION.KEY_DOWN_UP;
        r.push([action, sc, 0, 0]);
        return r;
      }
      case 'lock': {
        const which = String(arg ?? '').toLowerCase();
        const key = { caps: 'CAPSLOCK', capslock: 'CAPSLOCK', num: 'NUMLOCK', numlock: 'NUMLOCK', scroll: 'SCROLLLOCK', scrolllock: 'SCROLLLOCK' }[which];
        if (!key) throw new Error(`keyboard lock: expected caps, num or scroll, got '${arg ?? ''}'`);
        const state = String(cmd.positional[1] ?? '').toLowerCase();
        if (state !== 'on' && state !== 'off') throw new Error(`keyboard lock ${which}: expected on or off, got '${cmd.positional[1] ?? ''}'`);
        r.push([INPUTACTION.SET_LOCKING_KEY_STATE, keycodeToScancode(keycodeByName(key)!)!, state === 'on' ? 1 : 0, 0]);
        return r;
      }
      case 'raw':
        return [this.rawReport(cmd)];
      default:
        throw unknownVerb(cmd, KEYBOARD_VERBS);
    }
  }

  private scancodeOf(arg: string | number | undefined, verb: string): number {
    if (arg === undefined) throw new Error(`keyboard ${verb}: missing KEY (a key name like a, Enter, LeftShift, RightAlt, or a scancode like 0x1e)`);
    if (typeof arg === 'number' || /^0x[0-9a-f]+$/i.test(arg)) {
      const n = toNumber(arg, 'scancode');
      if (n < 0 || n > 0xffff) throw new Error(`keyboard ${verb}: scancode ${arg} does not fit in 16 bits`);
      return n;
    }
    let code = keycodeByName(arg);
    if (code === undefined && [...arg].length === 1) code = charToKey(arg)?.[0];
    if (code === undefined) throw new Error(`keyboard ${verb}: unknown key '${arg}'`);
    const sc = keycodeToScancode(code);
    if (sc === undefined) throw new Error(`keyboard ${verb}: ${keyName(code)} has no scancode the guest can translate`);
    return sc;
  }

  private rawReport(cmd: BackendCommand): [number, number, number, number] {
    const action = numOpt(cmd, 'action', NaN);
    if (Number.isNaN(action)) throw new Error(`${cmd.family} raw: missing action=N`);
    const vals = [action, numOpt(cmd, 'arg1', 0), numOpt(cmd, 'arg2', 0), numOpt(cmd, 'arg3', 0)];
    for (const v of vals) if (v < 0 || v > 0xffff) throw new Error(`${cmd.family} raw: ${v} does not fit in a u16`);
    return vals as [number, number, number, number];
  }

  private mouseReports(cmd: BackendCommand, c: ConsoleDevice): [number, number, number, number][] {
    const button = (): number => {
      const b = String(cmd.positional[0] ?? 'left').toLowerCase();
      const n = b === 'left' ? MOUSE_BUTTON.LEFT : b === 'middle' ? MOUSE_BUTTON.MIDDLE : b === 'right' ? MOUSE_BUTTON.RIGHT : undefined;
      if (n === undefined) throw new Error(`mouse ${cmd.verb}: expected left, right or middle, got '${b}'`);
      return n;
    };
    const u16 = (v: string | number | undefined, what: string): number => {
      const n = toNumber(v, what);
      if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new Error(`mouse ${cmd.verb}: ${what} must be 0…65535, got ${v}`);
      return n;
    };
    switch (cmd.verb) {
      case 'move':
        return [[INPUTACTION.XY_MOTION, u16(cmd.positional[0], 'X'), u16(cmd.positional[1], 'Y'), 0]];
      case 'click':
        return [[INPUTACTION.MOUSE_BUTTON_CLICK, button(), 0, 0]];
      case 'dclick':
        return [[INPUTACTION.MOUSE_BUTTON_DCLICK, button(), 0, 0]];
      case 'down':
        return [[INPUTACTION.MOUSE_BUTTON_DOWN, button(), 0, 0]];
      case 'up':
        return [[INPUTACTION.MOUSE_BUTTON_UP, button(), 0, 0]];
      case 'wheel': {
        const n = toNumber(cmd.positional[0], 'wheel steps');
        if (!Number.isInteger(n) || n === 0) throw new Error('mouse wheel: expected a non-zero number of steps (positive = away from the user)');
        if (Math.abs(n) > MAX_WHEEL_STEPS) throw new Error(`mouse wheel: ${n} steps is too many for one line (at most ${MAX_WHEEL_STEPS} either way)`);
        const action = n > 0 ? INPUTACTION.WHEEL_ROTATE_AWAY : INPUTACTION.WHEEL_ROTATE_TOWARD;
        return Array.from({ length: Math.abs(n) }, () => [action, 0, 0, 0] as [number, number, number, number]);
      }
      case 'resolution': {
        requireType(cmd, [GUIDS.mouse], 'a mouse device');
        const w = u16(cmd.positional[0], 'width');
        const h = u16(cmd.positional[1], 'height');
        this.h.memory.writeU16(c.dev.physaddr + INPUT_CHANNEL_DATA.x_res, w);
        this.h.memory.writeU16(c.dev.physaddr + INPUT_CHANNEL_DATA.y_res, h);
        this.event(c.dev.id, `mouse resolution set to ${w}x${h} in the channel (the guest reads it when it probes the device)`);
        return [];
      }
      case 'raw':
        return [this.rawReport(cmd)];
      default:
        throw unknownVerb(cmd, MOUSE_VERBS);
    }
  }

  /** Move reports from the outbox into the queue while there is room. */
  private flush(c: ConsoleDevice): void {
    while (c.outbox.length) {
      const rc = c.channel.signalInsert(INPUT_QUEUE, c.outbox[0]);
      if (rc !== 0) {
        c.overflows++;
        break;
      }
      c.outbox.shift();
      c.sent++;
    }
    if (c.outbox.length) this.schedulePoll(c.dev.bus);
  }

  private schedulePoll(bus: number): void {
    if (this.pollCancel.has(bus)) return;
    const cancel = this.h.schedule(bus, 1, 'console partition: deliver input reports', () => {
      this.pollCancel.delete(bus);
      for (const c of this.devices.values()) if (c.dev.bus === bus && c.outbox.length && this.devices.get(devId(c.dev)) === c) this.flush(c);
    });
    this.pollCancel.set(bus, cancel);
  }

  private event(subject: string, text: string): void {
    const e = this.host?.engine;
    if (!e) return;
    e.emit('backend', subject, `console partition: ${text}`);
  }
}
