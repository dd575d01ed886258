/**
 * struct visor_device: one object per bus (dev_no = BUS_ROOT_DEVICE) and per device.
 * It is what drivers receive; the bus core and chipset keep their bookkeeping on it
 * (created, pending header, pausing/resuming, polling timer) exactly as the kernel does.
 */
import type { Timer } from '../engine/clock';
import type { Frame } from '../engine/events';
import type { ControlvmMessage } from '../protocol/controlvm';
import { BUS_ROOT_DEVICE } from '../protocol/controlvm';
import type { VisorChannel } from '../visorchannel/visorchannel';
import type { DriverChannel, GuestKernel, VisorDevice, VisorDriver } from './driver';

export interface DeviceHooks {
  enableInterrupts(dev: BusDevice): number;
  disableInterrupts(dev: BusDevice): void;
  log(dev: BusDevice, level: 'info' | 'warn' | 'err', text: string): void;
}

/** The frame and event texts of one driver callback on one device, built once. */
export interface CallSite {
  driver: string;
  callback: string;
  thread: number;
  frame: Frame;
  callText: string;
  callData: Record<string, string | number>;
  callSig: number;
  returnText0: string;
  returnData0: Record<string, string | number>;
  returnSig0: number;
}

export class BusDevice implements VisorDevice {
  readonly name: string;
  // What a poll reads first, declared together so that they lie close together in the object.
  driverData: unknown = undefined;
  driver: VisorDriver | undefined;
  timer: Timer | undefined;
  timerActive = false;
  /** Pause completed and no resume yet: the driver must not touch the channel. */
  paused = false;
  /** The device's slot among the polling devices (channelinterrupt.ts), -1 when not polling. */
  pollSlot = -1;
  /** visorchipset_state.created */
  created = false;
  pendingMsgHdr: ControlvmMessage | undefined;
  pausing = false;
  resuming = false;
  beingRemoved = false;
  /** Index into driver.channelTypes of the entry that matched (for typename). */
  typeIndex = -1;
  /** Position in the bus's device list (device_add order): driver_attach walks it in this order. */
  addSeq = 0;
  /** Position in the driver's bound-device list: driver_detach takes the most recent first. */
  bindSeq = 0;
  /** Frames and event texts of driver callbacks (see VisorBus.callDriver), built once. */
  readonly callSites = new Map<string, CallSite>();
  /** The call site used last (a polled device calls the same one over and over). */
  lastSite: CallSite | undefined;
  /** Bus only: partition name and GUID set by BUS_CONFIGURE. */
  partitionName: string | null = null;
  partitionGuidRaw: Uint8Array = new Uint8Array(16);
  readonly instGuid: string;

  constructor(
    readonly busNo: number,
    readonly devNo: number,
    readonly visorchannel: VisorChannel,
    readonly channelTypeGuid: string,
    instGuid: string,
    readonly kernel: GuestKernel,
    private readonly hooks: DeviceHooks,
  ) {
    this.instGuid = instGuid;
    visorchannel.owner = this;
    this.name = devNo === BUS_ROOT_DEVICE ? `visorbus${busNo}` : `vbus${busNo}:dev${devNo}`;
  }

  get isBus(): boolean {
    return this.devNo === BUS_ROOT_DEVICE;
  }

  /** "2:0", or "2" for a bus. */
  get id(): string {
    return this.isBus ? `${this.busNo}` : `${this.busNo}:${this.devNo}`;
  }

  get channel(): DriverChannel {
    return this.visorchannel;
  }

  /** The bound driver's type name for this channel ("" when unbound). */
  get typeName(): string {
    return this.driver && this.typeIndex >= 0 ? this.driver.channelTypes[this.typeIndex].name : '';
  }

  get sysfsPath(): string {
    return this.isBus ? `/sys/devices/visorbus${this.busNo}` : `/sys/devices/visorbus${this.busNo}/${this.name}`;
  }

  enableChannelInterrupts(): number {
    return this.hooks.enableInterrupts(this);
  }

  disableChannelInterrupts(): void {
    this.hooks.disableInterrupts(this);
  }

  info(text: string): void {
    this.hooks.log(this, 'info', text);
  }

  warn(text: string): void {
    this.hooks.log(this, 'warn', text);
  }

  err(text: string): void {
    this.hooks.log(this, 'err', text);
  }
}
