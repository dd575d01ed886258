/**
 * The emulated machine: guest memory, the engine (clock + events), the guest kernel's
 * visorbus core, visorchipset and sysfs, the Command partition, and the service
 * partition back-ends — wired together, and a run loop that advances virtual time.
 * It knows nothing of scenarios or debuggers: the runner and the DAP host drive it.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { v5 as uuidv5 } from 'uuid';
import { Engine } from './engine/engine';
import { THREAD } from './engine/events';
import type { Timer } from './engine/clock';
import { GuestMemory } from './memory/guestmemory';
import { Sysfs } from './sysfs/sysfs';
import * as vsys from './sysfs/visorsysfs';
import { Kernel } from './kernel/guestkernel';
import { VisorBus, thrownText } from './visorbus/visorbus';
import { BusDevice } from './visorbus/visordevice';
import { VisorDriver } from './visorbus/driver';
import { VisorChipset } from './visorchipset/visorchipset';
import { VisorChannel } from './visorchannel/visorchannel';
import { CommandPartition, CONTROLVM_ADDR } from './backend/commandpartition';
import { BackendDevice, BackendHost, ServiceBackend } from './backend/servicepartition';
import { GUIDS } from './protocol/guid';
import { BUS_ROOT_DEVICE } from './protocol/controlvm';
import * as errno from './protocol/errno';
import { KernelOops, oopsReport, oopsSummary } from './kernel/oops';
import { FixKernelBugs, KernelBug, kernelBugFixes } from './kernel/kernelbugs';
import { HostFilePolicy, HostFiles } from './backend/hostfiles';
import { guardDriverCode, userDriverCodeComing } from './visorbus/driverguard';

/** Namespace for deterministic instance GUIDs (uuid v5 of "bus:dev"). */
const INSTANCE_NAMESPACE = '6f0c6a53-8a4c-4b59-9a55-7669736f7262';

export function instanceGuid(bus: number, dev: number): string {
  return uuidv5(`${bus}:${dev >>> 0}`, INSTANCE_NAMESPACE);
}

export interface EmulatorOptions {
  hz?: number;
  /** modprobe by module alias when a device has no driver (default on). */
  autoload?: boolean;
  /** channel_interrupt period in milliseconds (default: 10 jiffies, the kernel's). */
  pollIntervalMs?: number;
  /** Keep every event in memory (CLI --json, tests). */
  keepEvents?: boolean;
  /** Directory for relative paths (driver modules, disk images). */
  baseDir?: string;
  builtinDrivers?: Record<string, () => VisorDriver>;
  /** "visorbus:<guid>" -> driver name (modules.alias). */
  moduleAliases?: Record<string, string>;
  backends?: ServiceBackend[];
  /** User driver modules may be loaded (false in an untrusted workspace, `--no-user-drivers`). */
  allowUserDrivers?: boolean;
  /** Kernel defects to correct (kernel/kernelbugs.ts): true = all; default none, as the kernel. */
  fixKernelBugs?: FixKernelBugs;
  /** Where host files a scenario names may be (its folder, the workspace; or anywhere when opted in). */
  files?: HostFilePolicy;
}

export class EmulatorError extends Error {}

/** Why a `driver load ./module.js` is refused when user driver modules are off. */
export const USER_DRIVERS_OFF = 'user driver modules are turned off for this run (an untrusted workspace, or --no-user-drivers)';

export class Emulator {
  readonly engine: Engine;
  readonly memory = new GuestMemory();
  readonly sysfs = new Sysfs();
  readonly kernel: Kernel;
  readonly bus: VisorBus;
  readonly cp: CommandPartition;
  readonly chipset: VisorChipset;
  readonly backends: ServiceBackend[];
  /** Host files of this run: the policy, image locks, the images opened. */
  readonly hostFiles: HostFiles;
  autoload: boolean;
  private readonly builtins: Record<string, () => VisorDriver>;
  private readonly aliases: Record<string, string>;
  /** Source file of each loaded user driver (for the debugger's stack frames). */
  readonly driverFiles = new Map<string, string>();
  private changeListeners: (() => void)[] = [];
  private driverListeners: ((drv: VisorDriver) => void)[] = [];
  private readonly boundState = new Map<string, string>();

  /** The kernel defects this run corrects. */
  readonly fixes: ReadonlySet<KernelBug>;

  constructor(readonly opts: EmulatorOptions = {}) {
    this.engine = new Engine({ hz: opts.hz, keepAll: opts.keepEvents });
    this.hostFiles = new HostFiles(opts.files);
    this.autoload = opts.autoload ?? true;
    this.builtins = opts.builtinDrivers ?? {};
    this.aliases = opts.moduleAliases ?? {};
    const fixes = kernelBugFixes(opts.fixKernelBugs);
    if (typeof fixes === 'string') throw new EmulatorError(fixes);
    this.fixes = fixes;
    this.kernel = new Kernel(this.engine, this.memory, this.sysfs, fixes);
    this.bus = new VisorBus(this.engine, this.kernel, {
      modprobe: (alias) => this.modprobe(alias),
      changestateComplete: (d, paused, status) => this.chipset.changestateComplete(d, paused, status),
      changed: (d) => this.changed(d),
      driverRegistered: (drv) => {
        for (const f of this.driverListeners) f(drv);
      },
    });
    if (opts.pollIntervalMs !== undefined) this.bus.pollJiffies = Math.max(1, this.engine.clock.msToJiffies(opts.pollIntervalMs));
    this.kernel.runDriverTimer = (dev, label, fn) => {
      const d = dev as BusDevice;
      if (d.driver) this.bus.callDriver(d, `timer:${label}`, () => fn(), true);
      else {
        // A timer its driver did not cancel when it let go of the device: run it, but contain it.
        try {
          guardDriverCode(`timer '${label}' of ${d.name}`, fn);
        } catch (e) {
          const text = `timer '${label}' of ${d.name} threw after its driver let go of the device: ${thrownText(e)}`;
          this.engine.emit('error', d.name, text, { category: 'exception', callback: `timer:${label}`, device: d.id });
          this.engine.klog('err', d.name, text, undefined, true);
        }
      }
    };
    this.cp = new CommandPartition(this.engine, this.memory);
    const guestControlvm = VisorChannel.create(this.memory, CONTROLVM_ADDR, GUIDS.controlvm, 'controlvm', 'guest');
    if (typeof guestControlvm === 'string') throw new EmulatorError(guestControlvm);
    this.observeChannel(guestControlvm, 'controlvm');
    this.chipset = new VisorChipset(this.engine, this.memory, guestControlvm, this.bus, {
      autoload: () => this.autoload,
      fixed: (bug) => fixes.has(bug),
      prepareDeviceChannel: (ch, b, d) => this.prepareDeviceChannel(ch, b, d),
    });
    vsys.addVisorbusRoot(this.sysfs);
    vsys.addChipset(this.sysfs, this.chipset);
    const why = this.chipset.start();
    if (why) throw new EmulatorError(`visorchipset did not start: ${why}`);
    this.backends = opts.backends ?? [];
    const host = this.backendHost();
    for (const b of this.backends) b.attach(host);
  }

  /** Called when a driver registers, before it probes (the debugger wraps its callbacks). */
  onDriverRegistered(fn: (drv: VisorDriver) => void): void {
    this.driverListeners.push(fn);
  }

  onChanged(fn: () => void): () => void {
    this.changeListeners.push(fn);
    return () => (this.changeListeners = this.changeListeners.filter((f) => f !== fn));
  }

  /** Keep sysfs in step with the bus core after a topology or binding change. */
  private changed(dev?: BusDevice): void {
    if (dev) this.syncDevice(dev.id, dev);
    else {
      const present = new Set<string>();
      for (const d of this.bus.devices.values()) {
        present.add(d.id);
        this.syncDevice(d.id, d);
      }
      for (const key of [...this.boundState.keys()]) if (!present.has(key)) this.syncDevice(key, undefined);
    }
    for (const d of this.bus.drivers.keys()) vsys.addDriver(this.sysfs, d);
    for (const e of this.sysfs.list('/sys/bus/visorbus/drivers', false)) if (!this.bus.drivers.has(e.name)) vsys.removeDriver(this.sysfs, e.name);
    for (const l of this.changeListeners) l();
  }

  /** Bring one bus or device's sysfs entries in line with the model (key "2" or "2:0"). */
  private syncDevice(key: string, d: BusDevice | undefined): void {
    const live = d && this.bus.devices.get(VisorBus.key(d.busNo, d.devNo)) === d ? d : undefined;
    if (!live) {
      if (!this.boundState.has(key)) return;
      this.boundState.delete(key);
      const [b, dv] = key.split(':').map(Number);
      if (dv === undefined) vsys.removeBusDevice(this.sysfs, b, this.bus.devicesOn(b).length > 0);
      else vsys.removeDevice(this.sysfs, b, dv);
      return;
    }
    if (!this.boundState.has(key)) {
      if (live.isBus) vsys.addBusDevice(this.sysfs, this.bus, live);
      else vsys.addDevice(this.sysfs, live);
      this.boundState.set(key, '\0');
    }
    const state = live.driver?.name ?? '';
    if (!live.isBus && this.boundState.get(key) !== state) {
      vsys.syncBinding(this.sysfs, live);
      this.boundState.set(key, state);
    }
  }

  /** Guest-side channel of a device: pause guard and channel-operation events. */
  private prepareDeviceChannel(ch: VisorChannel, busNo: number, devNo: number): void {
    const name = `vbus${busNo}:dev${devNo}`;
    let owner: BusDevice | undefined; // the device this channel belongs to, found on first use
    ch.guard = () => {
      owner ??= this.bus.find(busNo, devNo);
      const d = owner;
      if (d && d.paused && d.driver && this.inDriverCallback(d)) return `${d.driver.name} touched the channel of ${name} while paused`;
      return undefined;
    };
    // The kernel lets a paused driver touch its channel (a plain memcpy): say so, do not refuse.
    ch.onGuardViolation = (message) =>
      this.engine.klog('warn', name, `channel access while paused: ${message}`, { category: 'pausedAccess', device: `${busNo}:${devNo}` });
    this.observeChannel(ch, name);
  }

  /** Oopses the guest kernel had (each also an error event and a kernel log report). */
  readonly oopses: KernelOops[] = [];
  private oopsHandler: ((o: KernelOops) => void) | undefined;

  /**
   * Where a kernel oops goes besides the log: the scenario run driving the emulator locates
   * it at its line. One handler, the newest run's: runs on one emulator follow each other, and
   * a list of them kept every finished run alive and gave it the later runs' oopses.
   */
  setOopsHandler(fn: ((o: KernelOops) => void) | undefined): void {
    this.oopsHandler = fn;
  }

  /** A kernel oops in a channel operation: an error event in the operation's frame, never a crash. */
  private reportOops(o: KernelOops): void {
    if (this.oopses.length < 100) this.oopses.push(o);
    const h = o.header;
    const data: Record<string, string | number | boolean> = { category: 'oops', kind: o.kind, fn: o.fn, channel: o.channel, report: oopsReport(o) };
    if (o.queue !== undefined) data.queue = o.queue;
    if (o.access) Object.assign(data, { offset: o.access.offset, length: o.access.length, address: o.access.address, write: o.access.write });
    if (h)
      Object.assign(data, {
        max_slots: h.max_slots,
        head: h.head,
        tail: h.tail,
        signal_size: h.signal_size,
        sig_base_offset: h.sig_base_offset,
        ch_space_offset: h.ch_space_offset,
      });
    const device = o.channel === 'controlvm' ? 'controlvm' : o.channel.replace(/^vbus(\d+):dev(\d+)$/, '$1:$2');
    this.engine.within(
      { kind: 'channel', name: `${o.channel}: ${o.fn}${o.queue !== undefined ? `(queue ${o.queue})` : ''}`, thread: this.engine.log.currentThread(), device },
      () => {
        for (const line of oopsReport(o).split('\n')) this.engine.klogLines.push(line);
        this.engine.emit('error', o.channel, oopsSummary(o), data);
      },
    );
    this.oopsHandler?.(o);
  }

  private inDriverCallback(d: BusDevice): boolean {
    const frames = this.engine.log.frames;
    for (let i = frames.length - 1; i >= 0; i--) if (frames[i].kind === 'driver' && frames[i].device === d.id) return true;
    return false;
  }

  private observeChannel(ch: VisorChannel, subject: string): void {
    ch.onOops = (o) => this.reportOops(o);
    ch.observer = (c, op, detail) => {
      const what =
        op === 'read' || op === 'write'
          ? `${op}(offset 0x${(detail.offset ?? 0).toString(16)}, ${detail.length} bytes)`
          : `${op}(queue ${detail.queue})${detail.slot !== undefined ? ` slot ${detail.slot}` : ''}`;
      const text = `${what} -> ${detail.result}`;
      this.engine.within(
        {
          kind: 'channel',
          name: `${subject}: ${what}`,
          thread: this.engine.log.currentThread(),
          device: subject === 'controlvm' ? 'controlvm' : subject.replace(/^vbus(\d+):dev(\d+)$/, '$1:$2'),
        },
        () => {
          const data: Record<string, string | number | boolean> = { op, result: detail.result };
          if (detail.queue !== undefined) data.queue = detail.queue;
          if (detail.offset !== undefined) data.offset = detail.offset;
          if (detail.slot !== undefined) data.slot = detail.slot;
          this.engine.emit('channel', subject, text, data);
          if (op === 'signalinsert' && detail.result === -errno.EIO && this.queueFull(c, detail.queue!)) {
            this.engine.emit('error', subject, `signal queue ${detail.queue} overflow on ${subject}`, { category: 'overflow', queue: detail.queue! });
          }
        },
      );
    };
  }

  private queueFull(c: VisorChannel, q: number): boolean {
    const off = c.queueOffset(q);
    // A queue header outside the channel is the -EIO itself: never read past the channel.
    if (!Number.isSafeInteger(off) || off < 128 || off + 128 > c.nbytes) return false;
    try {
      const a = c.physaddr + off;
      const max = this.memory.readU32(a + 52);
      return max > 0 && (this.memory.readU32(a + 60) + 1) % max === this.memory.readU32(a + 72);
    } catch {
      return false;
    }
  }

  // ---- drivers --------------------------------------------------------------------------

  /**
   * `driver load NAME|PATH`. Returns an error text, or undefined on success. A path a scenario
   * names must be inside its folder or the workspace; `fromScenario: false` (the launch
   * configuration's own `drivers`) is the user's choice and may be anywhere.
   */
  loadDriver(nameOrPath: string, isPath: boolean, fromScenario = true): string | undefined {
    let drv: VisorDriver;
    let file: string | undefined;
    if (!isPath) {
      const make = this.builtins[nameOrPath];
      if (!make) return `unknown driver '${nameOrPath}' (built-in drivers: ${Object.keys(this.builtins).join(', ') || 'none'})`;
      if (this.bus.drivers.has(nameOrPath)) return undefined; // already loaded: like modprobe, nothing to do
      drv = make();
    } else {
      if (this.opts.allowUserDrivers === false) return `${USER_DRIVERS_OFF}; '${nameOrPath}' was not loaded (built-in drivers still work)`;
      const base = this.baseDirOverride ?? this.opts.baseDir ?? process.cwd();
      try {
        file = fromScenario ? this.hostFiles.resolve(nameOrPath, base, 'driver module') : path.resolve(base, nameOrPath);
      } catch (e) {
        return (e as Error).message;
      }
      const loaded = loadDriverModule(file);
      if (typeof loaded === 'string') return loaded;
      drv = loaded;
    }
    let rc: number;
    try {
      rc = this.bus.registerDriver(drv, !isPath);
    } catch (e) {
      // A module object that throws when its properties are read (a hostile proxy, a getter).
      return `driver module ${file ?? nameOrPath} could not be registered: ${thrownText(e)}`;
    }
    if (rc < 0) return `driver ${drv.name} was refused by visorbus (${rc}); see the kernel log`;
    if (file) this.driverFiles.set(drv.name, file);
    return undefined;
  }

  /** Resolve relative driver paths against `dir` while `fn` runs (the scenario's folder). */
  withBaseDir<T>(dir: string, fn: () => T): T {
    const prev = this.baseDirOverride;
    this.baseDirOverride = dir;
    try {
      return fn();
    } finally {
      this.baseDirOverride = prev;
    }
  }

  private baseDirOverride: string | undefined;

  unloadDriver(name: string): string | undefined {
    if (!this.bus.unregisterDriver(name)) return `driver '${name}' is not loaded`;
    return undefined;
  }

  private modprobe(modalias: string): boolean {
    const name = this.aliases[modalias];
    if (!name) {
      this.engine.klog('info', 'udev', `no module for ${modalias}`);
      return false;
    }
    if (this.bus.drivers.has(name)) return false;
    this.engine.klog('info', 'udev', `modprobe ${name} (alias ${modalias})`);
    return this.loadDriver(name, false) === undefined;
  }

  // ---- running --------------------------------------------------------------------------

  /** Run timers until `cond` holds or `maxJiffies` pass; true when the condition held. */
  runUntil(cond: () => boolean, maxJiffies: number): boolean {
    const clock = this.engine.clock;
    const limit = clock.jiffies + maxJiffies;
    while (!cond()) {
      const t = clock.popDue(limit);
      if (!t) {
        clock.jiffies = limit;
        return cond();
      }
      clock.jiffies = t.due;
      this.runTimer(t);
    }
    return true;
  }

  /** A timer's function inside its frame (built once per timer). */
  private runTimer(t: Timer): void {
    const frames = this.engine.log.frames;
    frames.push((t.frame ??= { kind: 'timer', name: t.label, thread: t.thread }));
    try {
      t.fn(t.arg);
    } finally {
      frames.pop();
    }
  }

  /** Advance virtual time by `jiffies`, running every timer due on the way (runUntil without a condition to ask). */
  advance(jiffies: number): void {
    const clock = this.engine.clock;
    const limit = clock.jiffies + jiffies;
    for (;;) {
      const t = clock.popDue(limit);
      if (!t) break;
      clock.jiffies = t.due;
      this.runTimer(t);
    }
    clock.jiffies = limit;
  }

  /** Run timers due at the current jiffy (work already queued for "now"). */
  settle(): void {
    this.runUntil(() => false, 0);
  }

  // ---- lookups for the runner, the debugger and the views -------------------------------

  device(bus: number, dev: number): BusDevice | undefined {
    return this.bus.find(bus, dev);
  }

  busDevice(bus: number): BusDevice | undefined {
    return this.bus.find(bus, BUS_ROOT_DEVICE);
  }

  /** The back-end's knowledge of a device (its channel), whether or not the guest created it. */
  readonly backendDevices = new Map<string, BackendDevice>();

  private backendHost(): BackendHost {
    return {
      engine: this.engine,
      memory: this.memory,
      guest: this.kernel.guest,
      schedule: (bus, delay, label, fn) => {
        const t = this.engine.clock.schedule(delay, THREAD.backend(bus), label, () =>
          this.engine.within({ kind: 'backend', name: label, thread: THREAD.backend(bus) }, fn),
        );
        return () => this.engine.clock.cancel(t);
      },
      allocDma: (bytes, align) => this.kernel.allocDma(bytes, align),
      device: (bus, dev) => this.backendDevices.get(`${bus}:${dev}`),
      counter: (name, delta) => this.kernel.counter(name, delta),
      files: this.hostFiles,
    };
  }

  backendFor(typeGuid: string): ServiceBackend | undefined {
    return this.backends.find((b) => b.typeGuids.includes(typeGuid));
  }

  shutdown(): void {
    for (const b of this.backends) b.shutdown?.();
  }
}

/** Load a user driver module (CommonJS). Accepts `module.exports = driver`, `exports.driver`, `exports.default`, or a factory. */
export function loadDriverModule(file: string): VisorDriver | string {
  if (/\.ts$/.test(file)) return `cannot load ${file}: compile TypeScript drivers to JavaScript first (tsc), then load the .js file`;
  let mod: unknown;
  userDriverCodeComing();
  try {
    const req = createRequire(file);
    mod = guardDriverCode(`loading driver module ${file}`, () => req(file));
  } catch (e) {
    return `cannot load driver module ${file}: ${thrownText(e).split('\n')[0]}`;
  }
  let cand: unknown;
  try {
    const m = mod as Record<string, unknown>;
    cand = m && typeof m === 'object' && ('driver' in m ? m.driver : 'default' in m ? m.default : m);
    if (typeof mod === 'function') cand = mod;
  } catch (e) {
    return `driver module ${file}: reading its exports threw: ${thrownText(e)}`;
  }
  if (typeof cand === 'function') {
    try {
      const factory = cand as (api: unknown) => unknown;
      cand = guardDriverCode(`driver module ${file}: its factory`, () => factory({ errno, guids: GUIDS }));
    } catch (e) {
      return `driver module ${file}: factory threw: ${thrownText(e)}`;
    }
  }
  try {
    const d = cand as Partial<VisorDriver> | undefined;
    if (!d || typeof d !== 'object' || typeof d.name !== 'string' || !Array.isArray(d.channelTypes)) {
      return `driver module ${file} does not export a visor driver (an object with name, channelTypes, probe, remove, pause, resume)`;
    }
    return d as VisorDriver;
  } catch (e) {
    return `driver module ${file}: reading the driver threw: ${thrownText(e)}`;
  }
}
