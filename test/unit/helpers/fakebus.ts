/**
 * A minimal visorbus for driver and back-end tests: guest memory with a DMA heap,
 * channels laid out the way the service side lays them out (channelinit), a
 * GuestKernel with timers on the virtual clock and a class-device table, VisorDevices
 * that call a driver's probe / remove / pause / resume and run its channel_interrupt
 * every 10 jiffies while enabled, and a BackendHost for the service partitions.
 *
 * The tests talk to the channels the way a peer would: through VisorChannel on guest
 * memory (`peerChannel`), never through driver internals.
 */
import { HostFiles } from '../../../src/emulator/backend/hostfiles';
import { Engine } from '../../../src/emulator/engine/engine';
import { THREAD } from '../../../src/emulator/engine/events';
import { GuestMemory } from '../../../src/emulator/memory/guestmemory';
import { initDeviceChannel, defaultChannelBytes, defaultChannelVersion } from '../../../src/emulator/backend/channelinit';
import { VisorChannel } from '../../../src/emulator/visorchannel/visorchannel';
import type { ClassDeviceSpec, CompleteFunc, DriverChannel, GuestKernel, VisorDevice, VisorDriver } from '../../../src/emulator/visorbus/driver';
import type { BackendCommand, BackendDevice, BackendHost, ServiceBackend } from '../../../src/emulator/backend/servicepartition';
import { roundUp } from '../../../src/emulator/protocol/layout';
import { sdName } from '../../../src/emulator/guest/block';
import type { KernelBug } from '../../../src/emulator/kernel/kernelbugs';

const DMA_BASE = 0x4000_0000;
const DMA_SIZE = 0x0400_0000; // 64 MiB
const CHANNEL_BASE = 0x1000_0000;

export interface ClassEntry {
  spec: ClassDeviceSpec;
  parent?: string;
}

export class FakeKernel implements GuestKernel {
  readonly classes = new Map<string, ClassEntry>();
  readonly counters = new Map<string, number>();
  private dmaNext = DMA_BASE;
  private readonly dmaLive = new Map<number, number>();

  constructor(readonly engine: Engine, readonly memory: GuestMemory) {
    memory.map(DMA_BASE, DMA_SIZE, 'dma');
  }

  get hz(): number {
    return this.engine.clock.hz;
  }

  jiffies(): number {
    return this.engine.clock.jiffies;
  }

  allocDma(bytes: number, align = 64): number {
    const addr = roundUp(this.dmaNext, align);
    if (addr + bytes > DMA_BASE + DMA_SIZE) throw new Error('fake DMA heap exhausted');
    this.dmaNext = addr + bytes;
    this.dmaLive.set(addr, bytes);
    return addr;
  }

  freeDma(addr: number): void {
    if (!this.dmaLive.delete(addr)) throw new Error(`freeDma of unknown address 0x${addr.toString(16)}`);
  }

  get dmaInUse(): number {
    return this.dmaLive.size;
  }

  addClassDevice(spec: ClassDeviceSpec, parent?: VisorDevice): string {
    const key = `${spec.cls}/${spec.name}`;
    if (this.classes.has(key)) throw new Error(`class device ${key} exists`);
    this.classes.set(key, { spec, parent: parent?.name });
    return spec.name;
  }

  removeClassDevice(cls: string, name: string): void {
    this.classes.delete(`${cls}/${name}`);
  }

  nextClassName(cls: string, prefix: string): string {
    if (cls === 'block' && prefix === 'sd') {
      for (let i = 0; ; i++) if (!this.classes.has(`block/${sdName(i)}`)) return sdName(i);
    }
    for (let i = 0; ; i++) if (!this.classes.has(`${cls}/${prefix}${i}`)) return `${prefix}${i}`;
  }

  setTimer(dev: VisorDevice, delay: number, label: string, fn: () => void): () => void {
    const t = this.engine.clock.schedule(delay, THREAD.busPoll(dev.busNo), label, fn);
    return () => this.engine.clock.cancel(t);
  }

  /** Kernel defects the test asks to be corrected (none: the kernel's behaviour). */
  readonly fixes = new Set<KernelBug>();

  kernelBugFixed(bug: KernelBug): boolean {
    return this.fixes.has(bug);
  }

  counter(name: string, delta = 0): number {
    const v = (this.counters.get(name) ?? 0) + delta;
    this.counters.set(name, v);
    return v;
  }

  /** `cat /sys/class/<cls>/<name>/<attr>` (block: /sys/block/<name>/<attr>). */
  cat(cls: string, name: string, attr: string): string {
    const e = this.classes.get(`${cls}/${name}`);
    if (!e) throw new Error(`no class device ${cls}/${name}`);
    const r = e.spec.attrs[attr];
    if (!r) throw new Error(`no attribute ${attr} on ${cls}/${name}`);
    return r();
  }

  echo(cls: string, name: string, attr: string, value: string): void {
    const e = this.classes.get(`${cls}/${name}`);
    const w = e?.spec.writers?.[attr];
    if (!w) throw new Error(`${cls}/${name}/${attr} is not writable`);
    w(value);
  }

  names(cls: string): string[] {
    return [...this.classes.keys()].filter((k) => k.startsWith(cls + '/')).map((k) => k.slice(cls.length + 1));
  }
}

export class FakeDevice implements VisorDevice {
  readonly name: string;
  driverData: unknown = undefined;
  readonly log: string[] = [];
  private cancelPoll: (() => void) | undefined;
  pollActive = false;
  beingRemoved = false;
  /** Completion calls received from pause/resume. */
  readonly completions: { op: 'pause' | 'resume'; status: number }[] = [];

  constructor(
    readonly busNo: number,
    readonly devNo: number,
    readonly channel: DriverChannel,
    readonly channelTypeGuid: string,
    readonly kernel: FakeKernel,
    public driver: VisorDriver | undefined,
  ) {
    this.name = `vbus${busNo}:dev${devNo}`;
  }

  enableChannelInterrupts(): number {
    if (!this.driver?.channelInterrupt) {
      this.log.push('no interrupt function!');
      return -2;
    }
    if (this.beingRemoved || this.pollActive) return -22;
    this.pollActive = true;
    this.armPoll();
    return 0;
  }

  private armPoll(): void {
    const t = this.kernel.engine.clock.schedule(10, THREAD.busPoll(this.busNo), `${this.name} channel_interrupt`, () => {
      if (!this.pollActive) return;
      this.driver?.channelInterrupt?.(this);
      if (this.pollActive) this.armPoll();
    });
    this.cancelPoll = () => this.kernel.engine.clock.cancel(t);
  }

  disableChannelInterrupts(): void {
    if (!this.pollActive) return;
    this.pollActive = false;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }

  info(text: string): void {
    this.log.push(`info: ${text}`);
  }

  warn(text: string): void {
    this.log.push(`warn: ${text}`);
  }

  err(text: string): void {
    this.log.push(`err: ${text}`);
  }

  logText(): string {
    return this.log.join('\n');
  }
}

export interface CreateOptions {
  bytes?: number;
  version?: number;
  /** Skip probe (the device stays unbound). */
  noProbe?: boolean;
}

/** The bus, a back-end host, and the devices of one test. */
export class FakeBus implements BackendHost {
  readonly engine: Engine;
  readonly memory = new GuestMemory();
  readonly kernel: FakeKernel;
  readonly devices = new Map<string, { dev: FakeDevice; backendDev: BackendDevice; peer: VisorChannel }>();
  readonly backends: ServiceBackend[] = [];
  /** Host files: the tests give absolute image paths in temporary folders. */
  readonly files = new HostFiles({ allowOutside: true });
  private channelNext = CHANNEL_BASE;
  private readonly hostCounters = new Map<string, number>();

  constructor(hz = 1000) {
    this.engine = new Engine({ hz, keepAll: true });
    this.kernel = new FakeKernel(this.engine, this.memory);
  }

  // BackendHost
  schedule(bus: number, delay: number, label: string, fn: () => void): () => void {
    const t = this.engine.clock.schedule(delay, THREAD.backend(bus), label, fn);
    return () => this.engine.clock.cancel(t);
  }

  allocDma(bytes: number, align?: number): number {
    return this.kernel.allocDma(bytes, align);
  }

  device(bus: number, dev: number): BackendDevice | undefined {
    return this.devices.get(`${bus}:${dev}`)?.backendDev;
  }

  counter(name: string, delta = 0): number {
    const v = (this.hostCounters.get(name) ?? 0) + delta;
    this.hostCounters.set(name, v);
    return v;
  }

  addBackend(b: ServiceBackend): this {
    b.attach(this);
    this.backends.push(b);
    return this;
  }

  /** Lay out a channel, tell the back-ends, create the device and probe it with `driver`. */
  create(bus: number, devNo: number, typeGuid: string, driver: VisorDriver | undefined, opts: CreateOptions = {}): FakeDevice {
    const bytes = roundUp(opts.bytes ?? defaultChannelBytes(typeGuid), 4096);
    const addr = this.channelNext;
    this.channelNext += roundUp(bytes, 0x100000);
    this.memory.map(addr, bytes, `channel ${bus}:${devNo}`);
    initDeviceChannel(this.memory, addr, { typeGuid, size: bytes, version: opts.version ?? defaultChannelVersion(typeGuid) });
    const backendDev: BackendDevice = { bus, dev: devNo, id: `${bus}:${devNo}`, typeGuid, physaddr: addr, nbytes: bytes };
    for (const b of this.backends) if (b.typeGuids.includes(typeGuid)) b.deviceCreated?.(backendDev);
    const ch = VisorChannel.create(this.memory, addr, typeGuid, `vbus${bus}:dev${devNo}`, 'guest');
    if (typeof ch === 'string') throw new Error(ch);
    const peer = VisorChannel.create(this.memory, addr, typeGuid, `peer ${bus}:${devNo}`);
    if (typeof peer === 'string') throw new Error(peer);
    const dev = new FakeDevice(bus, devNo, ch, typeGuid, this.kernel, driver);
    this.devices.set(backendDev.id, { dev, backendDev, peer });
    if (driver && !opts.noProbe) {
      const rc = driver.probe(dev);
      if (typeof rc === 'number' && rc < 0) throw new Error(`probe failed: ${rc}`);
    }
    return dev;
  }

  /** The peer's (service side's) view of a device's channel. */
  peer(id: string): VisorChannel {
    const e = this.devices.get(id);
    if (!e) throw new Error(`no device ${id}`);
    return e.peer;
  }

  dev(id: string): FakeDevice {
    const e = this.devices.get(id);
    if (!e) throw new Error(`no device ${id}`);
    return e.dev;
  }

  backendDevice(id: string): BackendDevice {
    const e = this.devices.get(id);
    if (!e) throw new Error(`no device ${id}`);
    return e.backendDev;
  }

  /** DEVICE_DESTROY: remove the driver, tell the back-ends, unmap the channel. */
  destroy(id: string): void {
    const e = this.devices.get(id);
    if (!e) throw new Error(`no device ${id}`);
    e.dev.beingRemoved = true;
    e.dev.driver?.remove(e.dev);
    e.dev.disableChannelInterrupts();
    for (const b of this.backends) if (b.typeGuids.includes(e.backendDev.typeGuid)) b.deviceDestroyed?.(e.backendDev);
    this.memory.unmap(e.backendDev.physaddr);
    this.devices.delete(id);
  }

  /** Driver pause; returns the driver's return value. Completions are recorded on the device. */
  pause(id: string): number {
    const dev = this.dev(id);
    const complete: CompleteFunc = (status) => dev.completions.push({ op: 'pause', status });
    return Number(dev.driver!.pause(dev, complete) ?? 0);
  }

  resume(id: string): number {
    const dev = this.dev(id);
    const complete: CompleteFunc = (status) => dev.completions.push({ op: 'resume', status });
    return Number(dev.driver!.resume(dev, complete) ?? 0);
  }

  /** `partition recover BUS` as the emulator does it: pause all, recover, resume all. */
  recover(bus: number): void {
    const ids = [...this.devices.entries()].filter(([, e]) => e.backendDev.bus === bus && e.dev.driver).map(([id]) => id);
    for (const id of ids) this.pause(id);
    for (const b of this.backends) b.recover?.(bus);
    for (const id of ids) this.resume(id);
  }

  /** A scenario `backend` command. */
  command(family: string, id: string, verb: string, positional: (string | number)[] = [], options: Record<string, string | number> = {}, baseDir = '.'): void {
    const device = this.backendDevice(id);
    const b = this.backends.find((x) => x.families.includes(family));
    if (!b) throw new Error(`no back-end for ${family}`);
    const cmd: BackendCommand = { family, device, verb, positional, options, baseDir };
    b.command(cmd);
  }

  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    for (const b of this.backends) Object.assign(out, b.counters?.() ?? {});
    return out;
  }

  /** Advance the virtual clock by `jiffies`, running every timer that falls due, in order. */
  run(jiffies: number): void {
    const clock = this.engine.clock;
    const end = clock.jiffies + jiffies;
    for (;;) {
      const t = clock.popDue(end);
      if (!t) break;
      clock.jiffies = Math.max(clock.jiffies, t.due);
      t.fn();
    }
    clock.jiffies = end;
  }

  /** Run until `pred` holds, at most `limit` jiffies; returns the jiffies used. */
  runUntil(pred: () => boolean, limit = 100000): number {
    const start = this.engine.clock.jiffies;
    while (!pred()) {
      if (this.engine.clock.jiffies - start >= limit) throw new Error(`condition not reached within ${limit} jiffies`);
      this.run(1);
    }
    return this.engine.clock.jiffies - start;
  }

  shutdown(): void {
    for (const b of this.backends) b.shutdown?.();
  }
}

/** Little-endian readers for raw slot bytes (tests check offsets against the reference by number). */
export function le16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

export function le64(b: Uint8Array, o: number): bigint {
  return BigInt(le32(b, o)) | (BigInt(le32(b, o + 4)) << 32n);
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function put64(b: Uint8Array, o: number, v: bigint | number): void {
  const x = BigInt.asUintN(64, BigInt(v));
  put32(b, o, Number(x & 0xffffffffn));
  put32(b, o + 4, Number(x >> 32n));
}

/** Drain a queue through the peer's view; returns the raw slots. */
export function drain(ch: VisorChannel, queue: number, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < 4096; n++) {
    const b = new Uint8Array(size);
    if (ch.signalRemove(queue, b) !== 0) break;
    out.push(b);
  }
  return out;
}
