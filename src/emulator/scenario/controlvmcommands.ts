/**
 * The scenario commands that become controlvm messages: chipset, bus and device
 * lifecycle, state changes, parahotplug, partition recovery and raw `controlvm send`.
 * The Command partition lays out a channel before its create message and gives it back
 * when the guest refuses the create or has carried out the destroy.
 */
import { instanceGuid } from '../emulator';
import { CONTROLVM_ID, ControlvmMessage, MSG, SEGMENT_STATE } from '../protocol/controlvm';
import { PAYLOAD_OFFSET } from '../backend/commandpartition';
import type { BackendDevice } from '../backend/servicepartition';
import type { Command } from './ast';
import { StepError, type StepRun } from './steprun';

type Cmd<K extends Command['kind']> = Extract<Command, { kind: K }>;

export function runChipsetInit(r: StepRun, c: Cmd<'chipsetInit'>): void {
  r.deliver(r.emu.cp.chipsetInit(c.features));
}

export function runChipsetReady(r: StepRun): void {
  r.deliver(r.emu.cp.message(CONTROLVM_ID.CHIPSET_READY));
}

export function runChipsetSelftest(r: StepRun): void {
  r.deliver(r.emu.cp.message(CONTROLVM_ID.CHIPSET_SELFTEST));
}

export function runChipsetStop(r: StepRun): void {
  r.deliver(r.emu.cp.message(CONTROLVM_ID.CHIPSET_STOP));
}

export function runBusCreate(r: StepRun, c: Cmd<'busCreate'>): void {
  const { emu } = r;
  const cp = emu.cp;
  const { msg, addr } = allocating(() =>
    cp.busCreate({ bus: c.bus, bytes: c.bytes, addr: c.addr, devCount: c.devCount, instGuid: instanceGuid(c.bus, 0xffffffff) }),
  );
  // A refused bus (duplicate, bad channel) never uses the channel laid out for it: give it
  // back; so does a message the guest could not be given (its channel would be unmapped by then).
  const responses = releasingOnThrow(r, addr, () => r.deliver(msg));
  if (responses.some((x) => x.failed) && emu.busDevice(c.bus)?.visorchannel.physaddr !== addr) cp.release(addr);
  if (c.name !== undefined || c.handle !== undefined || c.partitionGuid !== undefined)
    r.deliver(cp.busConfigure(c.bus, c.handle ?? 0, c.name, c.partitionGuid));
}

export function runBusConfigure(r: StepRun, c: Cmd<'busConfigure'>): void {
  r.deliver(r.emu.cp.busConfigure(c.bus, c.handle ?? 0, c.name, c.partitionGuid));
}

export function runBusDestroy(r: StepRun, c: Cmd<'busDestroy'>): void {
  const { emu } = r;
  const addr = emu.busDevice(c.bus)?.visorchannel.physaddr;
  const responses = r.deliver(emu.cp.busMessage(CONTROLVM_ID.BUS_DESTROY, c.bus));
  // The guest has let go of the bus channel: the back-end releases it (child devices keep their own).
  if (addr !== undefined && responses.some((x) => !x.failed) && !emu.busDevice(c.bus)) emu.cp.release(addr);
}

export function runDeviceCreate(r: StepRun, c: Cmd<'deviceCreate'>): void {
  const { emu } = r;
  const cp = emu.cp;
  const key = `${c.device.bus}:${c.device.dev}`;
  const known = emu.backendDevices.get(key);
  if (known && emu.memory.isMapped(known.physaddr, 1) && emu.device(c.device.bus, c.device.dev)) {
    // Still send it: the guest answers a duplicate with EEXIST.
    r.deliver(
      cp.deviceMessage(CONTROLVM_ID.DEVICE_CREATE, c.device.bus, c.device.dev).setU64(MSG.channel_addr, known.physaddr).setGuid(MSG.type_guid, known.typeGuid),
    );
    return;
  }
  if (known) forgetDevice(r, known); // the guest never took (or has dropped) that channel
  const { msg, addr, bytes } = allocating(() =>
    cp.deviceCreate({
      bus: c.device.bus,
      dev: c.device.dev,
      typeGuid: c.typeGuid,
      instGuid: c.instanceGuid ?? instanceGuid(c.device.bus, c.device.dev),
      bytes: c.bytes,
      addr: c.addr,
      zoneGuid: c.zoneGuid,
      partition: c.partition,
      version: c.version,
      headerTypeGuid: c.headerTypeGuid,
    }),
  );
  const bd = { bus: c.device.bus, dev: c.device.dev, id: key, typeGuid: c.typeGuid, physaddr: addr, nbytes: Math.ceil(bytes / 4096) * 4096 };
  emu.backendDevices.set(key, bd);
  emu.backendFor(c.typeGuid)?.deviceCreated?.(bd);
  let responses: ControlvmMessage[];
  try {
    responses = r.deliver(msg);
  } catch (e) {
    forgetDevice(r, bd);
    throw e;
  }
  if (responses.some((x) => x.failed)) forgetDevice(r, bd);
}

export function runDeviceDestroy(r: StepRun, c: Cmd<'deviceDestroy'>): void {
  const { emu } = r;
  const key = `${c.device.bus}:${c.device.dev}`;
  const responses = r.deliver(emu.cp.deviceMessage(CONTROLVM_ID.DEVICE_DESTROY, c.device.bus, c.device.dev));
  const bd = emu.backendDevices.get(key);
  if (bd && responses.some((x) => !x.failed) && !emu.device(c.device.bus, c.device.dev)) {
    emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
    emu.backendDevices.delete(key);
    emu.cp.release(bd.physaddr);
  }
}

export function runDevicePause(r: StepRun, c: Cmd<'devicePause'>): void {
  r.deliver(r.emu.cp.changeState(c.device.bus, c.device.dev, SEGMENT_STATE.standby));
}

export function runDeviceResume(r: StepRun, c: Cmd<'deviceResume'>): void {
  r.deliver(r.emu.cp.changeState(c.device.bus, c.device.dev, SEGMENT_STATE.running));
}

export function runDeviceState(r: StepRun, c: Cmd<'deviceState'>): void {
  r.deliver(r.emu.cp.changeState(c.device.bus, c.device.dev, c.state));
}

export function runDeviceConfigure(r: StepRun, c: Cmd<'deviceConfigure'>): void {
  r.deliver(r.emu.cp.deviceMessage(CONTROLVM_ID.DEVICE_CONFIGURE, c.device.bus, c.device.dev));
}

/** partition recover: pause every device of the bus, restart the back-end, resume them. */
export function runPartitionRecover(r: StepRun, c: Cmd<'partitionRecover'>): void {
  const { emu } = r;
  const bus = c.bus;
  const devs = [...emu.backendDevices.values()].filter((d) => d.bus === bus && emu.device(d.bus, d.dev)).sort((a, b) => a.dev - b.dev);
  if (!devs.length && !emu.busDevice(bus)) throw new StepError(`bus ${bus} does not exist`);
  emu.engine.klog('info', 'scenario', `service partition of bus ${bus} recovering: pausing ${devs.length} device(s)`);
  for (const d of devs) r.deliver(emu.cp.changeState(d.bus, d.dev, SEGMENT_STATE.standby));
  for (const b of emu.backends) b.recover?.(bus);
  for (const d of devs) r.deliver(emu.cp.changeState(d.bus, d.dev, SEGMENT_STATE.running));
}

export function runParahotplug(r: StepRun, c: Cmd<'parahotplug'>): void {
  r.deliver(r.emu.cp.changeState(c.device.bus, c.device.dev, c.enable ? SEGMENT_STATE.running : SEGMENT_STATE.running & ~2, true));
}

export function runControlvmSend(r: StepRun, c: Cmd<'controlvmSend'>): void {
  const { emu } = r;
  const m = rawMessage(r, c.id, c.fields);
  const busAddr = c.id === CONTROLVM_ID.BUS_DESTROY ? emu.busDevice(m.busNo)?.visorchannel.physaddr : undefined;
  r.deliver(m);
  // The CP knows what it sent: a raw destroy the guest carried out frees that channel too.
  if (busAddr !== undefined && !emu.busDevice(m.busNo)) emu.cp.release(busAddr);
  if (c.id === CONTROLVM_ID.DEVICE_DESTROY) {
    const bd = emu.backendDevices.get(`${m.busNo}:${m.devNo}`);
    if (bd && !emu.device(m.busNo, m.devNo)) {
      emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
      emu.backendDevices.delete(bd.id);
      emu.cp.release(bd.physaddr);
    }
  }
}

/** The back-end lets go of a device channel the guest does not use. */
function forgetDevice(r: StepRun, bd: BackendDevice): void {
  r.emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
  if (r.emu.backendDevices.get(bd.id) === bd) r.emu.backendDevices.delete(bd.id);
  if (r.emu.memory.isMapped(bd.physaddr, 1)) r.emu.cp.release(bd.physaddr);
}

/** Run `fn`; if it throws, give back the channel at `addr` first. */
function releasingOnThrow<T>(r: StepRun, addr: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    r.emu.cp.release(addr);
    throw e;
  }
}

/** A channel the Command partition cannot lay out is an error of the line. */
function allocating<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new StepError(e instanceof Error ? e.message : String(e));
  }
}

/** `controlvm send`: a message with the fields as given, valid or not. */
function rawMessage(r: StepRun, id: number, fields: Record<string, number | string>): ControlvmMessage {
  const m = r.emu.cp.message(id);
  for (const [k, v] of Object.entries(fields)) {
    const n = typeof v === 'number' ? v : Number(v);
    switch (k) {
      case 'bus':
        m.setU32(MSG.bus_no, n);
        break;
      case 'dev':
        m.setU32(MSG.dev_no, n);
        break;
      case 'flags':
        m.setU32(MSG.flags, n);
        break;
      case 'status':
        m.setU32(MSG.completion_status, n);
        break;
      case 'handle':
        m.setU64(MSG.message_handle, n);
        break;
      case 'state':
        m.setU16(MSG.cs_state, n);
        break;
      case 'size':
        m.setU32(MSG.message_size, n);
        break;
      case 'payload': {
        const hex = String(v).replace(/^hex:/, '');
        const data = Buffer.from(hex, 'hex');
        r.emu.memory.write(r.emu.cp.controlvm.physaddr + PAYLOAD_OFFSET, data);
        m.setU64(MSG.payload_vm_offset, PAYLOAD_OFFSET).setU32(MSG.payload_bytes, data.length);
        break;
      }
      case 'payload_bytes':
        m.setU64(MSG.payload_vm_offset, PAYLOAD_OFFSET).setU32(MSG.payload_bytes, n);
        break;
      default:
        throw new StepError(`unknown controlvm field '${k}'`);
    }
  }
  return m;
}
