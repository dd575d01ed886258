/**
 * Shared pieces of the robustness tests: a configurable misbehaving test driver, an
 * emulator factory, the bus/device tree consistency check, the controlvm status set of
 * the reference, a guest-memory access guard and a heap bound.
 */
import { Emulator, EmulatorOptions } from '../../../src/emulator/emulator';
import { EmuEvent } from '../../../src/emulator/engine/events';
import { GuestMemory } from '../../../src/emulator/memory/guestmemory';
import { VisorChannel } from '../../../src/emulator/visorchannel/visorchannel';
import { CompleteFunc, VisorDevice, VisorDriver } from '../../../src/emulator/visorbus/driver';
import { VisorBus } from '../../../src/emulator/visorbus/visorbus';
import { ScenarioRun } from '../../../src/emulator/scenario/runner';
import { parseScenario } from '../../../src/emulator/scenario/parser';

/** fast-check settings every property uses: fixed seed, bounded budget. */
export const SEED = 42;

/** Channel type claimed by the robustness test driver (header version 1, like any unknown type). */
export const ROBUST_GUID = '7e57d7e5-0b0b-4c0c-8d0d-00000000e5e5';

/**
 * completion_status values the kernel's visorchipset can put in a failed response
 * (reference §3.8, §4.3, §8 item 8): CONTROLVM_RESP 1, 4, 400, 1400 and the errnos it uses.
 */
export const ALLOWED_STATUSES: ReadonlySet<number> = new Set([0, 1, 2, 4, 5, 12, 16, 17, 19, 22, 400, 1400]);

export type Callback = 'probe' | 'remove' | 'pause' | 'resume' | 'channel_interrupt';

export interface DriverBehaviour {
  name?: string;
  guid?: string;
  /** Callbacks that throw. */
  throwIn?: readonly Callback[];
  /** pause/resume that never call their completion. */
  neverComplete?: readonly ('pause' | 'resume')[];
  /** Status passed to the completion (default 0). */
  completeStatus?: number;
  /** Enable channel_interrupt polling at probe and resume. */
  poll?: boolean;
  /** In channel_interrupt, echo queue 0 to queue 1 (the driver's "work"). */
  echo?: boolean;
  /** In channel_interrupt, also insert one signal into queue 1 (a producer). */
  produce?: boolean;
  /** In pause(), after completing, keep using the channel (a driver bug). */
  touchWhilePaused?: boolean;
  /** Return this from probe. */
  probeResult?: number;
}

export interface DriverLog {
  calls: string[];
  polls: Map<string, number>;
}

export function newDriverLog(): DriverLog {
  return { calls: [], polls: new Map() };
}

/** A function driver whose misbehaviour is chosen per test. */
export function robustDriver(log: DriverLog, b: DriverBehaviour = {}): VisorDriver {
  const name = b.name ?? 'robustdrv';
  const throws = (cb: Callback, dev: VisorDevice) => {
    if (b.throwIn?.includes(cb)) throw new Error(`${name} ${cb} failure on ${dev.name}`);
  };
  const buf = new Uint8Array(4096);
  return {
    name,
    channelTypes: [{ guid: b.guid ?? ROBUST_GUID, name: 'robusttype', minBytes: 128, version: 1 }],
    probe(dev) {
      log.calls.push(`probe ${dev.name}`);
      throws('probe', dev);
      if (b.probeResult) return b.probeResult;
      if (b.poll) dev.enableChannelInterrupts();
      return 0;
    },
    remove(dev) {
      log.calls.push(`remove ${dev.name}`);
      dev.disableChannelInterrupts();
      throws('remove', dev);
    },
    pause(dev, complete: CompleteFunc) {
      log.calls.push(`pause ${dev.name}`);
      if (!b.touchWhilePaused) dev.disableChannelInterrupts();
      throws('pause', dev);
      if (!b.neverComplete?.includes('pause')) complete(b.completeStatus ?? 0);
      if (b.touchWhilePaused) dev.channel.signalInsert(1, buf.subarray(0, 16));
      return 0;
    },
    resume(dev, complete: CompleteFunc) {
      log.calls.push(`resume ${dev.name}`);
      throws('resume', dev);
      if (b.poll) dev.enableChannelInterrupts();
      if (!b.neverComplete?.includes('resume')) complete(b.completeStatus ?? 0);
      return 0;
    },
    channelInterrupt(dev) {
      log.polls.set(dev.name, (log.polls.get(dev.name) ?? 0) + 1);
      throws('channel_interrupt', dev);
      if (b.echo !== false) {
        // Bounded: a corrupted ring must not make a driver loop forever either.
        for (let i = 0; i < 64 && dev.channel.signalRemove(0, buf) === 0; i++) dev.channel.signalInsert(1, buf);
      }
      if (b.produce) dev.channel.signalInsert(1, buf.subarray(0, 16));
    },
  };
}

/** An emulator with the given drivers (autoloaded by channel type), collecting error events. */
export function makeEmulator(drivers: Record<string, () => VisorDriver>, opts: EmulatorOptions = {}): { emu: Emulator; errors: EmuEvent[] } {
  const emu = new Emulator({
    builtinDrivers: drivers,
    moduleAliases: Object.fromEntries(Object.entries(drivers).map(([n, f]) => [`visorbus:${f().channelTypes[0].guid}`, n])),
    ...opts,
  });
  const errors: EmuEvent[] = [];
  emu.engine.log.onEvent((ev) => {
    if (ev.kind === 'error' && errors.length < 10000) errors.push(ev);
  });
  return { emu, errors };
}

/**
 * A scenario run on a test-driver emulator (the parser knows only the real driver names, so none
 * are loaded by name). With allowErrors, lines the parser rejects are left out (they produce no step).
 */
export function makeRun(
  text: string,
  drivers: Record<string, () => VisorDriver>,
  opts: EmulatorOptions = {},
  allowErrors = false,
): { run: ScenarioRun; errors: EmuEvent[] } {
  const sc = parseScenario(text, '/tmp/robust.visor');
  const bad = sc.diagnostics.filter((d) => d.severity === 'error');
  if (bad.length && !allowErrors) throw new Error('scenario errors: ' + bad.map((d) => `${d.line}:${d.column} ${d.message}`).join('; '));
  const { emu, errors } = makeEmulator(drivers, opts);
  return { run: new ScenarioRun(emu, sc), errors };
}

/**
 * Everything that makes the bus/device tree inconsistent: a device object without its sysfs
 * directory or bus link (or the reverse), a channel that is not mapped, a binding that
 * sysfs does not show, a poll timer without a driver.
 */
export function treeProblems(emu: Emulator): string[] {
  const p: string[] = [];
  const fs = emu.sysfs;
  const names = new Set<string>();
  for (const [key, d] of emu.bus.devices) {
    names.add(d.name);
    if (VisorBus.key(d.busNo, d.devNo) !== key) p.push(`${d.name} is filed under key ${key}`);
    if (!d.created) p.push(`${d.name} is in the device list but not created`);
    if (!fs.exists(d.sysfsPath)) p.push(`${d.name} has no sysfs directory ${d.sysfsPath}`);
    if (fs.readlink(`/sys/bus/visorbus/devices/${d.name}`) === undefined) p.push(`${d.name} has no /sys/bus/visorbus/devices entry`);
    const ch = d.visorchannel;
    if (!emu.memory.isMapped(ch.physaddr, ch.nbytes)) p.push(`${d.name}: channel 0x${ch.physaddr.toString(16)}+0x${ch.nbytes.toString(16)} is not mapped`);
    if (d.driver && emu.bus.drivers.get(d.driver.name) !== d.driver) p.push(`${d.name} is bound to unregistered driver ${d.driver.name}`);
    if (!d.isBus) {
      const link = fs.readlink(`${d.sysfsPath}/driver`);
      if (d.driver && link === undefined) p.push(`${d.name} is bound to ${d.driver.name} but sysfs shows no driver link`);
      if (!d.driver && link !== undefined) p.push(`${d.name} is unbound but sysfs shows driver link ${link}`);
    }
    if (d.timerActive && !d.driver) p.push(`${d.name} polls without a driver`);
  }
  for (const e of fs.list('/sys/bus/visorbus/devices', false)) if (!names.has(e.name)) p.push(`orphan sysfs entry /sys/bus/visorbus/devices/${e.name}`);
  for (const e of fs.list('/sys/devices', false)) {
    const m = /^visorbus(\d+)$/.exec(e.name);
    if (!m) continue;
    const children = fs.list(e.path, false).filter((c) => c.kind === 'dir' && c.name.startsWith('vbus'));
    if (!emu.busDevice(Number(m[1])) && children.length === 0) p.push(`orphan directory ${e.path}: no bus and no devices`);
    for (const c of children) if (!names.has(c.name)) p.push(`orphan device directory ${c.path}`);
  }
  return p;
}

/**
 * The back-end's channels against what it knows: every device channel region belongs to a
 * device the back-end knows, every known device's channel is mapped, every guest device
 * sits on a channel the back-end knows, and at most one bus channel per live bus.
 */
export function channelLeaks(emu: Emulator): string[] {
  const p: string[] = [];
  const known = new Map([...emu.backendDevices.values()].map((d) => [d.physaddr, d]));
  for (const r of emu.memory.listRegions()) {
    const dev = /^vbus(\d+):dev(\d+) channel$/.exec(r.label);
    if (dev && !known.has(r.base)) p.push(`leaked device channel region ${r.label} at 0x${r.base.toString(16)}`);
    const bus = /^visorbus(\d+) channel$/.exec(r.label);
    if (bus) {
      const b = emu.busDevice(Number(bus[1]));
      if (!b || b.visorchannel.physaddr !== r.base) p.push(`leaked bus channel region ${r.label} at 0x${r.base.toString(16)}`);
    }
  }
  for (const d of known.values()) if (!emu.memory.isMapped(d.physaddr, 1)) p.push(`device ${d.id}: its channel at 0x${d.physaddr.toString(16)} is not mapped`);
  for (const d of emu.bus.devices.values()) {
    if (d.isBus) continue;
    const bd = emu.backendDevices.get(d.id);
    if (!bd || bd.physaddr !== d.visorchannel.physaddr) p.push(`guest device ${d.name} is on a channel the back-end does not know`);
  }
  return p;
}

/** The channels the guest currently uses: the controlvm channel and every bus/device channel. */
export function guestChannels(emu: Emulator): VisorChannel[] {
  return [emu.chipset.controlvm, ...[...emu.bus.devices.values()].map((d) => d.visorchannel)];
}

interface ChannelHook {
  enter(ch: VisorChannel, op: string): void;
  creating(physaddr: number): void;
  leave(): void;
}

/** Guards by guest memory; the VisorChannel wrappers below look their guard up here. */
const channelHooks = new WeakMap<GuestMemory, ChannelHook>();
let hooksInstalled = false;

/**
 * Wrap the channel operations and visorchannel_create once for the whole test process; each
 * call finds the guard of its own guest memory (if any) and tells it which channel is active.
 */
function installChannelHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cp = VisorChannel.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const op of ['signalInsert', 'signalRemove', 'signalEmpty', 'read', 'write']) {
    const original = cp[op];
    cp[op] = function (this: VisorChannel, ...args: unknown[]) {
      const hook = channelHooks.get(this.memory);
      if (!hook) return original.apply(this, args);
      hook.enter(this, op);
      try {
        return original.apply(this, args);
      } finally {
        hook.leave();
      }
    };
  }
  const statics = VisorChannel as unknown as { create: (...a: unknown[]) => unknown };
  const create = statics.create;
  statics.create = function (this: unknown, memory: unknown, physaddr: unknown, ...rest: unknown[]) {
    const hook = channelHooks.get(memory as GuestMemory);
    if (!hook) return create.call(this, memory, physaddr, ...rest);
    hook.creating(Number(physaddr));
    try {
      return create.call(this, memory, physaddr, ...rest);
    } finally {
      hook.leave();
    }
  };
}

export interface AccessGuard {
  /** Accesses that left the channel being operated on, or that touched memory no channel or DMA buffer owns. */
  readonly violations: string[];
  /** Count of guarded accesses (to show the guard saw traffic). */
  readonly accesses: { reads: number; writes: number };
  /** Channel operations since the last resetOps(); past opsLimit each one throws (a runaway loop). */
  readonly ops: number;
  resetOps(): void;
  /** Run fn without checking (the test's own corruption writes, the back-end's set-up). */
  unguarded<T>(fn: () => T): T;
  restore(): void;
}

/**
 * Watch every guest-memory read and write. Inside a channel operation (signalinsert,
 * signalremove, signalempty, read, write) an access must lie within that channel's
 * [physaddr, physaddr + nbytes). Outside one, it must lie within some live channel, a DMA
 * buffer or the controlvm payload area.
 */
export function guardAccesses(emu: Emulator, extraAllowed: (addr: number, len: number) => boolean = () => false, opsLimit = 200000): AccessGuard {
  const mem = emu.memory;
  const violations: string[] = [];
  let ops = 0;
  const accesses = { reads: 0, writes: 0 };
  let off = 0;
  const stack: VisorChannel[] = [];
  const within = (addr: number, len: number, base: number, size: number) => addr >= base && addr + len <= base + size;
  const check = (kind: 'read' | 'write', addr: number, len: number) => {
    if (off > 0) return;
    if (kind === 'read') accesses.reads++;
    else accesses.writes++;
    const ch = stack[stack.length - 1];
    if (ch) {
      if (!within(addr, len, ch.physaddr, ch.nbytes) && violations.length < 50) {
        violations.push(`${kind} 0x${addr.toString(16)}+${len} outside channel ${ch.label} [0x${ch.physaddr.toString(16)}, +0x${ch.nbytes.toString(16)})`);
      }
      return;
    }
    const r = mem.regionOf(addr, len);
    const ok =
      (r !== undefined && (r.label.startsWith('dma@') || r.label === 'controlvm payload')) ||
      guestChannels(emu).some((c) => within(addr, len, c.physaddr, c.nbytes)) ||
      extraAllowed(addr, len);
    if (!ok && violations.length < 50)
      violations.push(`${kind} 0x${addr.toString(16)}+${len} outside every channel and DMA buffer (${r ? r.label : 'unmapped'})`);
  };
  // Instance properties shadow the prototype methods for this emulator's memory only.
  const m = mem as unknown as Record<string, unknown>;
  const proto = GuestMemory.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const wrapRead = (name: 'readU8' | 'readU16' | 'readU32', len: number) => {
    m[name] = function (this: GuestMemory, addr: number) {
      check('read', addr, len);
      return proto[name].call(this, addr);
    };
  };
  wrapRead('readU8', 1);
  wrapRead('readU16', 2);
  wrapRead('readU32', 4);
  m.readU64 = function (this: GuestMemory, addr: number) {
    check('read', addr, 8);
    off++;
    try {
      return proto.readU64.call(this, addr);
    } finally {
      off--;
    }
  };
  m.readInto = function (this: GuestMemory, addr: number, out: Uint8Array, outOffset = 0, len = out.length - outOffset) {
    check('read', addr, len);
    return proto.readInto.call(this, addr, out, outOffset, len);
  };
  m.read = function (this: GuestMemory, addr: number, len: number) {
    check('read', addr, len);
    off++;
    try {
      return proto.read.call(this, addr, len);
    } finally {
      off--;
    }
  };
  // A direct page view (fast paths read fields in place) is a read of that span.
  if (typeof proto.pageSpan === 'function') {
    m.pageSpan = function (this: GuestMemory, addr: number, len: number) {
      const page = proto.pageSpan.call(this, addr, len);
      if (page !== undefined) check('read', addr, len);
      return page;
    };
  }
  mem.setWriteWatcher((addr, len) => check('write', addr, len));
  // Attribute accesses to the channel operation that makes them (see installChannelHooks).
  installChannelHooks();
  channelHooks.set(mem, {
    enter(ch, op) {
      if (++ops > opsLimit) {
        const msg = `runaway: more than ${opsLimit} channel operations without an end (last: ${op} on ${ch.label})`;
        if (!violations.includes(msg)) violations.push(msg);
        throw new Error(msg);
      }
      stack.push(ch);
    },
    creating(physaddr) {
      // visorchannel_create reads the 128-byte header of the channel being created, nothing else.
      stack.push({ label: `creation at 0x${physaddr.toString(16)}`, physaddr, nbytes: 128 } as VisorChannel);
    },
    leave() {
      stack.pop();
    },
  });
  return {
    violations,
    accesses,
    get ops() {
      return ops;
    },
    resetOps() {
      ops = 0;
    },
    unguarded<T>(fn: () => T): T {
      off++;
      try {
        return fn();
      } finally {
        off--;
      }
    },
    restore() {
      for (const k of ['readU8', 'readU16', 'readU32', 'readU64', 'readInto', 'read', 'pageSpan']) delete m[k];
      mem.setWriteWatcher(undefined);
      channelHooks.delete(mem);
    },
  };
}

/** Heap in use after a full collection when the test runs with --expose-gc, else as is. */
export function heapUsed(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  return process.memoryUsage().heapUsed;
}

/** Run `fn`, turning any escaped exception into a readable failure with the input that caused it. */
export function describeInput(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}
