/**
 * The slice of the guest Linux kernel that function drivers lean on: DMA memory in
 * guest-physical space, class devices in sysfs (/sys/block, /sys/class/net,
 * /sys/class/input), timers on the virtual clock, and named counters.
 */
import { Engine } from '../engine/engine';
import { THREAD } from '../engine/events';
import { GuestMemory, PAGE_SIZE } from '../memory/guestmemory';
import { Sysfs } from '../sysfs/sysfs';
import { ClassDeviceSpec, GuestKernel, VisorDevice } from '../visorbus/driver';
import type { KernelBug } from './kernelbugs';
import { GuestSubsystems } from '../guest/kernel';

/** Guest RAM for DMA buffers starts here (above every channel). */
export const DMA_BASE = 0x2_0000_0000;

export class Kernel implements GuestKernel {
  private nextDma = DMA_BASE;
  private readonly counters = new Map<string, number>();
  /** The block, net, input and SCSI subsystems of this run. */
  readonly guest = new GuestSubsystems();
  /** Runs a driver's private timer inside a driver frame (set by the emulator). */
  runDriverTimer: (dev: VisorDevice, label: string, fn: () => void) => void = (_d, _l, fn) => fn();

  constructor(
    private readonly engine: Engine,
    readonly memory: GuestMemory,
    private readonly sysfs: Sysfs,
    private readonly fixes: ReadonlySet<KernelBug> = new Set(),
  ) {}

  kernelBugFixed(bug: KernelBug): boolean {
    return this.fixes.has(bug);
  }

  get hz(): number {
    return this.engine.clock.hz;
  }

  jiffies(): number {
    return this.engine.jiffies;
  }

  allocDma(bytes: number, align = 8): number {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`allocDma: bad size ${bytes}`);
    const a = Math.max(align, 8);
    const addr = Math.ceil(this.nextDma / a) * a;
    const size = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    this.memory.map(addr, size, `dma@0x${addr.toString(16)}`);
    // A guard page between allocations turns overruns into unmapped accesses.
    this.nextDma = addr + size + PAGE_SIZE;
    return addr;
  }

  freeDma(addr: number): void {
    this.memory.unmap(addr);
  }

  private classDir(cls: string, name: string, parent?: VisorDevice): string {
    const p = parent ? `/sys/devices/visorbus${parent.busNo}/${parent.name}` : '/sys/devices/virtual';
    return `${p}/${cls}/${name}`;
  }

  addClassDevice(spec: ClassDeviceSpec, parent?: VisorDevice): string {
    const name = spec.name;
    const dir = this.classDir(spec.cls, name, parent);
    this.sysfs.mkdir(dir);
    for (const [attr, read] of Object.entries(spec.attrs)) this.sysfs.file(`${dir}/${attr}`, read, spec.writers?.[attr]);
    for (const [attr, write] of Object.entries(spec.writers ?? {})) if (!spec.attrs[attr]) this.sysfs.file(`${dir}/${attr}`, undefined, write);
    this.sysfs.link(`/sys/class/${spec.cls}/${name}`, `../..${dir.slice(4)}`);
    if (spec.cls === 'block') this.sysfs.link(`/sys/block/${name}`, `..${dir.slice('/sys'.length)}`);
    // `device` links to the visor device unless the class device publishes its own device/ directory
    // (a block device's device/ is the SCSI device: vendor, model, ...).
    if (parent && !Object.keys(spec.attrs).some((a) => a.startsWith('device/'))) this.sysfs.link(`${dir}/device`, '../..');
    const env = this.classUevent(spec.cls, name, dir);
    this.engine.uevent('add', dir.slice('/sys'.length), spec.cls, env);
    this.classParents.set(`${spec.cls}/${name}`, { dir, env });
    return name;
  }

  /** Last interface index handed out (dev_new_index; 1 is the loopback device). */
  private lastIfindex = 1;

  /**
   * The subsystem's uevent variables: a net device has no device node, so netdev_uevent
   * gives INTERFACE and IFINDEX (and sysfs an ifindex file); other classes give DEVNAME.
   */
  private classUevent(cls: string, name: string, dir: string): Record<string, string> {
    if (cls !== 'net') return { DEVNAME: name };
    const ifindex = ++this.lastIfindex;
    this.sysfs.file(`${dir}/ifindex`, () => `${ifindex}\n`);
    return { INTERFACE: name, IFINDEX: String(ifindex) };
  }

  private readonly classParents = new Map<string, { dir: string; env: Record<string, string> }>();

  removeClassDevice(cls: string, name: string): void {
    const entry = this.classParents.get(`${cls}/${name}`);
    if (!entry) return;
    const dir = entry.dir;
    this.classParents.delete(`${cls}/${name}`);
    for (const k of this.nameHint.keys()) if (k.startsWith(`${cls}/`)) this.nameHint.set(k, 0);
    this.sysfs.remove(dir);
    this.sysfs.remove(`/sys/class/${cls}/${name}`);
    if (cls === 'block') this.sysfs.remove(`/sys/block/${name}`);
    this.engine.uevent('remove', dir.slice('/sys'.length), cls, entry.env);
  }

  /** Lowest index that may be free, per "cls/prefix" (names are taken lowest-first, like Linux). */
  private readonly nameHint = new Map<string, number>();

  nextClassName(cls: string, prefix: string): string {
    const key = `${cls}/${prefix}`;
    const name = (i: number) => (cls === 'block' && prefix === 'sd' ? `sd${blockSuffix(i)}` : `${prefix}${i}`);
    for (let i = this.nameHint.get(key) ?? 0; ; i++) {
      if (!this.classParents.has(`${cls}/${name(i)}`)) {
        this.nameHint.set(key, i);
        return name(i);
      }
    }
  }

  setTimer(dev: VisorDevice, delay: number, label: string, fn: () => void): () => void {
    const t = this.engine.clock.schedule(delay, THREAD.busPoll(dev.busNo), `${dev.name} ${label}`, () => this.runDriverTimer(dev, label, fn));
    return () => this.engine.clock.cancel(t);
  }

  counter(name: string, delta = 0): number {
    const v = (this.counters.get(name) ?? 0) + delta;
    this.counters.set(name, v);
    return v;
  }

  counterValue(name: string): number | undefined {
    return this.counters.get(name);
  }

  allCounters(): Record<string, number> {
    return Object.fromEntries([...this.counters.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** sda..sdz, sdaa.. like the SCSI disk driver. */
function blockSuffix(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}
