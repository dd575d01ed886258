/**
 * visorbus_enable_channel_interrupts and the periodic work behind it (reference §5.4): while
 * enabled, the driver's channel_interrupt runs every poll period on the bus's poll thread,
 * and the same timer is armed again after each run.
 *
 * This runs for every device every period, so it is kept lean: a polling device has a slot
 * in one flat table holding what a poll needs besides the device (its frame and the texts and
 * checksum parts of its call and return events), in the order the devices began polling; its
 * timer carries the slot number, and all timers share one function. A poll that finds nothing
 * to do then allocates nothing and follows no closure.
 */
import type { Timer } from '../engine/clock';
import { Engine } from '../engine/engine';
import { Frame, THREAD } from '../engine/events';
import { EINVAL, ENOENT } from '../protocol/errno';
import { guardDriverMethod } from './driverguard';
import { DriverCalls, callSite } from './drivercall';
import { VisorDriver } from './driver';
import { BusDevice } from './visordevice';

/** POLLJIFFIES_NORMALCHANNEL */
export const POLLJIFFIES_NORMALCHANNEL = 10;

// One slot of the table: these entries, STRIDE apart.
const DEV = 0;
const FRAME = 1;
const THREAD_ID = 2;
const SUBJECT = 3;
const CALL_TEXT = 4;
const CALL_DATA = 5;
const CALL_SIG = 6;
const RETURN_TEXT = 7;
const RETURN_DATA = 8;
const RETURN_SIG = 9;
const STRIDE = 10;
/** Slots whose first timers are made together. */
const TIMER_BATCH = 256;

type EventData = Record<string, string | number>;

export class ChannelInterrupts {
  /** Poll period in jiffies (launch option pollIntervalMs may change it). */
  pollJiffies = POLLJIFFIES_NORMALCHANNEL;
  private readonly table: unknown[] = [];
  /** Slots given back by devices that stopped polling, reused first. */
  private readonly freeSlots: number[] = [];
  /** Per slot: its first timer, made with those of the slots around it and not armed yet (see Clock.timer). */
  private readonly unused: (Timer | undefined)[] = [];
  /** What every poll timer runs, with its slot as the argument. */
  private readonly pollFn = (slot: number): void => this.poll(slot);

  constructor(
    private readonly engine: Engine,
    private readonly calls: DriverCalls,
  ) {}

  enable(d: BusDevice): number {
    const drv = d.driver;
    if (!drv?.channelInterrupt) {
      this.engine.klog('err', `${drv?.name ?? 'visorbus'} ${d.name}`, 'no interrupt function!');
      return -ENOENT;
    }
    if (d.beingRemoved || d.timerActive) return -EINVAL;
    d.timerActive = true;
    const slot = this.freeSlots.pop() ?? this.table.length / STRIDE;
    const thread = THREAD.busPoll(d.busNo);
    // The driver stays bound while polling is on: unbind disables it first.
    const site = callSite(d, drv.name, 'channel_interrupt', thread);
    const i = slot * STRIDE;
    const t = this.table;
    t[i + DEV] = d;
    t[i + FRAME] = site.frame;
    t[i + THREAD_ID] = thread;
    t[i + SUBJECT] = d.name;
    t[i + CALL_TEXT] = site.callText;
    t[i + CALL_DATA] = site.callData;
    // As int32 so the table holds small integers, not boxed numbers (the checksum takes them >>> 0).
    t[i + CALL_SIG] = site.callSig | 0;
    t[i + RETURN_TEXT] = site.returnText0;
    t[i + RETURN_DATA] = site.returnData0;
    t[i + RETURN_SIG] = site.returnSig0 | 0;
    d.pollSlot = slot;
    d.timer = this.engine.clock.rearm(this.slotTimer(slot, thread, d.name), this.pollJiffies);
    return 0;
  }

  /**
   * A timer for `slot`: the one made for it in advance the first time (new slots come in
   * batches of TIMER_BATCH), a new one after that (the old one may still sit cancelled in
   * the clock, so it is never armed again).
   */
  private slotTimer(slot: number, thread: number, label: string): Timer {
    const clock = this.engine.clock;
    if (slot % TIMER_BATCH === 0 && this.unused[slot] === undefined && this.unused.length <= slot) {
      for (let k = 0; k < TIMER_BATCH; k++) this.unused[slot + k] = clock.timer(thread, label, this.pollFn, slot + k);
    }
    const t = this.unused[slot];
    if (t === undefined) return clock.timer(thread, label, this.pollFn, slot);
    this.unused[slot] = undefined;
    t.thread = thread;
    t.label = label;
    return t;
  }

  disable(d: BusDevice): void {
    if (!d.timerActive) return;
    this.engine.clock.cancel(d.timer);
    d.timer = undefined;
    d.timerActive = false;
    const i = d.pollSlot * STRIDE;
    // Nothing of the device stays reachable from its old slot.
    for (let k = 0; k < STRIDE; k++) this.table[i + k] = undefined;
    this.freeSlots.push(d.pollSlot);
    d.pollSlot = -1;
  }

  /** One channel_interrupt, then the same timer again a period after the end of the callback. */
  private poll(slot: number): void {
    const i = slot * STRIDE;
    const d = this.table[i + DEV] as BusDevice;
    const drv = d.driver;
    if (!d.timerActive || drv === undefined || !drv.channelInterrupt) return;
    const t = d.timer;
    this.interrupt(d, drv, i);
    // A driver that disabled and re-enabled polling inside the callback already armed a new timer.
    if (d.timerActive && d.timer === t && t) this.engine.clock.rearm(t, this.pollJiffies);
  }

  /** DriverCalls.call(d, 'channel_interrupt', ...) with the slot's frame and texts. */
  private interrupt(d: BusDevice, drv: VisorDriver, i: number): void {
    const ci = drv.channelInterrupt;
    if (typeof ci !== 'function') {
      this.calls.call(d, 'channel_interrupt', () => d.driver?.channelInterrupt?.(d));
      return;
    }
    const t = this.table;
    const log = this.engine.log;
    const clock = this.engine.clock;
    // Read before the call: a driver that stops polling inside it gives the slot back.
    const thread = t[i + THREAD_ID] as number;
    const subject = t[i + SUBJECT] as string;
    const callText = t[i + CALL_TEXT] as string;
    const returnText = t[i + RETURN_TEXT] as string;
    const returnData = t[i + RETURN_DATA] as EventData;
    const returnSig = t[i + RETURN_SIG] as number;
    log.push(t[i + FRAME] as Frame);
    try {
      // The slot's frame is the innermost: its thread is the events' thread.
      log.emit(clock.jiffies, 'call', thread, subject, callText, t[i + CALL_DATA] as EventData, t[i + CALL_SIG] as number);
      let r: unknown;
      try {
        r = guardDriverMethod(callText, drv, ci, d);
      } catch (e) {
        this.calls.threw(d, callSite(d, drv.name, 'channel_interrupt', thread), e, false);
        return;
      }
      if (r !== undefined && r !== 0) {
        this.calls.returned(d, callSite(d, drv.name, 'channel_interrupt', thread), r, false);
        return;
      }
      log.emit(clock.jiffies, 'return', thread, subject, returnText, returnData, returnSig);
      this.calls.lastThrew = false;
    } finally {
      log.pop();
    }
  }
}
