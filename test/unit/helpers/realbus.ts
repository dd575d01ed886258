/**
 * The driver and back-end tests' bus: the real Emulator (visorchipset, visorbus core with
 * callDriver, the channel guard and frames, the guest kernel and sysfs) driven through the
 * real scenario runner. `chipset init`, `bus create`, `device create`, `device pause`,
 * `device resume`, `device destroy` and `partition recover` are scenario lines run by a
 * ScenarioRun; back-end commands go to the emulator's back-ends the way the runner's
 * `backend` step sends them. A driver given to `create` is loaded as a built-in
 * (`emu.loadDriver`), and the device binds through the bus's own probe.
 *
 * The tests talk to the channels the way a peer would: through VisorChannel on guest
 * memory (`peer`), never through driver internals.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Emulator } from '../../../src/emulator/emulator';
import { THREAD } from '../../../src/emulator/engine/events';
import { ScenarioRun } from '../../../src/emulator/scenario/runner';
import { parseScenario } from '../../../src/emulator/scenario/parser';
import { VisorChannel } from '../../../src/emulator/visorchannel/visorchannel';
import type { BusDevice } from '../../../src/emulator/visorbus/visordevice';
import type { VisorDriver } from '../../../src/emulator/visorbus/driver';
import type { BackendDevice, ServiceBackend } from '../../../src/emulator/backend/servicepartition';
import type { KernelBug } from '../../../src/emulator/kernel/kernelbugs';

export interface CreateOptions {
  bytes?: number;
  version?: number;
  /** Create the device with no driver loaded for it (it stays unbound). */
  noProbe?: boolean;
  /**
   * Fill the channel the way its IO partition would, after it is laid out and before the
   * guest gets DEVICE_CREATE (so the driver's probe reads it). `base` is the channel's address.
   */
  prepare?: (base: number) => void;
}

/** The test acting as the service partition of a channel type: fills a new channel before the guest sees it. */
class TestPartition implements ServiceBackend {
  readonly families: readonly string[] = [];
  typeGuids: string[] = [];
  prepare: ((base: number) => void) | undefined;

  attach(): void {}

  command(): void {
    throw new Error('the test partition takes no commands');
  }

  deviceCreated(dev: BackendDevice): void {
    this.prepare?.(dev.physaddr);
  }
}

/** The guest kernel as the tests look at it: sysfs class attributes, DMA, counters. */
export class KernelView {
  constructor(private readonly emu: Emulator) {}

  /** `cat /sys/class/<cls>/<name>/<attr>` (block: /sys/block/<name>/<attr>). */
  cat(cls: string, name: string, attr: string): string {
    return this.emu.sysfs.read(`${this.dir(cls, name)}/${attr}`);
  }

  echo(cls: string, name: string, attr: string, value: string): void {
    this.emu.sysfs.write(`${this.dir(cls, name)}/${attr}`, value);
  }

  names(cls: string): string[] {
    return this.emu.sysfs.list(`/sys/class/${cls}`, false).map((e) => e.name);
  }

  allocDma(bytes: number, align?: number): number {
    return this.emu.kernel.allocDma(bytes, align);
  }

  /** DMA regions still mapped (allocated and not freed). */
  get dmaInUse(): number {
    return this.emu.memory.listRegions().filter((r) => r.label.startsWith('dma@')).length;
  }

  counter(name: string, delta = 0): number {
    return this.emu.kernel.counter(name, delta);
  }

  private dir(cls: string, name: string): string {
    return cls === 'block' ? `/sys/block/${name}` : `/sys/class/${cls}/${name}`;
  }
}

/** A bus device as the tests see it: the real BusDevice plus what happened to it. */
export type RealDevice = BusDevice & {
  readonly pollActive: boolean;
  /** Completion calls of pause/resume, from the bus's `complete` events. */
  readonly completions: { op: 'pause' | 'resume'; status: number }[];
  /** Kernel log lines about this device. */
  readonly log: string[];
  logText(): string;
};

export class RealBus {
  private emuInstance: Emulator | undefined;
  private readonly testPartition = new TestPartition();
  private readonly pendingBackends: ServiceBackend[] = [this.testPartition];
  private readonly drivers: Record<string, () => VisorDriver> = {};
  private readonly buses = new Set<number>();
  private readonly peers = new Map<string, VisorChannel>();

  constructor(private readonly opts: { hz?: number; fixKernelBugs?: KernelBug[] } = {}) {}

  /** The emulator, built at first use with the back-ends added so far. */
  get emu(): Emulator {
    if (!this.emuInstance) {
      this.emuInstance = new Emulator({
        hz: this.opts.hz ?? 1000,
        keepEvents: true,
        autoload: false,
        builtinDrivers: this.drivers,
        backends: this.pendingBackends,
        fixKernelBugs: this.opts.fixKernelBugs,
        baseDir: os.tmpdir(),
      });
      this.exec('chipset init');
    }
    return this.emuInstance;
  }

  get memory() {
    return this.emu.memory;
  }

  get engine() {
    return this.emu.engine;
  }

  /** The guest kernel's block, net, input and SCSI subsystems of this run. */
  get guest() {
    return this.emu.kernel.guest;
  }

  get kernel(): KernelView {
    return new KernelView(this.emu);
  }

  addBackend(b: ServiceBackend): this {
    if (this.emuInstance) throw new Error('add the back-ends before the first use of the bus');
    this.pendingBackends.push(b);
    return this;
  }

  /** Run scenario lines through the real runner; a line that fails throws. */
  exec(text: string): ScenarioRun {
    // The buses created by earlier lines are declared again for the parser, and not run again.
    const declared = [...this.buses].map((b) => `bus create ${b}\n`);
    const sc = parseScenario(declared.join('') + text + '\n', path.join(os.tmpdir(), 'realbus.visor'));
    const errs = sc.diagnostics.filter((d) => d.severity === 'error');
    if (errs.length) throw new Error(`scenario errors in ${JSON.stringify(text)}: ${errs.map((d) => d.message).join('; ')}`);
    const run = new ScenarioRun(this.emu, sc);
    run.index = declared.length;
    run.runToEnd();
    if (run.errors.length) throw new Error(`${text}: ${run.errors.map((e) => e.message).join('; ')}`);
    return run;
  }

  /** `device create` on `bus` (created if new); with a driver, load it first so the device binds. */
  create(bus: number, devNo: number, typeGuid: string, driver: VisorDriver | undefined, opts: CreateOptions = {}): RealDevice {
    const emu = this.emu;
    if (!this.buses.has(bus)) {
      this.exec(`bus create ${bus}`);
      this.buses.add(bus);
    }
    if (driver && !opts.noProbe && !emu.bus.drivers.has(driver.name)) {
      this.drivers[driver.name] = () => driver;
      const err = emu.loadDriver(driver.name, false);
      if (err) throw new Error(err);
    }
    const extra = `${opts.bytes !== undefined ? ` bytes=${opts.bytes}` : ''}${opts.version !== undefined ? ` version=${opts.version}` : ''}`;
    if (opts.prepare) {
      if (emu.backendFor(typeGuid)) throw new Error(`a back-end already serves ${typeGuid}: prepare is for tests that act as its partition`);
      this.testPartition.typeGuids = [typeGuid];
      this.testPartition.prepare = opts.prepare;
    }
    try {
      this.exec(`device create ${bus}:${devNo} type=${typeGuid}${extra}`);
    } finally {
      this.testPartition.typeGuids = [];
      this.testPartition.prepare = undefined;
    }
    const dev = this.dev(`${bus}:${devNo}`);
    if (driver && !opts.noProbe && !dev.driver) throw new Error(`probe failed: ${dev.name} is not bound (${this.klog(dev.name).join(' | ')})`);
    return dev;
  }

  /** The peer's (service side's) view of a device's channel. */
  peer(id: string): VisorChannel {
    let p = this.peers.get(id);
    const bd = this.backendDevice(id);
    if (!p || p.physaddr !== bd.physaddr) {
      const ch = VisorChannel.create(this.memory, bd.physaddr, bd.typeGuid, `peer ${id}`);
      if (typeof ch === 'string') throw new Error(ch);
      p = ch;
      this.peers.set(id, p);
    }
    return p;
  }

  dev(id: string): RealDevice {
    const [b, d] = id.split(':').map(Number);
    const dev = this.emu.device(b, d);
    if (!dev) throw new Error(`no device ${id}`);
    return this.view(dev);
  }

  backendDevice(id: string): BackendDevice {
    const bd = this.emu.backendDevices.get(id);
    if (!bd) throw new Error(`no device ${id}`);
    return bd;
  }

  destroy(id: string): void {
    this.exec(`device destroy ${id}`);
  }

  /** `device pause`; returns what the driver's pause() returned. */
  pause(id: string): number {
    return this.changestate(id, 'pause');
  }

  /** `device resume`; returns what the driver's resume() returned. */
  resume(id: string): number {
    return this.changestate(id, 'resume');
  }

  private changestate(id: string, op: 'pause' | 'resume'): number {
    const dev = this.dev(id);
    const from = this.emu.engine.log.events().length;
    this.exec(`device ${op} ${id}`);
    const ret = this.emu.engine.log
      .events()
      .slice(from)
      .find((e) => e.kind === 'return' && e.data?.device === dev.id && e.data?.callback === op);
    if (!ret) throw new Error(`device ${op} ${id}: the driver's ${op}() was not called`);
    return Number(ret.data?.result ?? 0);
  }

  /** `partition recover BUS`: pause all, recover, resume all. */
  recover(bus: number): void {
    this.exec(`partition recover ${bus}`);
  }

  /** A back-end command, sent the way the runner's `backend` step sends it. */
  command(family: string, id: string, verb: string, positional: (string | number)[] = [], options: Record<string, string | number> = {}, baseDir = '.'): void {
    const device = this.backendDevice(id);
    const emu = this.emu;
    const be = emu.backends.find((b) => b.families.includes(family) && (family === 'fault' ? b.typeGuids.includes(device.typeGuid) : true));
    if (!be) throw new Error(`no back-end for ${family}`);
    emu.engine.within({ kind: 'backend', name: `${family} ${verb} ${id}`, thread: THREAD.backend(device.bus), device: id }, () =>
      be.command({ family, device, verb, positional, options, baseDir }),
    );
    emu.settle();
  }

  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    for (const b of this.emu.backends) Object.assign(out, b.counters?.() ?? {});
    return out;
  }

  /** Advance the virtual clock by `jiffies`, running every timer that falls due. */
  run(jiffies: number): void {
    this.emu.advance(jiffies);
  }

  /** Run until `pred` holds, at most `limit` jiffies; returns the jiffies used. */
  runUntil(pred: () => boolean, limit = 100000): number {
    const start = this.emu.engine.clock.jiffies;
    while (!pred()) {
      if (this.emu.engine.clock.jiffies - start >= limit) throw new Error(`condition not reached within ${limit} jiffies`);
      this.run(1);
    }
    return this.emu.engine.clock.jiffies - start;
  }

  shutdown(): void {
    this.emu.shutdown();
  }

  private klog(subject: string): string[] {
    return this.emu.engine.klogLines.filter((l) => l.includes(subject));
  }

  private view(dev: BusDevice): RealDevice {
    const events = () => this.emu.engine.log.events();
    if (Object.prototype.hasOwnProperty.call(dev, 'pollActive')) return dev as RealDevice;
    // Test-only read-outs on the device object itself, so that what the drivers and the tests see is one object.
    const extra: PropertyDescriptorMap = {
      pollActive: { get: () => dev.timerActive },
      completions: {
        get: () =>
          events()
            .filter((e) => e.kind === 'complete' && e.data?.device === dev.id)
            .map((e) => ({ op: e.data?.pause ? ('pause' as const) : ('resume' as const), status: Number(e.data?.status) })),
      },
      log: { get: () => this.klog(dev.name) },
      logText: { value: () => this.klog(dev.name).join('\n') },
    };
    return Object.defineProperties(dev, extra) as RealDevice;
  }
}
