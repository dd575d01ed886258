/**
 * Parahotplug (reference §4.7): DEVICE_CHANGESTATE with phys_device = 1 asks the guest to
 * enable or disable an SR-IOV function. Enable is answered at once; disable waits for a
 * user-space script to write the request id to parahotplug/devicedisabled (or
 * deviceenabled), or for the 2000 ms time-out checked at the end of each controlvm poll.
 */
import { Engine } from '../engine/engine';
import { ControlvmMessage, CONTROLVM_RESP, MSG, SEG } from '../protocol/controlvm';
import { EINVAL } from '../protocol/errno';
import { CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM } from './platformdevice';

export const PARAHOTPLUG_TIMEOUT_MS = 2000;

interface PendingRequest {
  id: number;
  expiration: number;
  msg: ControlvmMessage;
}

export type ParahotplugResponder = (hdr: ControlvmMessage, state: number, status: number) => void;

export class Parahotplug {
  private nextId = 0;
  readonly pending: PendingRequest[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly respond: ParahotplugResponder,
  ) {}

  request(msg: ControlvmMessage): number {
    const id = ++this.nextId;
    const state = msg.u16(MSG.cs_state);
    const active = (state & SEG.active) !== 0 ? 1 : 0;
    const req: PendingRequest = { id, expiration: this.engine.jiffies + this.engine.clock.msToJiffies(PARAHOTPLUG_TIMEOUT_MS), msg };
    if (!active) this.pending.push(req);
    // parahotplug_request_kickoff prints every value with %d (a bus_no >= 2^31 is negative).
    this.engine.uevent('change', CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM, {
      VISOR_PARAHOTPLUG: '1',
      VISOR_PARAHOTPLUG_ID: String(id | 0),
      VISOR_PARAHOTPLUG_STATE: String(active),
      VISOR_PARAHOTPLUG_BUS: String(msg.busNo | 0),
      VISOR_PARAHOTPLUG_DEVICE: String((msg.devNo >>> 3) | 0),
      VISOR_PARAHOTPLUG_FUNCTION: String(msg.devNo & 7),
    });
    if (active) {
      // Enable is answered at once, whether or not a response was asked for.
      this.respond(msg, state, 0);
    } else {
      this.engine.klog('info', 'visorchipset', `parahotplug request ${id}: waiting for parahotplug/devicedisabled (time-out ${PARAHOTPLUG_TIMEOUT_MS} ms)`);
    }
    return 0;
  }

  /** A write of `id` to devicedisabled (active = 0) or deviceenabled (active = 1). */
  complete(id: number, active: boolean): number {
    const i = this.pending.findIndex((r) => r.id === id);
    if (i < 0) return -EINVAL;
    const [req] = this.pending.splice(i, 1);
    const state = (req.msg.u16(MSG.cs_state) & ~SEG.active) | (active ? SEG.active : 0);
    if (req.msg.responseExpected) this.respond(req.msg, state, 0);
    return 0;
  }

  /** Called at the end of each controlvm poll: answer expired requests with UDEV_TIMEOUT (not flagged failed). */
  timeoutScan(): void {
    const now = this.engine.jiffies;
    for (let i = 0; i < this.pending.length;) {
      const r = this.pending[i];
      if (now >= r.expiration) {
        this.pending.splice(i, 1);
        this.engine.klog('warn', 'visorchipset', `parahotplug request ${r.id} timed out`);
        if (r.msg.responseExpected) this.respond(r.msg, r.msg.u16(MSG.cs_state), CONTROLVM_RESP.DEVICE_UDEV_TIMEOUT);
      } else i++;
    }
  }
}
