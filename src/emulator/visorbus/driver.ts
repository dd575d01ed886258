/**
 * The function-driver API, mirroring `struct visor_driver` and `struct visor_device`
 * (reference §5.1). Built-in drivers (visorhba, visornic, visorinput) and users' own
 * driver modules are written against exactly this interface.
 *
 * A driver module is a CommonJS/ES module whose default export (or `driver` export) is a
 * VisorDriver, or a function `(api: DriverModuleApi) => VisorDriver`.
 */
import type { GuestMemory } from '../memory/guestmemory';
import type { KernelBug } from '../kernel/kernelbugs';

/** struct visor_channeltype_descriptor. */
export interface ChannelTypeDescriptor {
  guid: string;
  /** Friendly name published as `typename` ("sparvhba", "ultravnic", "keyboard", "mouse"). */
  name: string;
  /** Minimum channel size in bytes (0 = not checked). */
  minBytes: number;
  /** Expected header version_id (0 = not checked). */
  version: number;
}

/** Called by a driver when a pause/resume finished: 0 or a negative errno. */
export type CompleteFunc = (status: number) => void;

/** struct visor_driver. Return values follow the kernel: 0 success, negative errno failure. */
export interface VisorDriver {
  name: string;
  channelTypes: ChannelTypeDescriptor[];
  probe(dev: VisorDevice): number | void;
  remove(dev: VisorDevice): void;
  pause(dev: VisorDevice, complete: CompleteFunc): number | void;
  resume(dev: VisorDevice, complete: CompleteFunc): number | void;
  /** Optional periodic poll, every 10 jiffies while enabled (visorbus_enable_channel_interrupts). */
  channelInterrupt?(dev: VisorDevice): void;
}

/** The channel operations a driver may use (visorchannel_* and visorbus_read/write_channel). */
export interface DriverChannel {
  readonly physaddr: number;
  readonly nbytes: number;
  /** The channel type GUID from the create message. */
  readonly guid: string;
  signalInsert(queue: number, msg: Uint8Array): number;
  signalRemove(queue: number, out: Uint8Array): number;
  signalEmpty(queue: number): boolean;
  read(offset: number, dst: Uint8Array): number;
  write(offset: number, src: Uint8Array): number;
}

/** A "class device" the guest kernel publishes (/sys/block/…, /sys/class/net/…, /sys/class/input/…). */
export interface ClassDeviceSpec {
  /** 'block', 'net', 'input' (or any class name). */
  cls: string;
  /** Name under the class, e.g. "sda", "eth0", "input3". Undefined = next free "<prefix>N". */
  name: string;
  /** Attribute name -> reader (called on every `cat`). Nested paths allowed ("queue/logical_block_size"). */
  attrs: Record<string, () => string>;
  /** Writable attributes: name -> writer; throw an Error (message with errno text) to reject. */
  writers?: Record<string, (value: string) => void>;
}

/** Services of the emulated guest kernel a driver may use. */
export interface GuestKernel {
  readonly memory: GuestMemory;
  readonly hz: number;
  jiffies(): number;
  /** Allocate `bytes` of guest-physical memory (DMA buffer), `align` bytes aligned; returns its address. */
  allocDma(bytes: number, align?: number): number;
  freeDma(addr: number): void;
  /** Publish a class device; returns its final name. Removed with `removeClassDevice`. */
  addClassDevice(spec: ClassDeviceSpec, parent?: VisorDevice): string;
  removeClassDevice(cls: string, name: string): void;
  /** First free name "<prefix><n>" in a class (sda, sdb… use `nextBlockName`). */
  nextClassName(cls: string, prefix: string): string;
  /** Arm a timer `delay` jiffies from now on the device's bus poll thread; returns a cancel function. */
  setTimer(dev: VisorDevice, delay: number, label: string, fn: () => void): () => void;
  /** Record a named counter that scenarios can `expect` (counter "name"). */
  counter(name: string, delta?: number): number;
  /** The run corrects this kernel defect (launch option fixKernelBugs); built-in drivers ask. */
  kernelBugFixed(bug: KernelBug): boolean;
}

/** struct visor_device as a driver sees it. */
export interface VisorDevice {
  /** "vbus2:dev0" */
  readonly name: string;
  readonly busNo: number;
  readonly devNo: number;
  readonly channel: DriverChannel;
  readonly channelTypeGuid: string;
  readonly kernel: GuestKernel;
  /** dev_set_drvdata/dev_get_drvdata: the driver's own state, shown in the debugger's Driver scope. */
  driverData: unknown;
  /** visorbus_enable_channel_interrupts: 0, -ENOENT (no channel_interrupt), -EINVAL (already or being removed). */
  enableChannelInterrupts(): number;
  disableChannelInterrupts(): void;
  /** dev_info/dev_warn/dev_err: kernel log lines prefixed with the driver and device. */
  info(text: string): void;
  warn(text: string): void;
  err(text: string): void;
}

/** What a driver module factory receives. */
export interface DriverModuleApi {
  errno: Record<string, number>;
  guids: Record<string, string>;
}
