/**
 * Runtime checks of the custom DAP requests and events of the visorbus adapter: their types are
 * declared once in the emulator's contract (docs/dap-extensions.md); the adapter is another
 * process, so what comes back is checked before the views trust it.
 */
import type * as vscode from 'vscode';
import type {
  ChangedEventBody,
  ChannelResponseBody,
  DeviceAction,
  DevicesResponseBody,
  SysfsEntry,
  TimelineArguments,
  TimelineResponseBody,
  TopologyResponseBody,
  VisorbusCommand,
  VisorbusEvent,
  VisorbusRequests,
} from '../emulator/debug/contract';

export type {
  BusInfo,
  ChangedEventBody,
  ChannelResponseBody as ChannelView,
  DeviceAction,
  DeviceInfo,
  DevicesResponseBody as DevicePage,
  DriverInfo,
  Field,
  Landmark,
  LandmarkKind,
  QueueFill,
  SysfsEntry,
  TimelineArguments,
  TimelineEventBody,
  TimelineResponseBody,
  TopologyResponseBody as Topology,
} from '../emulator/debug/contract';

export const CHANGED_EVENT: VisorbusEvent = 'visorbus/changed';
export const TIMELINE_EVENT: VisorbusEvent = 'visorbus/timeline';
export const DEVICE_PAGE_SIZE = 200;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isArray(x: unknown): x is unknown[] {
  return Array.isArray(x);
}

/** Shape check of a `visorbus/changed` body (events are not trusted blindly). */
export function isChangedEventBody(x: unknown): x is ChangedEventBody {
  return isObject(x) && typeof x.reason === 'string' && typeof x.state === 'string' && isObject(x.time) && typeof x.time.ms === 'number';
}

class ProtocolError extends Error {}

function expect(cond: boolean, request: string, what: string): void {
  if (!cond) throw new ProtocolError(`${request}: the adapter's response has no valid ${what}`);
}

/** Typed wrappers over `session.customRequest` for the visorbus requests. */
export class VisorbusClient {
  constructor(readonly session: vscode.DebugSession) {}

  /** A custom request with the contract's arguments; the body still has to be checked. */
  private request<K extends VisorbusCommand>(command: K, args: VisorbusRequests[K]['arguments']): Thenable<unknown> {
    return this.session.customRequest(command, args);
  }

  async topology(): Promise<TopologyResponseBody> {
    const body = await this.request('visorbus/topology', {});
    expect(isObject(body) && isArray(body.buses) && isArray(body.drivers), 'visorbus/topology', 'buses/drivers');
    return body as TopologyResponseBody;
  }

  async devices(bus: number, start: number, count: number): Promise<DevicesResponseBody> {
    const body = await this.request('visorbus/devices', { bus, start, count });
    expect(isObject(body) && isArray(body.devices) && typeof body.total === 'number', 'visorbus/devices', 'devices/total');
    return body as DevicesResponseBody;
  }

  async sysfs(path: string): Promise<SysfsEntry[]> {
    const body = await this.request('visorbus/sysfs', { path });
    expect(isObject(body) && isArray(body.entries), 'visorbus/sysfs', 'entries');
    return (body as { entries: SysfsEntry[] }).entries;
  }

  async sysfsWrite(path: string, value: string): Promise<void> {
    await this.request('visorbus/sysfsWrite', { path, value });
  }

  async channel(device: string): Promise<ChannelResponseBody> {
    const body = await this.request('visorbus/channel', { device });
    expect(
      isObject(body) && isArray(body.header) && isArray(body.queues) && typeof body.memoryReference === 'string',
      'visorbus/channel',
      'header/queues/memoryReference',
    );
    const ch = body as ChannelResponseBody;
    if (!isArray(ch.extra)) ch.extra = [];
    return ch;
  }

  async deviceAction(device: string, action: DeviceAction): Promise<void> {
    await this.request('visorbus/deviceAction', { device, action });
  }

  async timeline(args: TimelineArguments): Promise<TimelineResponseBody> {
    const body = await this.request('visorbus/timeline', args);
    expect(
      isObject(body) && isArray(body.landmarks) && typeof body.total === 'number' && typeof body.reached === 'number',
      'visorbus/timeline',
      'landmarks/total/reached',
    );
    return body as TimelineResponseBody;
  }

  /** Travel to an event; the adapter answers at once and stops there (a `stopped` event, reason `goto`). */
  async goto(event: number): Promise<void> {
    await this.request('visorbus/goto', { event });
  }

  /** DAP readMemory; returns the bytes read (unreadable bytes are left out). */
  async readMemory(memoryReference: string, offset: number, count: number): Promise<Uint8Array> {
    const body: unknown = await this.session.customRequest('readMemory', { memoryReference, offset, count });
    if (!isObject(body) || typeof body.data !== 'string') return new Uint8Array(0);
    return new Uint8Array(Buffer.from(body.data, 'base64'));
  }

  /** DAP writeMemory; returns bytesWritten when the adapter reports it. */
  async writeMemory(memoryReference: string, offset: number, data: Uint8Array): Promise<number | undefined> {
    const body: unknown = await this.session.customRequest('writeMemory', {
      memoryReference,
      offset,
      data: Buffer.from(data).toString('base64'),
    });
    return isObject(body) && typeof body.bytesWritten === 'number' ? body.bytesWritten : undefined;
  }
}

/** `2:0` -> `vbus2:dev0`; other names (controlvm) unchanged. */
export function deviceDisplayName(id: string): string {
  const m = /^(\d+):(\d+)$/.exec(id);
  return m ? `vbus${m[1]}:dev${m[2]}` : id;
}

/** `vbus2:dev0` -> `2:0`; `2:0` stays; others unchanged. */
export function deviceIdFromName(name: string): string {
  const m = /^vbus(\d+):dev(\d+)$/.exec(name);
  return m ? `${m[1]}:${m[2]}` : name;
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
