/**
 * The custom DAP requests and events of the visorbus adapter (docs/dap-extensions.md), typed for
 * the extension, plus small runtime checks: the adapter is another process, so what comes back is
 * checked before the views trust it.
 */
import type * as vscode from 'vscode';
import type { ChangedEventBody, GotoArguments, TimelineArguments, TimelineResponseBody } from '../emulator/debug/contract';

export type { ChangedEventBody, Landmark, LandmarkKind, TimelineArguments, TimelineEventBody, TimelineResponseBody } from '../emulator/debug/contract';

export interface VirtualTime { jiffies: number; hz?: number; ms: number }

export interface ChannelRef { physaddr: number; nbytes: number; typeGuid: string; memoryReference: string }

export interface BusInfo {
  bus: number;
  name: string;
  partitionName: string | null;
  sysfsPath: string;
  channel: ChannelRef;
  deviceCount: number;
}

export interface ChannelTypeInfo { guid: string; name: string; minBytes: number; version: number }

export interface DriverInfo { name: string; builtin: boolean; channelTypes: ChannelTypeInfo[]; devices: string[] }

export interface Topology {
  time: VirtualTime;
  buses: BusInfo[];
  drivers: DriverInfo[];
  chipset: { initialized: boolean; features: number };
}

export type DeviceState = 'running' | 'paused' | 'unbound';

export interface QueueFill { index: number; head: number; tail: number; maxSlots: number; pending: number; signalSize: number }

export interface DeviceInfo {
  id: string;
  name: string;
  bus: number;
  dev: number;
  state: DeviceState;
  driver: string | null;
  typeGuid: string;
  typeName: string;
  zoneGuid: string;
  physaddr: number;
  nbytes: number;
  sysfsPath: string;
  memoryReference: string;
  queues: QueueFill[];
}

export interface DevicePage { total: number; devices: DeviceInfo[] }

export interface SysfsEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file' | 'link';
  value?: string;
  target?: string;
  writable: boolean;
}

export interface Field { name: string; offset: number; size: number; value: string; display: string; writable: boolean }

export interface PendingSignal { slot: number; offset: number; summary: string; fields: Field[] }

export interface QueueView {
  index: number;
  name: string;
  offset: number;
  fields: Field[];
  head: number;
  tail: number;
  maxSlots: number;
  signalSize: number;
  pending: PendingSignal[];
}

export interface ChannelView {
  device: string;
  physaddr: number;
  nbytes: number;
  memoryReference: string;
  typeGuid: string;
  typeName: string;
  header: Field[];
  extra: Field[];
  queues: QueueView[];
}

export type DeviceAction = 'pause' | 'resume' | 'destroy';

export const CHANGED_EVENT = 'visorbus/changed';
export const TIMELINE_EVENT = 'visorbus/timeline';
export const DEVICE_PAGE_SIZE = 200;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isArray(x: unknown): x is unknown[] {
  return Array.isArray(x);
}

/** Shape check of a `visorbus/changed` body (events are not trusted blindly). */
export function isChangedEventBody(x: unknown): x is ChangedEventBody {
  return isObject(x) && typeof x.reason === 'string' && typeof x.state === 'string' &&
    isObject(x.time) && typeof x.time.ms === 'number';
}

class ProtocolError extends Error {}

function expect(cond: boolean, request: string, what: string): void {
  if (!cond) throw new ProtocolError(`${request}: the adapter's response has no valid ${what}`);
}

/** Typed wrappers over `session.customRequest` for the visorbus requests. */
export class VisorbusClient {
  constructor(readonly session: vscode.DebugSession) {}

  async topology(): Promise<Topology> {
    const body: unknown = await this.session.customRequest('visorbus/topology', {});
    expect(isObject(body) && isArray(body.buses) && isArray(body.drivers), 'visorbus/topology', 'buses/drivers');
    return body as unknown as Topology;
  }

  async devices(bus: number, start: number, count: number): Promise<DevicePage> {
    const body: unknown = await this.session.customRequest('visorbus/devices', { bus, start, count });
    expect(isObject(body) && isArray(body.devices) && typeof body.total === 'number', 'visorbus/devices', 'devices/total');
    return body as unknown as DevicePage;
  }

  async sysfs(path: string): Promise<SysfsEntry[]> {
    const body: unknown = await this.session.customRequest('visorbus/sysfs', { path });
    expect(isObject(body) && isArray(body.entries), 'visorbus/sysfs', 'entries');
    return (body as { entries: SysfsEntry[] }).entries;
  }

  async sysfsWrite(path: string, value: string): Promise<void> {
    await this.session.customRequest('visorbus/sysfsWrite', { path, value });
  }

  async channel(device: string): Promise<ChannelView> {
    const body: unknown = await this.session.customRequest('visorbus/channel', { device });
    expect(isObject(body) && isArray(body.header) && isArray(body.queues) && typeof body.memoryReference === 'string',
      'visorbus/channel', 'header/queues/memoryReference');
    const ch = body as unknown as ChannelView;
    if (!isArray(ch.extra)) ch.extra = [];
    return ch;
  }

  async deviceAction(device: string, action: DeviceAction): Promise<void> {
    await this.session.customRequest('visorbus/deviceAction', { device, action });
  }

  async timeline(args: TimelineArguments): Promise<TimelineResponseBody> {
    const body: unknown = await this.session.customRequest('visorbus/timeline', args);
    expect(isObject(body) && isArray(body.landmarks) && typeof body.total === 'number' && typeof body.reached === 'number', 'visorbus/timeline', 'landmarks/total/reached');
    return body as unknown as TimelineResponseBody;
  }

  /** Travel to an event; the adapter answers at once and stops there (a `stopped` event, reason `goto`). */
  async goto(event: number): Promise<void> {
    const args: GotoArguments = { event };
    await this.session.customRequest('visorbus/goto', args);
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
      memoryReference, offset, data: Buffer.from(data).toString('base64'),
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
