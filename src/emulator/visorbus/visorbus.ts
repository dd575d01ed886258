/**
 * The visorbus core (reference §5): registers function drivers, matches devices to
 * drivers by channel-type GUID and header check, calls probe/remove/pause/resume and
 * the periodic channel_interrupt, and publishes client info into the vbus channel.
 * Every driver callback and channel operation is an event inside its own frame, so the
 * debugger can stop in it.
 */
import { ChannelInterrupts } from './channelinterrupt';
import { DriverCalls, DriverException } from './drivercall';
import { Engine } from '../engine/engine';
import { EBUSY, EINVAL, errnoName } from '../protocol/errno';
import { GUIDS, bytesToGuidRaw } from '../protocol/guid';
import { VBUS, VISOR_CHANNEL_SIGNATURE } from '../protocol/layout';
import { VisorChannel } from '../visorchannel/visorchannel';
import { ChannelTypeDescriptor, GuestKernel, VisorDriver } from './driver';
import { BusDevice, DeviceHooks } from './visordevice';
import { clientBusInfo, publishChipsetAndBus, publishDeviceInfo } from './vbusinfo';

/** DEVPATH of a uevent: the sysfs path without /sys. */
function devpath(d: BusDevice): string {
  return d.sysfsPath.slice('/sys'.length);
}

export { POLLJIFFIES_NORMALCHANNEL } from './channelinterrupt';
export { DriverException, thrownText } from './drivercall';

export interface BusEvents {
  /** A device needs a driver nobody loaded: autoload by module alias (returns true if one was loaded). */
  modprobe(modalias: string): boolean;
  /** pause/resume completion for the chipset's CHANGESTATE response. */
  changestateComplete(dev: BusDevice, paused: boolean, status: number): void;
  /** Topology or binding changed (views refresh); `dev` when only that object changed. */
  changed(dev?: BusDevice): void;
  /** A driver was registered (before it probes the devices waiting for it). */
  driverRegistered?(drv: VisorDriver): void;
}

export class VisorBus {
  readonly devices = new Map<string, BusDevice>();
  readonly drivers = new Map<string, VisorDriver>();
  readonly builtinNames = new Set<string>();
  private readonly hooks: DeviceHooks;
  private readonly calls: DriverCalls;
  private readonly interrupts: ChannelInterrupts;

  constructor(
    private readonly engine: Engine,
    private readonly kernel: GuestKernel,
    private readonly events: BusEvents,
    private readonly kernelRelease = '6.1.0-visorbus-studio',
  ) {
    this.calls = new DriverCalls(engine);
    this.interrupts = new ChannelInterrupts(engine, this.calls);
    this.hooks = {
      enableInterrupts: (d) => this.enableChannelInterrupts(d),
      disableInterrupts: (d) => this.disableChannelInterrupts(d),
      log: (d, level, text) => this.engine.klog(level, `${d.driver?.name ?? 'visorbus'} ${d.name}`, text),
    };
  }

  /** Poll period in jiffies for channel_interrupt (launch option pollIntervalMs may change it). */
  get pollJiffies(): number {
    return this.interrupts.pollJiffies;
  }

  set pollJiffies(j: number) {
    this.interrupts.pollJiffies = j;
  }

  static key(bus: number, dev: number): string {
    return `${bus}:${dev >>> 0}`;
  }

  find(bus: number, dev: number): BusDevice | undefined {
    return this.devices.get(VisorBus.key(bus, dev));
  }

  buses(): BusDevice[] {
    return [...this.devices.values()].filter((d) => d.isBus).sort((a, b) => a.busNo - b.busNo);
  }

  devicesOn(bus: number): BusDevice[] {
    return [...this.devices.values()].filter((d) => !d.isBus && d.busNo === bus).sort((a, b) => a.devNo - b.devNo);
  }

  newDevice(bus: number, dev: number, channel: VisorChannel, typeGuid: string, instGuid: string): BusDevice {
    return new BusDevice(bus, dev, channel, typeGuid, instGuid, this.kernel, this.hooks);
  }

  // ---- driver registration ------------------------------------------------------------

  /** visorbus_register_visor_driver: 0, -EINVAL (missing callbacks), -EEXIST-like refusal as -EINVAL. */
  registerDriver(drv: VisorDriver, builtin: boolean): number {
    for (const cb of ['probe', 'remove', 'pause', 'resume'] as const) {
      if (typeof drv[cb] !== 'function') {
        this.engine.klog('err', 'visorbus', `driver ${drv.name}: missing ${cb}(), registration refused`);
        return -EINVAL;
      }
    }
    const types: unknown = drv.channelTypes;
    if (!Array.isArray(types) || types.some((t) => !t || typeof t !== 'object' || typeof t.guid !== 'string' || typeof t.name !== 'string')) {
      this.engine.klog('err', 'visorbus', `driver ${drv.name}: channelTypes must be a list of { guid, name, minBytes, version }, registration refused`);
      return -EINVAL;
    }
    if (!drv.name || this.drivers.has(drv.name)) {
      this.engine.klog('err', 'visorbus', `driver '${drv.name}' is already registered`);
      return -EINVAL;
    }
    this.drivers.set(drv.name, drv);
    if (builtin) this.builtinNames.add(drv.name);
    this.engine.klog('info', 'visorbus', `registered driver ${drv.name}`);
    this.events.driverRegistered?.(drv);
    // A driver that loads after its devices probes them now, in device_add order (driver_attach
    // walks the bus's klist, to which device_add appends).
    for (const d of this.inAddOrder()) {
      if (!d.isBus && d.created && !d.driver) this.tryBind(d, drv);
    }
    this.events.changed();
    return 0;
  }

  unregisterDriver(name: string): boolean {
    const drv = this.drivers.get(name);
    if (!drv) return false;
    // driver_detach takes the last device of the driver's klist each time: most recently bound first.
    const bound = [...this.devices.values()].filter((d) => d.driver === drv).sort((a, b) => b.bindSeq - a.bindSeq);
    for (const d of bound) this.unbind(d);
    this.drivers.delete(name);
    this.builtinNames.delete(name);
    this.engine.klog('info', 'visorbus', `unregistered driver ${name}`);
    this.events.changed();
    return true;
  }

  private inAddOrder(): BusDevice[] {
    return [...this.devices.values()].sort((a, b) => a.addSeq - b.addSeq);
  }

  /** Counters for device_add order and bind order. */
  private addCount = 0;
  private bindCount = 0;

  // ---- matching -------------------------------------------------------------------------

  /** visor_check_channel on the cached header. */
  checkChannel(ch: VisorChannel, t: ChannelTypeDescriptor): string | undefined {
    if (t.guid !== '00000000-0000-0000-0000-000000000000' && ch.headerTypeGuid !== t.guid) return `chtype ${ch.headerTypeGuid} != ${t.guid}`;
    if (t.minBytes > 0 && ch.nbytes < t.minBytes) return `size ${ch.nbytes} < ${t.minBytes}`;
    if (t.version > 0 && ch.versionId !== t.version) return `version_id ${ch.versionId} != ${t.version}`;
    if (ch.signatureLow !== VISOR_CHANNEL_SIGNATURE || ch.signatureHigh !== 0)
      return `signature 0x${ch.signatureHigh.toString(16)}${ch.signatureLow.toString(16).padStart(8, '0')} != 0x${VISOR_CHANNEL_SIGNATURE.toString(16)}`;
    return undefined;
  }

  /** visorbus_match: index of the matching channel type, or -1. */
  match(d: BusDevice, drv: VisorDriver): number {
    for (let i = 0; i < drv.channelTypes.length; i++) {
      const t = drv.channelTypes[i];
      if (t.guid !== d.channelTypeGuid) continue;
      const why = this.checkChannel(d.visorchannel, t);
      if (why) {
        this.engine.klog('warn', 'visorbus', `Channel mismatch on channel=${d.name} (${why})`);
        return -1;
      }
      return i;
    }
    return -1;
  }

  private tryBind(d: BusDevice, drv: VisorDriver): boolean {
    let idx: number;
    try {
      idx = this.match(d, drv);
    } catch (e) {
      // A driver whose channel_types cannot even be read is a broken driver, not a broken bus.
      const ex = new DriverException(drv.name, 'match', d.name, e);
      this.engine.emit('error', d.name, ex.message, { category: 'exception', driver: drv.name, callback: 'match', device: d.id });
      this.engine.klog('err', `visorbus ${d.name}`, `matching ${drv.name} failed: ${ex.message}`, undefined, true);
      return false;
    }
    if (idx < 0) return false;
    return this.probe(d, drv, idx);
  }

  /** visordriver_probe_device. */
  private probe(d: BusDevice, drv: VisorDriver, idx: number): boolean {
    d.beingRemoved = false;
    d.driver = drv;
    d.typeIndex = idx;
    const rc = this.callDriver(d, 'probe', () => drv.probe(d));
    if (rc < 0) {
      // A probe that threw was reported by its exception event: one failure, one error event.
      const threw = this.calls.lastThrew;
      this.engine.klog('err', `visorbus ${d.name}`, `${drv.name} probe failed: ${rc} (${errnoName(rc)}); device stays unbound`, undefined, true);
      if (!threw) this.engine.emit('error', d.name, `probe of ${d.name} by ${drv.name} failed: ${rc}`, { category: 'probe', errno: rc });
      if (d.timerActive) this.disableChannelInterrupts(d);
      d.driver = undefined;
      d.typeIndex = -1;
      d.driverData = undefined;
      return false;
    }
    d.bindSeq = ++this.bindCount;
    // driver_bound: a bind uevent, whose dev_uevent part now carries DRIVER.
    this.engine.uevent('bind', devpath(d), 'visorbus', { DRIVER: drv.name, MODALIAS: `visorbus:${d.channelTypeGuid}` });
    this.publishDeviceInfo(d);
    this.events.changed(d);
    return true;
  }

  /** DriverCalls.call: a driver callback inside its frame, its events, its failures. */
  callDriver(d: BusDevice, callback: string, fn: () => number | void, quiet = false): number {
    return this.calls.call(d, callback, fn, quiet);
  }

  private unbind(d: BusDevice): void {
    const drv = d.driver;
    if (!drv) return;
    d.beingRemoved = true;
    this.callDriver(d, 'remove', () => drv.remove(d));
    this.disableChannelInterrupts(d);
    d.driver = undefined;
    d.typeIndex = -1;
    d.driverData = undefined;
    d.paused = false;
    d.pausing = d.resuming = false;
    // __device_release_driver: the unbind uevent goes out once dev->driver is cleared (no DRIVER).
    this.engine.uevent('unbind', devpath(d), 'visorbus', { MODALIAS: `visorbus:${d.channelTypeGuid}` });
  }

  // ---- creation / destruction -----------------------------------------------------------

  /** visorbus_create_instance: checks the vbus channel, registers, publishes chipset/bus info. 0 or -errno. */
  createBus(bus: BusDevice): number {
    const ch = bus.visorchannel;
    const why = this.checkChannel(ch, { guid: GUIDS.vbus, name: 'vbus', minBytes: VBUS.minBytes, version: 1 });
    if (why) {
      this.engine.klog('err', 'visorbus', `Channel mismatch on channel=${bus.name} (${why})`);
      return -EINVAL;
    }
    const hi = new Uint8Array(24);
    if (ch.read(VBUS.hdr_info, hi) < 0) return -5;
    const dv = new DataView(hi.buffer);
    if (dv.getUint32(0, true) < 128 || dv.getUint32(4, true) < 256) {
      this.engine.klog('err', 'visorbus', `${bus.name}: vbus header info too small`);
      return -EINVAL;
    }
    this.devices.set(VisorBus.key(bus.busNo, bus.devNo), bus);
    bus.addSeq = ++this.addCount;
    bus.created = true;
    this.publishChipsetAndBus(bus);
    this.engine.uevent('add', devpath(bus), 'visorbus', { MODALIAS: `visorbus:${bus.channelTypeGuid}` });
    this.events.changed(bus);
    return 0;
  }

  removeBus(bus: BusDevice): void {
    this.devices.delete(VisorBus.key(bus.busNo, bus.devNo));
    this.engine.uevent('remove', devpath(bus), 'visorbus', { MODALIAS: `visorbus:${bus.channelTypeGuid}` });
    this.events.changed(bus);
  }

  /** Devices whose add uevent asked udev for a module; udev runs after the create is answered. */
  private readonly pendingModprobes: BusDevice[] = [];

  /**
   * udev's side of the add uevents: modprobe by MODALIAS. The kernel answers DEVICE_CREATE
   * right after device_add; udev loads the module (and the module's driver_register probes
   * the device) later, so the chipset calls this once the response is written.
   */
  runModprobes(): void {
    while (this.pendingModprobes.length) {
      const d = this.pendingModprobes.shift()!;
      if (d.driver || this.devices.get(VisorBus.key(d.busNo, d.devNo)) !== d) continue;
      const modalias = `visorbus:${d.channelTypeGuid}`;
      this.engine.within({ kind: 'bus', name: `udev modprobe ${modalias}`, thread: this.engine.log.currentThread(), device: d.id }, () =>
        this.events.modprobe(modalias),
      );
    }
  }

  /** create_visor_device: device_add (sysfs directory) -> uevent -> match/probe with loaded drivers; modprobe comes later. */
  addDevice(d: BusDevice, autoload: boolean): void {
    this.devices.set(VisorBus.key(d.busNo, d.devNo), d);
    d.addSeq = ++this.addCount;
    d.created = true;
    this.events.changed(d); // the sysfs directory exists before the driver's probe runs, as in Linux
    const modalias = `visorbus:${d.channelTypeGuid}`;
    this.engine.uevent('add', devpath(d), 'visorbus', { MODALIAS: modalias });
    this.engine.within({ kind: 'bus', name: `device_add(${d.name})`, thread: this.engine.log.currentThread(), device: d.id }, () => {
      for (const drv of this.drivers.values()) {
        if (this.tryBind(d, drv)) break;
      }
      if (!d.driver && autoload) this.pendingModprobes.push(d);
    });
    this.events.changed(d);
  }

  /** device_unregister: remove() if bound, stop polling, drop the device. */
  removeDevice(d: BusDevice): void {
    this.engine.within({ kind: 'bus', name: `device_unregister(${d.name})`, thread: this.engine.log.currentThread(), device: d.id }, () => {
      this.unbind(d);
    });
    this.devices.delete(VisorBus.key(d.busNo, d.devNo));
    this.engine.uevent('remove', devpath(d), 'visorbus', { MODALIAS: `visorbus:${d.channelTypeGuid}` });
    this.events.changed(d);
  }

  // ---- pause / resume (§5.6) ------------------------------------------------------------

  /** Returns 0 when started (or when there is no driver: no response will come), or -errno. */
  pauseDevice(d: BusDevice): number {
    return this.changeState(d, true);
  }

  resumeDevice(d: BusDevice): number {
    return this.changeState(d, false);
  }

  private changeState(d: BusDevice, pause: boolean): number {
    const drv = d.driver;
    if (!drv) {
      this.engine.klog('info', `visorbus ${d.name}`, `${pause ? 'pause' : 'resume'}: no driver bound, no response will be sent`);
      return 0;
    }
    if (d.pausing || d.resuming) return -EBUSY;
    if (!pause) {
      this.publishDeviceInfo(d);
      d.paused = false;
    }
    if (pause) d.pausing = true;
    else d.resuming = true;
    const complete = (status: number) => this.complete(d, pause, status);
    const rc = this.callDriver(d, pause ? 'pause' : 'resume', () => (pause ? drv.pause(d, complete) : drv.resume(d, complete)));
    if (rc < 0) {
      if (pause) d.pausing = false;
      else d.resuming = false;
      return rc;
    }
    return 0;
  }

  private complete(d: BusDevice, pause: boolean, status: number): void {
    if (pause ? !d.pausing : !d.resuming) {
      this.engine.klog('warn', `visorbus ${d.name}`, `${pause ? 'pause' : 'resume'} completion ignored (no ${pause ? 'pause' : 'resume'} in progress)`);
      return;
    }
    if (pause) {
      d.pausing = false;
      if (status >= 0) d.paused = true;
    } else d.resuming = false;
    this.engine.within(
      { kind: 'bus', name: `${pause ? 'pause' : 'resume'}_complete(${d.name}, ${status})`, thread: this.engine.log.currentThread(), device: d.id },
      () => {
        this.engine.emit('complete', d.name, `${pause ? 'pause' : 'resume'} complete(${d.name}, ${status})`, { device: d.id, status, pause });
        this.events.changestateComplete(d, pause, status);
      },
    );
    this.events.changed(d);
  }

  // ---- channel interrupts (§5.4) ----------------------------------------------------------

  enableChannelInterrupts(d: BusDevice): number {
    return this.interrupts.enable(d);
  }

  disableChannelInterrupts(d: BusDevice): void {
    this.interrupts.disable(d);
  }

  // ---- vbus client info (§5.10) ----------------------------------------------------------

  private publishChipsetAndBus(bus: BusDevice): void {
    publishChipsetAndBus(bus, this.kernelRelease);
  }

  private publishDeviceInfo(d: BusDevice): void {
    const bus = this.find(d.busNo, 0xffffffff);
    if (bus) publishDeviceInfo(bus, d, this.kernelRelease);
  }

  /** debugfs client_bus_info text (§5.9). */
  clientBusInfo(bus: BusDevice): string {
    return clientBusInfo(bus);
  }

  /** partition_guid attribute: "{%pUb}". */
  static partitionGuidText(bus: BusDevice): string {
    return `{${bytesToGuidRaw(bus.partitionGuidRaw)}}`;
  }
}
