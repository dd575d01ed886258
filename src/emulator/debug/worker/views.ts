/**
 * The custom requests of docs/dap-extensions.md: topology, paged devices, sysfs listing
 * and writes, decoded channels, device actions. Reads never become model events (the
 * controlvm channel's observer is silenced while sysfs attributes are read), so looking
 * does not change the history that replays repeat.
 */
import { StopState, UserError } from './stopstate';
import type { Journal } from './journal';
import type { Output } from './output';
import { channelTarget, decodeChannel, hexRef, parseDeviceId, queuesOf } from './decode';
import { deviceState } from '../../inspect/fields';
import { SysfsError } from '../../sysfs/sysfs';
import type { Emulator } from '../../emulator';
import type {
  ChannelArguments,
  ChannelResponseBody,
  DeviceActionArguments,
  DevicesArguments,
  DevicesResponseBody,
  EmptyBody,
  SysfsArguments,
  SysfsResponseBody,
  SysfsWriteArguments,
  TopologyResponseBody,
} from '../contract';

/** What the views need of the worker: the model, whether it is stopped, the journal for interventions, console output. */
export interface ViewsHost {
  readonly emu: Emulator;
  readonly stop: StopState | undefined;
  readonly journal: Pick<Journal, 'intervene' | 'passively' | 'record'>;
  readonly out: Pick<Output, 'output' | 'flushOutput'>;
}

export class Views {
  constructor(private readonly ctl: ViewsHost) {}

  private get emu(): Emulator {
    return this.ctl.emu;
  }

  topology(): TopologyResponseBody {
    const emu = this.emu;
    const e = emu.engine;
    const drivers = [...emu.bus.drivers.values()].map((drv) => ({
      name: drv.name,
      builtin: emu.bus.builtinNames.has(drv.name),
      channelTypes: drv.channelTypes.map((t) => ({ guid: t.guid, name: t.name, minBytes: t.minBytes, version: t.version })),
      devices: [...emu.bus.devices.values()]
        .filter((d) => !d.isBus && d.driver === drv)
        .sort((a, b) => a.busNo - b.busNo || a.devNo - b.devNo)
        .map((d) => d.name),
    }));
    return {
      time: { jiffies: e.jiffies, hz: e.clock.hz, ms: e.clock.jiffiesToMs(e.jiffies) },
      buses: emu.bus.buses().map((b) => ({
        bus: b.busNo,
        name: b.name,
        partitionName: b.partitionName,
        sysfsPath: b.sysfsPath,
        channel: {
          physaddr: b.visorchannel.physaddr,
          nbytes: b.visorchannel.nbytes,
          typeGuid: b.channelTypeGuid,
          memoryReference: hexRef(b.visorchannel.physaddr),
        },
        deviceCount: emu.bus.devicesOn(b.busNo).length,
      })),
      drivers,
      chipset: { initialized: emu.chipset.initialized, features: emu.chipset.features },
    };
  }

  devices(a: DevicesArguments): DevicesResponseBody {
    const bus = Number(a.bus);
    if (!Number.isInteger(bus) || bus < 0) throw new UserError(`visorbus/devices: "bus" must be a bus number, not ${JSON.stringify(a.bus)}`);
    const start = Math.max(0, Number(a.start ?? 0) || 0);
    const count = Math.max(0, a.count === undefined ? 200 : Number(a.count) || 0);
    const emu = this.emu;
    const all = emu.bus.devicesOn(bus);
    const devices = all.slice(start, start + count).map((d) => {
      const ch = d.visorchannel;
      const t = channelTarget(emu, d.id);
      return {
        id: d.id,
        name: d.name,
        bus: d.busNo,
        dev: d.devNo,
        state: deviceState(d),
        driver: d.driver?.name ?? null,
        typeGuid: d.channelTypeGuid,
        typeName: d.typeName,
        zoneGuid: ch.zoneGuid,
        physaddr: ch.physaddr,
        nbytes: ch.nbytes,
        sysfsPath: d.sysfsPath,
        memoryReference: hexRef(ch.physaddr),
        queues: t
          ? queuesOf(emu.memory, t).map((g) => ({
              index: g.index,
              head: g.head,
              tail: g.tail,
              maxSlots: g.maxSlots,
              pending: g.pending,
              signalSize: g.signalSize,
            }))
          : [],
      };
    });
    return { total: all.length, devices };
  }

  /** Read sysfs without the reads becoming model events; if some did anyway, the read is journaled. */
  quietly<T>(emu: Emulator, fn: () => T, journalPath?: string): T {
    const chans = [emu.chipset.controlvm, ...[...emu.bus.devices.values()].map((d) => d.visorchannel)];
    const saved = chans.map((c) => ({ c, o: c.observer, g: c.guard }));
    for (const c of chans) {
      c.observer = undefined;
      c.guard = undefined;
    }
    const before = emu.engine.log.count;
    try {
      return this.ctl.journal.passively(fn);
    } finally {
      for (const s of saved) {
        s.c.observer = s.o;
        s.c.guard = s.g;
      }
      if (journalPath !== undefined && emu.engine.log.count !== before) this.ctl.journal.record({ kind: 'sysfsRead', pos: { n: 0, w: 0 }, path: journalPath });
    }
  }

  sysfs(a: SysfsArguments): SysfsResponseBody {
    const p = String(a.path ?? '');
    if (!p.startsWith('/')) throw new UserError(`visorbus/sysfs: "path" must be an absolute path such as /sys/bus/visorbus, not ${JSON.stringify(a.path)}`);
    const emu = this.emu;
    try {
      return { entries: this.quietly(emu, () => emu.sysfs.list(p), p) };
    } catch (e) {
      throw sysfsError(e, `ls ${p}`);
    }
  }

  /** `cat PATH` (the console): a file's value, or a link's target. */
  cat(p: string): string {
    const emu = this.emu;
    const link = emu.sysfs.readlink(p);
    if (link !== undefined) return `-> ${link}`;
    try {
      return this.quietly(emu, () => emu.sysfs.read(p), p).replace(/\n$/, '');
    } catch (e) {
      throw sysfsError(e, `cat ${p}`);
    }
  }

  ls(p: string): ReturnType<Emulator['sysfs']['list']> {
    const emu = this.emu;
    try {
      return this.quietly(emu, () => emu.sysfs.list(p), p);
    } catch (e) {
      throw sysfsError(e, `ls ${p}`);
    }
  }

  sysfsWrite(a: SysfsWriteArguments): EmptyBody {
    const p = String(a.path ?? '');
    if (!p.startsWith('/')) throw new UserError(`visorbus/sysfsWrite: "path" must be an absolute sysfs path, not ${JSON.stringify(a.path)}`);
    if (typeof a.value !== 'string' && typeof a.value !== 'number') throw new UserError('visorbus/sysfsWrite: "value" must be a string');
    this.write(p, String(a.value));
    return {};
  }

  /** `echo value > path`, journaled for replays. */
  write(p: string, value: string): void {
    try {
      this.ctl.journal.intervene({ kind: 'sysfsWrite', pos: { n: 0, w: 0 }, path: p, value });
    } catch (e) {
      throw sysfsError(e, `echo ${value} > ${p}`);
    }
  }

  channel(a: ChannelArguments): ChannelResponseBody {
    const id = String(a.device ?? '');
    const emu = this.emu;
    if (!parseDeviceId(id)) throw new UserError(`visorbus/channel: '${id}' is not a device (use BUS:DEV like 2:0, or controlvm)`);
    const t = channelTarget(emu, id);
    if (!t) throw new UserError(`visorbus/channel: device ${id} has no channel (it does not exist)`);
    const v = decodeChannel(emu, t, 256);
    const strip = <T extends { layout?: unknown }>(f: T) => {
      const { layout: _l, ...rest } = f;
      return rest;
    };
    return {
      ...v,
      header: v.header.map(strip),
      extra: v.extra.map(strip),
      queues: v.queues.map((q) => ({ ...q, fields: q.fields.map(strip), pending: q.pending.map((s) => ({ ...s, fields: s.fields.map(strip) })) })),
    };
  }

  deviceAction(a: DeviceActionArguments): EmptyBody {
    const id = String(a.device ?? '');
    const action = String(a.action ?? '');
    if (!['pause', 'resume', 'destroy'].includes(action))
      throw new UserError(`visorbus/deviceAction: action must be pause, resume or destroy, not '${action}'`);
    const p = parseDeviceId(id);
    if (!p || p === 'controlvm' || p.dev === undefined) throw new UserError(`visorbus/deviceAction: '${id}' is not a device (use BUS:DEV like 2:0)`);
    if (!this.ctl.stop)
      throw new UserError('visorbus/deviceAction: only while stopped (pause the session first); the guest handles it when the session continues', true);
    if (!this.emu.device(p.bus, p.dev)) throw new UserError(`visorbus/deviceAction: device ${id} does not exist`);
    const text = `device ${action} ${p.bus}:${p.dev}`;
    const err = this.ctl.journal.intervene({ kind: 'command', pos: { n: 0, w: 0 }, text });
    if (err) throw new UserError(`${text}: ${err}`, true);
    this.ctl.out.output('console', `${text}: queued on the controlvm channel; the guest handles it when the session continues\n`);
    this.ctl.out.flushOutput();
    return {};
  }
}

function sysfsError(e: unknown, what: string): UserError {
  if (e instanceof SysfsError) return new UserError(`${what}: ${e.message.slice(e.path.length + 2)} (${e.errno})`);
  if (e instanceof UserError) return e;
  return new UserError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
}
