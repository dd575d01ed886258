/**
 * visorchipset (reference §4): the guest's controlvm work. It polls the controlvm
 * channel on the virtual clock (1 jiffy while busy, 100 after 10 s idle), reads commands
 * from the EVENT queue, ACKs each on the ACK queue *before* acting, and answers on the
 * REQUEST queue; the RESPONSE queue is drained and discarded. These roles are the
 * reverse of the queue names, as in the kernel.
 */
import { Engine } from '../engine/engine';
import { Frame, THREAD } from '../engine/events';
import type { Timer } from '../engine/clock';
import { GuestMemory } from '../memory/guestmemory';
import {
  BUS_ROOT_DEVICE,
  CHIPSET_FEATURE,
  CONTROLVM_ID,
  CONTROLVM_RESP,
  ControlvmMessage,
  FLAG,
  MSG,
  SEG,
  SEGMENT_STATE,
  controlvmIdName,
  statusName,
} from '../protocol/controlvm';
import { EAGAIN, EEXIST, EINVAL, EIO, ENODEV, ENOENT, ENOMEM } from '../protocol/errno';
import { GUIDS, bytesToGuid } from '../protocol/guid';
import { CONTROLVM_CHANNEL, CONTROLVM_CHANNEL_SIZE, CONTROLVM_QUEUE } from '../protocol/layout';
import { VisorChannel } from '../visorchannel/visorchannel';
import { BusDevice } from '../visorbus/visordevice';
import { VisorBus } from '../visorbus/visorbus';
import { Parahotplug } from './parahotplug';
import { CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM } from './platformdevice';
import type { KernelBug } from '../kernel/kernelbugs';

export const POLLJIFFIES_CONTROLVM_FAST = 1;
export const POLLJIFFIES_CONTROLVM_SLOW = 100;
export const MIN_IDLE_SECONDS = 10;
export const MAX_CONTROLVM_PAYLOAD_BYTES = 128 * 1024;

export interface ChipsetOptions {
  autoload: () => boolean;
  /** The run corrects this kernel defect (fixKernelBugs). */
  fixed: (bug: KernelBug) => boolean;
  /** Called to wrap each device channel with the bus core's guard and observer. */
  prepareDeviceChannel(ch: VisorChannel, busNo: number, devNo: number): void;
}

export class VisorChipset {
  initialized = false;
  features = 0;
  private stashed: ControlvmMessage | undefined;
  /** The wedging payload was logged once (it is retried at every poll). */
  private wedgeReported = false;
  private mostRecentMessageJiffies = 0;
  private pollTimerArmed = false;
  readonly parahotplug: Parahotplug;
  /** Statistics the debugger's Chipset scope shows. */
  readonly stats = { polls: 0, messages: 0, acks: 0, responses: 0, errors: 0, responsesDrained: 0, lostAcks: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly memory: GuestMemory,
    readonly controlvm: VisorChannel,
    private readonly bus: VisorBus,
    private readonly opts: ChipsetOptions,
  ) {
    this.parahotplug = new Parahotplug(engine, (hdr, state, status) => this.respondParahotplug(hdr, state, status));
  }

  /** visorchipset_init: validate the controlvm channel and schedule the first poll 1 jiffy later. */
  start(): string | undefined {
    const ch = this.controlvm;
    const why = this.bus.checkChannel(ch, { guid: GUIDS.controlvm, name: 'controlvm', minBytes: CONTROLVM_CHANNEL_SIZE, version: 1 });
    if (why) {
      this.engine.klog('err', 'visorchipset', `Channel mismatch on controlvm channel (${why}); visorchipset not started (-ENODEV)`);
      return why;
    }
    this.mostRecentMessageJiffies = this.engine.jiffies;
    this.schedule(POLLJIFFIES_CONTROLVM_FAST);
    return undefined;
  }

  /** The delayed work of controlvm_periodic_work: one timer, re-armed in place after each run. */
  private pollTimer: Timer | undefined;
  private readonly pollFrame: Frame = { kind: 'chipset', name: 'controlvm_periodic_work', thread: THREAD.controlvm };
  private readonly pollNow = (): void => this.poll();
  /** The RESPONSE queue drain's buffer (its signals are discarded). */
  private readonly responseBuf = new Uint8Array(128);

  private schedule(delay: number): void {
    this.pollTimerArmed = true;
    const clock = this.engine.clock;
    if (this.pollTimer) clock.rearm(this.pollTimer, delay);
    else
      this.pollTimer = clock.schedule(delay, THREAD.controlvm, 'controlvm_periodic_work', () => {
        this.pollTimerArmed = false;
        this.engine.within(this.pollFrame, this.pollNow);
      });
  }

  get polling(): boolean {
    return this.pollTimerArmed;
  }

  /** controlvm_periodic_work (§4.1). */
  poll(): void {
    this.stats.polls++;
    const ch = this.controlvm;
    const buf = this.responseBuf;
    let drained = 0;
    let rc = 0;
    while (drained < 64) {
      rc = ch.signalRemove(CONTROLVM_QUEUE.RESPONSE, buf);
      if (rc < 0) break;
      drained++;
    }
    this.stats.responsesDrained += drained;
    if (rc === -EAGAIN) {
      let retry = this.stashed !== undefined;
      let msg = this.stashed ?? this.readEvent();
      this.stashed = undefined;
      while (msg) {
        this.mostRecentMessageJiffies = this.engine.jiffies;
        const r = this.handleCommand(msg, retry);
        retry = false;
        if (r === -EAGAIN) {
          this.stashed = msg;
          break;
        }
        msg = this.readEvent();
      }
      this.parahotplug.timeoutScan();
    }
    const idle = this.engine.jiffies - this.mostRecentMessageJiffies > MIN_IDLE_SECONDS * this.engine.clock.hz;
    this.schedule(idle ? POLLJIFFIES_CONTROLVM_SLOW : POLLJIFFIES_CONTROLVM_FAST);
  }

  /** read_controlvm_event: a test message is consumed and dropped, and ends the batch. */
  private readEvent(): ControlvmMessage | undefined {
    const buf = new Uint8Array(128);
    if (this.controlvm.signalRemove(CONTROLVM_QUEUE.EVENT, buf) < 0) return undefined;
    const msg = new ControlvmMessage(buf);
    if (msg.testMessage) {
      this.engine.klog('info', 'visorchipset', `dropped test message ${controlvmIdName(msg.id)} (no ACK, no response)`);
      return undefined;
    }
    return msg;
  }

  /** handle_command (§4.2); `retry`: the stashed message again (not a new event). */
  handleCommand(msg: ControlvmMessage, retry = false): number {
    if (!retry) this.stats.messages++;
    const name = controlvmIdName(msg.id);
    return this.engine.within({ kind: 'chipset', name: `handle_command ${name}`, thread: THREAD.controlvm }, () => {
      if (!retry) this.engine.emit('controlvm', 'controlvm', `received ${msg.describe()}`, { id: msg.id, bus: msg.busNo, dev: msg.devNo });
      let payload: Uint8Array | undefined;
      if (msg.payloadBytes !== 0) {
        if (msg.payloadBytes > MAX_CONTROLVM_PAYLOAD_BYTES && !this.opts.fixed('oversizedPayload')) {
          // parser_init_stream asks for a retry: the message stays un-ACKed and is tried
          // again at every poll, for ever (§4.2) — the controlvm loop is wedged.
          if (!this.wedgeReported)
            this.engine.klog(
              'err',
              'visorchipset',
              `${name}: payload of ${msg.payloadBytes} bytes exceeds ${MAX_CONTROLVM_PAYLOAD_BYTES}; retried at every poll (the controlvm loop is wedged; fixKernelBugs oversizedPayload refuses it instead)`,
            );
          this.wedgeReported = true;
          return -EAGAIN;
        }
        if (msg.payloadBytes > MAX_CONTROLVM_PAYLOAD_BYTES) {
          this.engine.klog(
            'err',
            'visorchipset',
            `${name}: payload of ${msg.payloadBytes} bytes exceeds ${MAX_CONTROLVM_PAYLOAD_BYTES}; refused with PAYLOAD_INVALID (fixKernelBugs oversizedPayload; the kernel retries it for ever)`,
          );
          if (!this.ack(msg)) return -EIO;
          this.respondIfExpected(msg, -CONTROLVM_RESP.PAYLOAD_INVALID);
          return -EINVAL;
        }
        const addr = this.controlvm.physaddr + msg.payloadOffset;
        if (this.memory.isMapped(addr, msg.payloadBytes)) payload = this.memory.read(addr, msg.payloadBytes);
        else this.engine.klog('warn', 'visorchipset', `${name}: payload at 0x${addr.toString(16)} is not mapped; continuing without payload`);
      }
      if (!this.ack(msg)) return -EIO;
      return this.dispatch(msg, payload);
    });
  }

  private ack(msg: ControlvmMessage): boolean {
    const ack = msg.headerCopy();
    const rc = this.controlvm.signalInsert(CONTROLVM_QUEUE.ACK, ack.bytes);
    if (rc < 0) {
      this.stats.lostAcks++;
      this.engine.klog('err', 'visorchipset', `ACK queue full: ${controlvmIdName(msg.id)} is lost (not processed, not retried)`);
      this.engine.emit('error', 'controlvm', `ACK of ${controlvmIdName(msg.id)} failed (${rc}); message lost`, { category: 'controlvm', errno: rc });
      return false;
    }
    this.stats.acks++;
    this.engine.emit('ack', 'controlvm', `ACK ${controlvmIdName(msg.id)}`, { id: msg.id });
    return true;
  }

  /** controlvm_respond: negative r sets failed and completion_status = -r. */
  respond(req: ControlvmMessage, r: number, opts: { ignoreTestFlag?: boolean; build?: (m: ControlvmMessage) => void } = {}): void {
    const m = req.headerCopy();
    if (r < 0) {
      m.setU32(MSG.flags, m.flags | FLAG.failed);
      m.setU32(MSG.completion_status, -r);
    }
    if (!opts.ignoreTestFlag && m.testMessage) return;
    opts.build?.(m);
    this.sendResponse(m, r);
  }

  private sendResponse(m: ControlvmMessage, r: number): void {
    const rc = this.controlvm.signalInsert(CONTROLVM_QUEUE.REQUEST, m.bytes);
    const desc = `response ${controlvmIdName(m.id)}: ${r < 0 ? `failed, status ${-r} (${statusName(-r)})` : `status ${m.completionStatus}`}`;
    if (rc < 0) {
      this.engine.klog('err', 'visorchipset', `REQUEST queue full, ${desc} not delivered`);
      this.engine.emit('error', 'controlvm', `${desc} not delivered (${rc})`, { category: 'controlvm', errno: rc });
      return;
    }
    this.stats.responses++;
    if (r < 0) {
      this.stats.errors++;
      this.engine.klog('warn', 'visorchipset', desc);
    }
    this.engine.emit('response', 'controlvm', desc, { id: m.id, status: r < 0 ? -r : m.completionStatus, failed: r < 0 });
    if (r < 0) this.engine.emit('error', 'controlvm', `controlvm error response: ${desc}`, { category: 'controlvm', id: m.id, status: -r });
  }

  private respondIfExpected(msg: ControlvmMessage, r: number): void {
    if (msg.responseExpected) this.respond(msg, r);
  }

  private dispatch(msg: ControlvmMessage, payload: Uint8Array | undefined): number {
    switch (msg.id) {
      case CONTROLVM_ID.CHIPSET_INIT:
        return this.chipsetInit(msg);
      case CONTROLVM_ID.BUS_CREATE:
        return this.busCreate(msg);
      case CONTROLVM_ID.BUS_DESTROY:
        return this.busDestroy(msg);
      case CONTROLVM_ID.BUS_CONFIGURE:
        return this.busConfigure(msg, payload);
      case CONTROLVM_ID.DEVICE_CREATE:
        return this.deviceCreate(msg);
      case CONTROLVM_ID.DEVICE_CHANGESTATE:
        if (msg.u32(MSG.cs_flags) & 1) return this.parahotplug.request(msg);
        return this.deviceChangestate(msg);
      case CONTROLVM_ID.DEVICE_DESTROY:
        return this.deviceDestroy(msg);
      case CONTROLVM_ID.DEVICE_CONFIGURE:
        this.respondIfExpected(msg, 0);
        return 0;
      case CONTROLVM_ID.CHIPSET_READY:
        this.engine.uevent('online', CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM, {});
        this.respondIfExpected(msg, 0);
        return 0;
      case CONTROLVM_ID.CHIPSET_SELFTEST:
        this.engine.uevent('change', CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM, { SPARSP_SELFTEST: '1' });
        this.respondIfExpected(msg, 0);
        return 0;
      case CONTROLVM_ID.CHIPSET_STOP:
        this.engine.uevent('offline', CHIPSET_DEVPATH, CHIPSET_SUBSYSTEM, {});
        this.respondIfExpected(msg, 0);
        return 0;
      default:
        this.engine.klog('err', 'visorchipset', `unknown controlvm message id ${controlvmIdName(msg.id)}`);
        this.respondIfExpected(msg, -CONTROLVM_RESP.ID_UNKNOWN);
        return -EINVAL;
    }
  }

  private chipsetInit(msg: ControlvmMessage): number {
    if (this.initialized) {
      // Like the first one, the ALREADY_DONE answer goes out only when a response is expected.
      if (msg.responseExpected) this.respond(msg, -CONTROLVM_RESP.ALREADY_DONE, { ignoreTestFlag: true, build: (m) => m.setU32(MSG.init_features, 0) });
      return -CONTROLVM_RESP.ALREADY_DONE;
    }
    this.initialized = true;
    this.features = (msg.u32(MSG.init_features) & CHIPSET_FEATURE.PARA_HOTPLUG) | CHIPSET_FEATURE.REPLY;
    this.engine.klog('info', 'visorchipset', `chipset initialised, features 0x${this.features.toString(16)}`);
    if (msg.responseExpected) this.respond(msg, 0, { ignoreTestFlag: true, build: (m) => m.setU32(MSG.init_features, this.features) });
    return 0;
  }

  /** save_crash_message: -EIO unless saved_crash_message_count == 2. */
  private saveCrashMessage(msg: ControlvmMessage, device: boolean): number {
    const cnt = new Uint8Array(2);
    if (this.controlvm.read(CONTROLVM_CHANNEL.saved_crash_message_count, cnt) < 0) return -EIO;
    const count = cnt[0] | (cnt[1] << 8);
    if (count !== 2) {
      this.engine.klog('err', 'visorchipset', `saved_crash_message_count is ${count}, expected 2`);
      return -EIO;
    }
    const off = new Uint8Array(4);
    if (this.controlvm.read(CONTROLVM_CHANNEL.saved_crash_message_offset, off) < 0) return -EIO;
    const at = new DataView(off.buffer).getUint32(0, true) + (device ? 128 : 0);
    return this.controlvm.write(at, msg.bytes);
  }

  private busCreate(msg: ControlvmMessage): number {
    const busNo = msg.busNo;
    const existing = this.bus.find(busNo, BUS_ROOT_DEVICE);
    if (existing && existing.created) {
      this.respondIfExpected(msg, -EEXIST);
      return -EEXIST;
    }
    if (msg.guid(MSG.inst_guid) === GUIDS.siovm) {
      const r = this.saveCrashMessage(msg, false);
      if (r < 0) {
        this.respondIfExpected(msg, r);
        return r;
      }
    }
    const addr = msg.u64(MSG.channel_addr);
    const typeGuid = msg.guid(MSG.type_guid);
    const ch = VisorChannel.create(this.memory, addr, typeGuid, `visorbus${busNo}`, 'guest');
    if (typeof ch === 'string') {
      this.engine.klog('err', 'visorchipset', `BUS_CREATE ${busNo}: channel creation failed: ${ch}`);
      this.respondIfExpected(msg, -ENOMEM);
      return -ENOMEM;
    }
    const bus = this.bus.newDevice(busNo, BUS_ROOT_DEVICE, ch, typeGuid, msg.guid(MSG.inst_guid));
    if (msg.responseExpected) bus.pendingMsgHdr = msg;
    const r = this.bus.createBus(bus);
    if (r < 0) {
      this.respondIfExpected(msg, r);
      return r;
    }
    bus.pendingMsgHdr = undefined;
    this.respondIfExpected(msg, 0);
    return 0;
  }

  private busDestroy(msg: ControlvmMessage): number {
    const bus = this.bus.find(msg.busNo, BUS_ROOT_DEVICE);
    const err = !bus ? -ENODEV : !bus.created ? -ENOENT : bus.pendingMsgHdr ? -EEXIST : 0;
    if (err || !bus) {
      this.respondIfExpected(msg, err);
      return err;
    }
    // The response goes out before the bus is unregistered; child devices stay.
    this.respondIfExpected(msg, 0);
    this.bus.removeBus(bus);
    const children = this.bus.devicesOn(bus.busNo).length;
    if (children)
      this.engine.klog('warn', 'visorchipset', `bus ${bus.busNo} destroyed with ${children} device(s) still on it (the kernel leaves them in place)`);
    return 0;
  }

  private busConfigure(msg: ControlvmMessage, payload: Uint8Array | undefined): number {
    const bus = this.bus.find(msg.busNo, BUS_ROOT_DEVICE);
    const err = !bus || !bus.created ? -EINVAL : bus.pendingMsgHdr ? -EIO : 0;
    if (err || !bus) {
      this.respondIfExpected(msg, err);
      return err;
    }
    bus.visorchannel.setClientPartition(msg.u64(MSG.guest_handle));
    if (payload && payload.length >= 72) {
      const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
      bus.partitionGuidRaw = payload.slice(48, 64);
      const nameOff = dv.getUint32(40, true);
      const nameLen = dv.getUint32(44, true);
      if (nameOff + nameLen <= payload.length && nameLen > 0) {
        // parser_name_get reads from the kernel stack (&phdr + name_offset), not the payload.
        // Those bytes are not the guest's to know; read as zeros, the name is empty.
        const raw = this.opts.fixed('busConfigureName') ? payload.subarray(nameOff, nameOff + nameLen) : new Uint8Array(0);
        const z = raw.indexOf(0);
        bus.partitionName = Buffer.from(z >= 0 ? raw.subarray(0, z) : raw).toString('utf8');
      }
    }
    this.engine.klog(
      'info',
      'visorchipset',
      `bus ${bus.busNo} configured: partition handle 0x${msg.u64(MSG.guest_handle).toString(16)}${bus.partitionName ? `, name ${bus.partitionName}` : ''}`,
    );
    this.respondIfExpected(msg, 0);
    return 0;
  }

  private deviceCreate(msg: ControlvmMessage): number {
    const busNo = msg.busNo;
    const devNo = msg.devNo;
    const bus = this.bus.find(busNo, BUS_ROOT_DEVICE);
    let err = !bus ? -ENODEV : !bus.created ? -EINVAL : 0;
    const existing = this.bus.find(busNo, devNo);
    if (!err && existing && existing.created) err = -EEXIST;
    if (err) {
      this.respondIfExpected(msg, err);
      return err;
    }
    const addr = msg.u64(MSG.channel_addr);
    const typeGuid = msg.guid(MSG.type_guid);
    const ch = VisorChannel.create(this.memory, addr, typeGuid, `vbus${busNo}:dev${devNo}`, 'guest');
    if (typeof ch === 'string') {
      this.engine.klog('err', 'visorchipset', `DEVICE_CREATE ${busNo}:${devNo}: channel creation failed: ${ch}`);
      this.respondIfExpected(msg, -ENOMEM);
      return -ENOMEM;
    }
    if (typeGuid === GUIDS.vhba) {
      const r = this.saveCrashMessage(msg, true);
      if (r < 0) {
        this.respondIfExpected(msg, r);
        return r;
      }
    }
    this.opts.prepareDeviceChannel(ch, busNo, devNo);
    const dev = this.bus.newDevice(busNo, devNo, ch, typeGuid, bytesToGuid(msg.bytes, MSG.inst_guid));
    if (msg.responseExpected) dev.pendingMsgHdr = msg;
    this.bus.addDevice(dev, this.opts.autoload());
    dev.pendingMsgHdr = undefined;
    this.respondIfExpected(msg, 0);
    this.bus.runModprobes();
    return 0;
  }

  /**
   * Common checks for CHANGESTATE / DESTROY: missing 19, not created 22, pending 5. Like
   * visorbus_get_device_by_id, dev_no 0xffffffff finds the bus device itself.
   */
  private deviceFor(msg: ControlvmMessage): BusDevice | number {
    const dev = this.bus.find(msg.busNo, msg.devNo);
    if (!dev) return -ENODEV;
    if (!dev.created) return -EINVAL;
    if (dev.pendingMsgHdr) return -EIO;
    return dev;
  }

  private deviceChangestate(msg: ControlvmMessage): number {
    const dev = this.deviceFor(msg);
    if (typeof dev === 'number') {
      this.respondIfExpected(msg, dev);
      return dev;
    }
    if (msg.responseExpected) dev.pendingMsgHdr = msg;
    const state = msg.u16(MSG.cs_state);
    const alive = (state & SEG.alive) !== 0;
    const operating = (state & SEG.operating) !== 0;
    let r: number;
    if (alive && operating) r = this.bus.resumeDevice(dev);
    else if (!alive && !operating) r = this.bus.pauseDevice(dev);
    else {
      this.engine.klog(
        'warn',
        'visorchipset',
        `DEVICE_CHANGESTATE ${dev.name} to state 0x${state.toString(16).padStart(4, '0')}: neither running nor standby; nothing done and no response${msg.responseExpected ? ` (the device now rejects CHANGESTATE/DESTROY with ${EIO})` : ''}`,
      );
      return 0;
    }
    if (r < 0) {
      // The pending header stays set (the kernel leaves the device stuck).
      this.respond(msg, r);
      return r;
    }
    return 0;
  }

  /** device_changestate_responder: called from the bus core's completion. */
  changestateComplete(dev: BusDevice, paused: boolean, status: number): void {
    const hdr = dev.pendingMsgHdr;
    if (!hdr) return;
    dev.pendingMsgHdr = undefined;
    if (hdr.id !== CONTROLVM_ID.DEVICE_CHANGESTATE) return;
    this.respond(hdr, status, {
      ignoreTestFlag: true,
      build: (m) => {
        m.setU32(MSG.bus_no, dev.busNo).setU32(MSG.dev_no, dev.devNo);
        m.setU16(MSG.cs_state, paused ? SEGMENT_STATE.standby : SEGMENT_STATE.running);
        m.setU32(MSG.cs_flags, 0);
      },
    });
  }

  private deviceDestroy(msg: ControlvmMessage): number {
    const dev = this.deviceFor(msg);
    if (typeof dev === 'number') {
      this.respondIfExpected(msg, dev);
      return dev;
    }
    // The response precedes the driver's remove().
    this.respondIfExpected(msg, 0);
    this.bus.removeDevice(dev);
    return 0;
  }

  /** Parahotplug responses: state + phys_device = 1, bus/dev = 0 (§4.3). */
  private respondParahotplug(hdr: ControlvmMessage, state: number, status: number): void {
    this.respond(hdr, status, {
      build: (m) => {
        m.setU16(MSG.cs_state, state);
        m.setU32(MSG.cs_flags, 1);
      },
    });
  }
}
