/**
 * How the bus core calls into a driver: each callback runs inside its own frame, between a
 * `call` and a `return` event, under the driver-code guard. A throw, a Promise (callbacks are
 * synchronous in the kernel) or a failed return becomes the events a user must see, never a
 * crash of the model. The frames and event texts of a callback are built once per device.
 */
import { guardDriverCode } from './driverguard';
import { Engine } from '../engine/engine';
import { THREAD, eventSignature } from '../engine/events';
import { EINVAL } from '../protocol/errno';
import { BusDevice, CallSite } from './visordevice';

/**
 * Text of whatever a driver threw. Drivers are user code and may throw anything — null, an
 * object without a prototype, a revoked proxy, an Error whose message getter throws — so
 * describing it must never throw in turn.
 */
export function thrownText(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    try {
      return Object.prototype.toString.call(e);
    } catch {
      return '<a value that cannot be printed>';
    }
  }
}

/** Thrown into the model when a driver callback throws; carries the driver's own error. */
export class DriverException extends Error {
  constructor(
    readonly driver: string,
    readonly callback: string,
    readonly device: string,
    readonly reason: unknown,
  ) {
    super(`${driver}.${callback}(${device}) threw: ${thrownText(reason)}`);
  }
}

/** The frame and event texts of `driver.callback(d)` on `thread`, made once and kept on the device. */
export function callSite(d: BusDevice, driver: string, callback: string, thread: number): CallSite {
  const last = d.lastSite;
  if (last && last.driver === driver && last.callback === callback && last.thread === thread) return last;
  const key = `${driver}\0${callback}\0${thread}`;
  let site = d.callSites.get(key);
  if (!site) {
    const callText = `${driver}.${callback}(${d.name})`;
    const callData = { driver, callback, device: d.id };
    const returnText0 = `${callText} returned 0`;
    site = {
      driver,
      callback,
      thread,
      frame: { kind: 'driver', name: callText, thread, device: d.id, driver, callback },
      callText,
      callData,
      callSig: eventSignature(d.name, callText),
      returnText0,
      returnData0: { ...callData, result: 0 },
      returnSig0: eventSignature(d.name, returnText0),
    };
    d.callSites.set(key, site);
  }
  d.lastSite = site;
  return site;
}

export class DriverCalls {
  /** Whether the last call threw (its exception event already reported the failure). */
  lastThrew = false;

  constructor(private readonly engine: Engine) {}

  /**
   * Call a driver callback inside its frame; a throw becomes a failure and an error event.
   * `quiet` (a driver's private timer) skips the call/return events: a timer that finds
   * nothing to do leaves no trace, while its channel operations still run in its frame.
   */
  call(d: BusDevice, callback: string, fn: () => number | void, quiet = false): number {
    const drv = d.driver!;
    const thread = callback === 'channel_interrupt' || quiet ? THREAD.busPoll(d.busNo) : this.engine.log.currentThread();
    const site = callSite(d, drv.name, callback, thread);
    const log = this.engine.log;
    log.push(site.frame);
    try {
      if (!quiet) this.engine.emit('call', d.name, site.callText, site.callData, site.callSig);
      let r: unknown;
      try {
        r = guardDriverCode(site.callText, fn);
      } catch (e) {
        return this.threw(d, site, e, quiet);
      }
      return this.returned(d, site, r, quiet);
    } finally {
      log.pop();
    }
  }

  /** The end of a driver call that returned `r`: its return event (unless quiet); the rc. */
  returned(d: BusDevice, site: CallSite, r: unknown, quiet: boolean): number {
    const rc = typeof r === 'number' ? r : 0;
    if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as { then?: unknown }).then === 'function') {
      // An async callback: the kernel's callbacks are synchronous, so whatever it does
      // later is not part of this call. Keep a later rejection from killing the process.
      Promise.resolve(r).catch(() => undefined);
      const text = `${site.callText} returned a Promise: visorbus callbacks are synchronous, so its result and any later failure are ignored`;
      this.engine.emit('error', d.name, text, { category: 'driver', driver: site.driver, callback: site.callback, device: d.id });
      this.engine.klog('err', `${site.driver} ${d.name}`, `${site.callback}() returned a Promise (visorbus callbacks are synchronous)`, undefined, true);
    }
    if (!quiet) {
      if (rc === 0) this.engine.emit('return', d.name, site.returnText0, site.returnData0, site.returnSig0);
      else this.engine.emit('return', d.name, `${site.callText} returned ${rc}`, { ...site.callData, result: rc });
    }
    this.lastThrew = false;
    return rc;
  }

  /** The end of a driver call that threw: its exception event, and the failed return (unless quiet). */
  threw(d: BusDevice, site: CallSite, e: unknown, quiet: boolean): number {
    const ex = new DriverException(site.driver, site.callback, d.name, e);
    this.engine.emit('error', d.name, ex.message, { category: 'exception', driver: site.driver, callback: site.callback, device: d.id });
    this.engine.klog('err', `${site.driver} ${d.name}`, `${site.callback}() threw: ${thrownText(e)}`, undefined, true);
    const rc = -EINVAL;
    // `threw`: the failed return of a throw is the same failure as its exception event.
    if (!quiet) this.engine.emit('return', d.name, `${site.callText} returned ${rc}`, { ...site.callData, result: rc, threw: true });
    this.lastThrew = true;
    return rc;
  }
}
