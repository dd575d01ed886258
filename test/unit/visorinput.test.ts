import * as assert from 'node:assert/strict';
import { le16, le64, put16, put64 } from './helpers/bytes';
import { RealBus } from './helpers/realbus';
import { createVisorinput } from '../../src/emulator/drivers/visorinput';
import { ConsolePartition } from '../../src/emulator/backend/consolepartition';
import { GUIDS } from '../../src/emulator/protocol/guid';
import { InputDevice } from '../../src/emulator/guest/input';
import { EV, keyName, BTN_LEFT, BTN_RIGHT, REL_WHEEL, ABS_X, ABS_Y } from '../../src/emulator/drivers/keycodes';
import { handle_locking_key, type VisorinputData } from '../../src/emulator/drivers/visorinput';
import type { VisorDevice } from '../../src/emulator/visorbus/driver';
import { KEY_CAPSLOCK } from '../../src/emulator/guest/keymap';
import { KEY_NAMES, keycodeByName, LED_CAPSL } from '../../src/emulator/drivers/keycodes';
import { parseScenario } from '../../src/emulator/scenario/parser';

function setup(): { bus: RealBus; console: ConsolePartition } {
  const bus = new RealBus();
  const console = new ConsolePartition();
  bus.addBackend(console);
  return { bus, console };
}

/** A raw 16-byte report the way a console partition writes it. */
function report(action: number, arg1 = 0, arg2 = 0, arg3 = 0, seq = 1): Uint8Array {
  const b = new Uint8Array(16);
  put64(b, 0, seq);
  put16(b, 8, action);
  put16(b, 10, arg1);
  put16(b, 12, arg2);
  put16(b, 14, arg3);
  return b;
}

function keyEvents(d: InputDevice): string[] {
  return d.events.filter((e) => e.type === EV.KEY).map((e) => `${keyName(e.code)}=${e.value}`);
}

describe('visorinput', () => {
  it('claims keyboard and mouse channels with the reference descriptors', () => {
    const drv = createVisorinput();
    assert.equal(drv.name, 'visorinput');
    assert.deepEqual(drv.channelTypes, [
      { guid: 'c73416d0-b0b8-44af-b304-9d2ae99f1b3d', name: 'keyboard', minBytes: 128, version: 0 },
      { guid: 'addf07d4-94a9-46e2-81c3-61abcdbdbd87', name: 'mouse', minBytes: 128, version: 0 },
    ]);
  });

  it('a keyboard channel gives one "visor Keyboard" input device with the final driver ids', () => {
    const { bus } = setup();
    const dev = bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    const devs = bus.guest.input.of('3:0');
    assert.deepEqual(
      devs.map((d) => d.name),
      ['visor Keyboard'],
    );
    const cls = devs[0].className;
    assert.equal(bus.kernel.cat('input', cls, 'name'), 'visor Keyboard\n');
    assert.equal(bus.kernel.cat('input', cls, 'phys'), 'visorkbd:input0\n');
    assert.equal(bus.kernel.cat('input', cls, 'id/bustype'), '0006\n');
    assert.equal(bus.kernel.cat('input', cls, 'id/vendor'), '0001\n');
    assert.equal(bus.kernel.cat('input', cls, 'id/product'), '0001\n');
    assert.equal(bus.kernel.cat('input', cls, 'id/version'), '0100\n');
    assert.equal((dev.driverData as VisorinputData).kind, 'keyboard');
    assert.equal(dev.pollActive, false, 'no polling before a reader opens the device');
  });

  it('a mouse channel gives "visor Mouse" and "visor Wheel" (the 2016 documentation)', () => {
    const { bus } = setup();
    bus.create(3, 1, GUIDS.mouse, createVisorinput());
    const devs = bus.guest.input.of('3:1');
    assert.deepEqual(
      devs.map((d) => d.name),
      ['visor Mouse', 'visor Wheel'],
    );
    const mouse = devs[0];
    assert.equal(bus.kernel.cat('input', mouse.className, 'id/product'), '0002\n');
    assert.equal(bus.kernel.cat('input', mouse.className, 'phys'), 'visormou:input0\n');
    // x_res / y_res are 0 in a freshly initialised channel: the driver defaults to 1024 x 768.
    assert.equal(mouse.absinfo.get(ABS_X)?.max, 1024);
    assert.equal(mouse.absinfo.get(ABS_Y)?.max, 768);
  });

  it('reads the mouse resolution from channel offsets 132/134', () => {
    const { bus, console } = setup();
    const drv = createVisorinput();
    bus.create(3, 1, GUIDS.mouse, drv, { noProbe: true });
    bus.command('mouse', '3:1', 'resolution', [800, 600]);
    const dev = bus.dev('3:1');
    assert.equal(bus.memory.readU16(dev.channel.physaddr + 132), 800);
    assert.equal(bus.memory.readU16(dev.channel.physaddr + 134), 600);
    drv.probe(dev);
    const mouse = bus.guest.input.byName('visor Mouse')!;
    assert.equal(mouse.absinfo.get(ABS_X)?.max, 800);
    assert.equal(mouse.absinfo.get(ABS_Y)?.max, 600);
    void console;
  });

  it('input reports are 16 bytes: seq_no @0, action @8, arg1 @10, arg2 @12, arg3 @14; the first lands in slot 1', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('keyboard', '3:0', 'raw', [], { action: 66, arg1: 0x3a, arg2: 1, arg3: 0x1234 });
    const peer = bus.peer('3:0');
    const ch = bus.dev('3:0').channel;
    // queue 0 header at ch_space_offset 136; slots start sig_base_offset (128) after it.
    const qh = new Uint8Array(128);
    ch.read(136, qh);
    assert.equal(le16(qh, 48), 16, 'signal_size');
    assert.equal(qh[60], 1, 'head moved to slot 1');
    const slot = new Uint8Array(16);
    ch.read(136 + 128 + 1 * 16, slot);
    assert.equal(le64(slot, 0), 1n);
    assert.equal(le16(slot, 8), 66);
    assert.equal(le16(slot, 10), 0x3a);
    assert.equal(le16(slot, 12), 1);
    assert.equal(le16(slot, 14), 0x1234);
    assert.equal(peer.signalEmpty(0), false);
  });

  it('polls only while a reader has the device open', () => {
    const { bus } = setup();
    const dev = bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('keyboard', '3:0', 'type', ['a']);
    bus.run(100);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    assert.equal(kbd.events.length, 0, 'nothing read while closed');
    assert.equal(bus.peer('3:0').signalEmpty(0), false);
    bus.command('input', '3:0', 'open');
    assert.equal(dev.pollActive, true);
    bus.run(10);
    assert.equal(kbd.text, 'a');
    assert.equal(bus.peer('3:0').signalEmpty(0), true);
    bus.command('input', '3:0', 'close');
    assert.equal(dev.pollActive, false);
    bus.command('keyboard', '3:0', 'type', ['b']);
    bus.run(50);
    assert.equal(kbd.text, 'a');
  });

  it('typed text becomes key events on "visor Keyboard", Shift around shifted characters', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    bus.command('keyboard', '3:0', 'type', ['Hi!']);
    bus.run(20);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    assert.deepEqual(keyEvents(kbd), [
      'KEY_LEFTSHIFT=1',
      'KEY_H=1',
      'KEY_H=0',
      'KEY_LEFTSHIFT=0',
      'KEY_I=1',
      'KEY_I=0',
      'KEY_LEFTSHIFT=1',
      'KEY_1=1',
      'KEY_1=0',
      'KEY_LEFTSHIFT=0',
    ]);
    // every key event is followed by a SYN_REPORT
    const types = kbd.events.map((e) => e.type);
    for (let i = 0; i < types.length; i += 2) {
      assert.equal(types[i], EV.KEY);
      assert.equal(types[i + 1], EV.SYN);
    }
    assert.equal(kbd.text, 'Hi!');
    const c = bus.counters();
    assert.equal(c['input "visor Keyboard" text'], 'Hi!');
    assert.equal(c['input "visor Keyboard".keys'], 5);
    assert.equal(c['input 3:0 keys'], 5);
  });

  it('translates scancodes through table 1 and table 2 (low byte of an extended code unchecked)', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    const peer = bus.peer('3:0');
    const codes = [0x00, 0x1e, 0x5a, 0x38e0, 0x4800, 0x1c00, 0x5f, 0x54, 0x2200];
    for (const sc of codes) assert.equal(peer.signalInsert(0, report(67, sc)), 0);
    bus.run(10);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    const presses = kbd.events.filter((e) => e.type === EV.KEY && e.value === 1).map((e) => keyName(e.code));
    // 0x54 (table 1) and 0x22 in table 2 map to KEY_RESERVED, which the input core drops.
    assert.deepEqual(presses, ['KEY_GRAVE', 'KEY_A', 'KEY_KPLEFTPAREN', 'KEY_RIGHTALT', 'KEY_UP', 'KEY_KPENTER', 'KEY_HELP']);
    assert.equal(kbd.counts.ignored, 4, 'two unmapped scancodes, press and release each');
  });

  it('press / release / tap use KEY_DOWN, KEY_UP and KEY_DOWN_UP; a key already down is not reported twice', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    bus.command('keyboard', '3:0', 'press', ['LeftCtrl']);
    bus.command('keyboard', '3:0', 'press', ['LeftCtrl']);
    bus.command('keyboard', '3:0', 'tap', ['c']);
    bus.command('keyboard', '3:0', 'release', ['LeftCtrl']);
    bus.command('keyboard', '3:0', 'tap', ['RightAlt']);
    bus.run(10);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    assert.deepEqual(keyEvents(kbd), ['KEY_LEFTCTRL=1', 'KEY_C=1', 'KEY_C=0', 'KEY_LEFTCTRL=0', 'KEY_RIGHTALT=1', 'KEY_RIGHTALT=0']);
  });

  it('SET_LOCKING_KEY_STATE toggles the LED (with a press and release) only when it differs', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    bus.command('keyboard', '3:0', 'lock', ['caps', 'on']);
    bus.run(10);
    assert.deepEqual(keyEvents(kbd), ['KEY_CAPSLOCK=1', 'KEY_CAPSLOCK=0']);
    assert.equal(kbd.ledNames(), 'CAPSL');
    bus.command('keyboard', '3:0', 'lock', ['caps', 'on']);
    bus.run(10);
    assert.equal(keyEvents(kbd).length, 2, 'already locked: nothing reported');
    bus.command('keyboard', '3:0', 'lock', ['num', 'on']);
    bus.command('keyboard', '3:0', 'lock', ['caps', 'off']);
    bus.run(10);
    assert.equal(kbd.ledNames(), 'NUML');
    assert.equal(bus.counters()['input "visor Keyboard" leds'], 'NUML');
    // Caps Lock was pressed twice: typed letters are plain again.
    bus.command('keyboard', '3:0', 'type', ['x']);
    bus.run(10);
    assert.equal(kbd.text, 'x');
  });

  it('capabilities/* print as input_print_bitmap does: 64-bit %lx words, most significant first, space-separated, leading zero words dropped', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.create(3, 1, GUIDS.mouse, createVisorinput());
    const kbd = bus.guest.input.byName('visor Keyboard')!.attrs();
    const mouse = bus.guest.input.byName('visor Mouse')!.attrs();
    assert.equal(kbd['capabilities/ev'](), '120003\n', 'EV_SYN, EV_KEY, EV_LED, EV_REP');
    assert.equal(kbd['capabilities/led'](), '7\n', 'NUML, CAPSL, SCROLLL');
    assert.equal(mouse['capabilities/key'](), '70000 0 0 0 0\n', 'BTN_LEFT/RIGHT/MIDDLE (0x110-0x112) in word 4');
    assert.equal(mouse['capabilities/abs'](), '3\n');
    assert.equal(mouse['capabilities/led'](), '0\n');
    const words = kbd['capabilities/key']().trim().split(' ');
    assert.ok(words.length > 1 && words.every((w) => /^[0-9a-f]+$/.test(w) && w.length <= 16), words.join(' '));
    assert.notEqual(words[0], '0', 'no leading zero word');
  });

  it('SET_LOCKING_KEY_STATE compares the LED bit with the raw arg2 (visorinput.c handle_locking_key): arg2 = 2 toggles on every report', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    const peer = bus.peer('3:0');
    for (let i = 0; i < 3; i++) assert.equal(peer.signalInsert(0, report(66, 0x3a, 2)), 0);
    bus.run(10);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    assert.deepEqual(keyEvents(kbd), ['KEY_CAPSLOCK=1', 'KEY_CAPSLOCK=0', 'KEY_CAPSLOCK=1', 'KEY_CAPSLOCK=0', 'KEY_CAPSLOCK=1', 'KEY_CAPSLOCK=0']);
    assert.equal(kbd.ledNames(), 'CAPSL', 'three toggles from off');
  });

  it('mouse actions: absolute motion, buttons 1-3 only, click and double click, wheel on "visor Wheel"', () => {
    const { bus } = setup();
    bus.create(3, 1, GUIDS.mouse, createVisorinput());
    bus.command('input', '3:1', 'open');
    bus.command('mouse', '3:1', 'move', [100, 200]);
    bus.command('mouse', '3:1', 'move', [100, 250]);
    bus.command('mouse', '3:1', 'click', ['right']);
    bus.command('mouse', '3:1', 'dclick');
    bus.command('mouse', '3:1', 'raw', [], { action: 2, arg1: 4 }); // button 4: ignored
    bus.command('mouse', '3:1', 'wheel', [2]);
    bus.command('mouse', '3:1', 'wheel', [-1]);
    bus.run(10);
    const mouse = bus.guest.input.byName('visor Mouse')!;
    const wheel = bus.guest.input.byName('visor Wheel')!;
    const abs = mouse.events.filter((e) => e.type === EV.ABS).map((e) => [e.code, e.value]);
    assert.deepEqual(
      abs,
      [
        [ABS_X, 100],
        [ABS_Y, 200],
        [ABS_Y, 250],
      ],
      'an axis that did not move is not reported',
    );
    const btn = mouse.events.filter((e) => e.type === EV.KEY).map((e) => [e.code, e.value]);
    assert.deepEqual(btn, [
      [BTN_RIGHT, 1],
      [BTN_RIGHT, 0],
      [BTN_LEFT, 1],
      [BTN_LEFT, 0],
      [BTN_LEFT, 1],
      [BTN_LEFT, 0],
    ]);
    const rel = wheel.events.filter((e) => e.type === EV.REL).map((e) => [e.code, e.value]);
    assert.deepEqual(rel, [
      [REL_WHEEL, 1],
      [REL_WHEEL, 1],
      [REL_WHEEL, -1],
    ]);
    assert.equal(mouse.events.filter((e) => e.type === EV.REL).length, 0);
    const c = bus.counters();
    assert.equal(c['input "visor Wheel" wheel'], 1);
    assert.equal(c['input "visor Mouse" buttons'], 3);
    assert.equal(c['input "visor Mouse" x'], 100);
    assert.equal((bus.dev('3:1').driverData as VisorinputData).reportsIgnored, 1);
  });

  it('pause stops polling and completes; resume completes and polls again', () => {
    const { bus } = setup();
    const dev = bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    assert.equal(bus.pause('3:0'), 0);
    assert.deepEqual(dev.completions, [{ op: 'pause', status: 0 }]);
    assert.equal(dev.pollActive, false);
    bus.command('keyboard', '3:0', 'type', ['ok']);
    bus.run(100);
    const kbd = bus.guest.input.byName('visor Keyboard')!;
    assert.equal(kbd.text, '', 'paused: nothing read');
    assert.equal(bus.resume('3:0'), 0);
    assert.deepEqual(dev.completions, [
      { op: 'pause', status: 0 },
      { op: 'resume', status: 0 },
    ]);
    assert.equal(dev.pollActive, true);
    bus.run(10);
    assert.equal(kbd.text, 'ok');
  });

  // One refusal per device: visorchipset keeps the pending header of a refused CHANGESTATE, so
  // every later CHANGESTATE of that device is answered -EIO without reaching the driver.
  it('pause while paused is -EBUSY', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    assert.equal(bus.pause('3:0'), 0);
    assert.equal(bus.pause('3:0'), -16, 'pause while paused');
  });

  it('resume while running is -EBUSY', () => {
    const { bus } = setup();
    const dev = bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    assert.equal(bus.resume('3:0'), -16, 'resume while not paused');
    assert.deepEqual(dev.completions, []);
  });

  it('resume does not start polling when no reader has the device open', () => {
    const { bus } = setup();
    const dev = bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    assert.equal(bus.pause('3:0'), 0);
    bus.command('input', '3:0', 'open'); // opened while paused: no polling yet
    assert.equal(dev.pollActive, false);
    bus.command('input', '3:0', 'close');
    assert.equal(bus.resume('3:0'), 0);
    assert.equal(dev.pollActive, false);
  });

  it('no keystroke is lost when the 49-report queue fills: the rest waits in the back-end', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    const text = 'the quick brown fox jumps over the lazy dog';
    bus.command('keyboard', '3:0', 'type', [text]); // 86 reports
    let c = bus.counters();
    assert.equal(c['keyboard 3:0 sent'], 49);
    assert.equal(c['keyboard 3:0 pending'], 86 - 49);
    bus.run(30);
    bus.command('input', '3:0', 'open');
    bus.runUntil(() => bus.counters()['keyboard 3:0 pending'] === 0, 1000);
    bus.run(20);
    assert.equal(bus.guest.input.byName('visor Keyboard')!.text, text);
    c = bus.counters();
    assert.equal(c['keyboard 3:0 sent'], 86);
    assert.ok(Number(c['keyboard 3:0 overflows']) > 0);
  });

  it('partition recovery keeps undelivered reports and delivers them after the resume', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    bus.command('input', '3:0', 'open');
    bus.command('keyboard', '3:0', 'type', ['x'.repeat(40)]); // 80 reports, 31 wait in the outbox
    bus.recover(3);
    bus.runUntil(() => bus.counters()['keyboard 3:0 pending'] === 0, 1000);
    bus.run(20);
    assert.equal(bus.guest.input.byName('visor Keyboard')!.text, 'x'.repeat(40));
  });

  it('remove unregisters the input devices', () => {
    const { bus } = setup();
    bus.create(3, 1, GUIDS.mouse, createVisorinput());
    assert.equal(bus.kernel.names('input').length, 2);
    bus.destroy('3:1');
    assert.equal(bus.kernel.names('input').length, 0);
    assert.equal(bus.guest.input.of('3:1').length, 0);
  });

  it('rejects bad console commands with clear errors', () => {
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    assert.throws(() => bus.command('keyboard', '3:0', 'type', ['é']), /cannot type "é"/);
    assert.throws(() => bus.command('keyboard', '3:0', 'press', ['NoSuchKey']), /unknown key 'NoSuchKey'/);
    assert.throws(() => bus.command('keyboard', '3:0', 'jump'), /unknown keyboard command 'jump'/);
    assert.throws(() => bus.command('mouse', '3:0', 'wheel', [0]), /non-zero/);
    assert.throws(() => bus.command('input', '3:0', 'open', [], { name: 'visor Wheel' }), /no input device named "visor Wheel"/);
  });

  it('handle_locking_key alone: presses the lock key and lights its LED only when the LED differs; other scancodes are no lock key', () => {
    const log: string[] = [];
    const dev = { info: (t: string) => log.push(t) } as unknown as VisorDevice;
    const kbd = new InputDevice('visor Keyboard', 'visorkbd:input0', { bustype: 6, vendor: 1, product: 1, version: 0x100 }, '3:0', () => 0);
    kbd.evbits.add(EV.SYN).add(EV.KEY).add(EV.LED);
    kbd.keybits.add(KEY_CAPSLOCK);
    kbd.ledbits.add(LED_CAPSL);
    assert.equal(handle_locking_key(dev, kbd, 0x3a, 1), true);
    assert.deepEqual(keyEvents(kbd), ['KEY_CAPSLOCK=1', 'KEY_CAPSLOCK=0']);
    assert.equal(kbd.ledNames(), 'CAPSL');
    assert.deepEqual(log, ['KEY_CAPSLOCK LED on']);
    // Already lit: nothing is pressed.
    assert.equal(handle_locking_key(dev, kbd, 0x3a, 1), true);
    assert.equal(keyEvents(kbd).length, 2);
    // 0x1e is "a": not a lock key, the report is ignored.
    assert.equal(handle_locking_key(dev, kbd, 0x1e, 1), false);
    assert.equal(keyEvents(kbd).length, 2);
    assert.equal(kbd.ledNames(), 'CAPSL');
  });

  it('one key-name table: the scenario checker warns exactly about the names the console back-end cannot type', () => {
    const warnings = (key: string): string[] => parseScenario(`keyboard 3:0 press ${key}`, 'k.visor').diagnostics.map((d) => d.message);
    for (const name of KEY_NAMES) assert.notEqual(keycodeByName(name), undefined, name);
    for (const ok of ['enter', 'Enter', 'KEY_A', 'altgr', 'kp7', 'f12']) assert.deepEqual(warnings(ok), [], ok);
    for (const bad of ['leftmeta', 'f13', 'entr']) assert.match(warnings(bad).join(), /unknown key name/, bad);
    const { bus } = setup();
    bus.create(3, 0, GUIDS.keyboard, createVisorinput());
    assert.throws(() => bus.command('keyboard', '3:0', 'press', ['leftmeta']), /leftmeta/i, 'the back-end refuses what the checker warns about');
  });
});
