/**
 * The typed contract of the adapter's custom DAP requests and events (docs/dap-extensions.md)
 * and of its launch arguments: request arguments, response bodies and event bodies, declared
 * once here and used by the worker that answers them and the extension that sends them
 * (`import type` only: this module has no runtime code, so importing it pulls nothing of the
 * emulator into the extension). tests check docs/dap-extensions.md against the tables at the end.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';

// ---- visorbus/topology ----

/** Virtual time of the model. */
export interface VirtualTime {
  jiffies: number;
  hz: number;
  ms: number;
}

/** Where a channel is in guest memory and what type it is. */
export interface ChannelRef {
  physaddr: number;
  nbytes: number;
  typeGuid: string;
  memoryReference: string;
}

export interface BusInfo {
  bus: number;
  /** `visorbus2` */
  name: string;
  partitionName: string | null;
  /** `/sys/devices/visorbus2` */
  sysfsPath: string;
  channel: ChannelRef;
  deviceCount: number;
}

export interface ChannelTypeInfo {
  guid: string;
  name: string;
  minBytes: number;
  version: number;
}

export interface DriverInfo {
  /** `visorhba` */
  name: string;
  builtin: boolean;
  channelTypes: ChannelTypeInfo[];
  /** Display names of the bound devices: `["vbus2:dev0"]`. */
  devices: string[];
}

/** `visorbus/topology` takes no arguments. */
export type TopologyArguments = Record<string, never>;

export interface TopologyResponseBody {
  time: VirtualTime;
  buses: BusInfo[];
  drivers: DriverInfo[];
  chipset: { initialized: boolean; features: number };
}

// ---- visorbus/devices ----

/** `visorbus/devices`: one page of a bus's devices (buses can hold 10,000). */
export interface DevicesArguments {
  bus: number;
  start?: number;
  count?: number;
}

export type DeviceState = 'running' | 'paused' | 'unbound';

/** How full a device's signal queue is. */
export interface QueueFill {
  index: number;
  head: number;
  tail: number;
  maxSlots: number;
  pending: number;
  signalSize: number;
}

export interface DeviceInfo {
  /** `2:0` */
  id: string;
  /** `vbus2:dev0` */
  name: string;
  bus: number;
  dev: number;
  state: DeviceState;
  driver: string | null;
  typeGuid: string;
  /** Empty until a driver claims the type. */
  typeName: string;
  zoneGuid: string;
  physaddr: number;
  nbytes: number;
  sysfsPath: string;
  /** For readMemory and VS Code's binary view. */
  memoryReference: string;
  queues: QueueFill[];
}

export interface DevicesResponseBody {
  total: number;
  devices: DeviceInfo[];
}

// ---- visorbus/sysfs, visorbus/sysfsWrite ----

export interface SysfsArguments {
  /** A directory. */
  path: string;
}

export interface SysfsEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file' | 'link';
  /** A file's value as `cat` prints it, without the trailing newline. */
  value?: string;
  /** A link's target, relative, as `ls -l` prints it. */
  target?: string;
  writable: boolean;
}

export interface SysfsResponseBody {
  entries: SysfsEntry[];
}

/** `echo value > path`. */
export interface SysfsWriteArguments {
  path: string;
  value: string;
}

/** The requests that change something answer with an empty body. */
export type EmptyBody = Record<string, never>;

// ---- visorbus/channel ----

export interface ChannelArguments {
  /** `2:0` or `controlvm`. */
  device: string;
}

/** A decoded field: where it is, what it holds, whether setVariable/writeMemory may change it. */
export interface Field {
  name: string;
  /** Relative to the channel start. */
  offset: number;
  size: number;
  /** The raw number (decimal) or hex bytes. */
  value: string;
  /** The human form: enum name, GUID text, string. */
  display: string;
  writable: boolean;
}

export interface PendingSignal {
  slot: number;
  offset: number;
  summary: string;
  fields: Field[];
}

export interface QueueView {
  index: number;
  /** e.g. `EVENT (2)` */
  name: string;
  /** Channel offset of the signal_queue_header. */
  offset: number;
  fields: Field[];
  head: number;
  tail: number;
  maxSlots: number;
  signalSize: number;
  /** All pending signals; `pending` lists at most the oldest 256. */
  pendingCount: number;
  pending: PendingSignal[];
}

export interface ChannelResponseBody {
  device: string;
  physaddr: number;
  nbytes: number;
  memoryReference: string;
  typeGuid: string;
  typeName: string;
  /** The 128-byte channel_header, decoded. */
  header: Field[];
  /** Type-specific fields (controlvm install fields, vnic mac, ...). */
  extra: Field[];
  queues: QueueView[];
}

// ---- visorbus/deviceAction ----

export type DeviceAction = 'pause' | 'resume' | 'destroy';

export interface DeviceActionArguments {
  /** `2:0` */
  device: string;
  action: DeviceAction;
}

// ---- visorbus/timeline, visorbus/goto, visorbus/checkpoints ----

/** What a landmark of the run's history marks. */
export type LandmarkKind =
  | 'line' // a scenario line started
  | 'controlvm' // visorchipset answered a controlvm message (with its response code)
  | 'probe' // a driver's probe() was called
  | 'pauseResume' // a driver's pause() or resume() was called
  | 'interruptFailure' // channel_interrupt threw or a channel operation in it failed
  | 'driverError' // a driver threw, failed a probe/pause/resume, or touched a paused channel
  | 'breakpoint' // the run stopped at a breakpoint (line, function, data or exception)
  | 'expect'; // an expect line did not hold

export interface Landmark {
  /** The event's number (1-based); `visorbus/goto` travels to it. */
  event: number;
  kind: LandmarkKind;
  /** Virtual time of the event. */
  jiffies: number;
  ms: number;
  /** What happened, e.g. `visorhba.probe(vbus2:dev0)`, `response CHIPSET_INIT: status 0`. */
  text: string;
  /** The scenario line the event belongs to, when it belongs to one. */
  line?: number;
  /** The DAP thread the event ran on. */
  threadId: number;
}

/** `visorbus/timeline` request arguments: one page of the landmarks, oldest first. */
export interface TimelineArguments {
  /** Index of the first landmark of the page within the (filtered) list; default 0. */
  start?: number;
  /** Landmarks wanted, 1..1000; default 200. */
  count?: number;
  /** Only these kinds (default: all). */
  filter?: LandmarkKind[];
  /** Only landmarks whose text contains this (case-insensitive). */
  text?: string;
}

export interface TimelineResponseBody {
  /** Landmarks in the (filtered) list: pages go up to it. */
  total: number;
  start: number;
  landmarks: Landmark[];
  /** Landmarks of each kind seen since the run started, kept or not. */
  seen: Record<LandmarkKind, number>;
  /** Landmarks dropped because their kind's store was full (the oldest go first). */
  dropped: number;
  /** The furthest event the run has reached (the end of the recorded history). */
  reached: number;
}

/** `visorbus/goto` request arguments: travel to an event of the recorded history. */
export interface GotoArguments {
  event: number;
}

/** `visorbus/goto` has an empty response; the arrival is a `stopped` event with reason `goto`. */
export type GotoResponseBody = undefined;

/** `visorbus/timeline` event: new landmarks were recorded (sent at most twice a second while running). */
export interface TimelineEventBody {
  /** Landmarks kept, over all kinds. */
  total: number;
  reached: number;
}

/** `visorbus/checkpoints` request arguments. */
export interface CheckpointsArguments {
  /** Answer once every standby worker has parked (and say what they hold). */
  settle?: boolean;
}

/** How trips in time were carried out in this session. */
export interface TripCounts {
  /** By a standby worker at or before the target. */
  promoted: number;
  /** By a new worker replaying from the start. */
  fromStart: number;
  /** Searches of the history made by a standby worker. */
  scouted: number;
}

/** `visorbus/checkpoints` response: the standby workers kept for time travel, newest position first. */
export interface CheckpointsResponseBody {
  enabled: boolean;
  slots: number;
  checkpoints: { event: number; parked?: boolean }[];
  trips: TripCounts;
  /** With `settle`: heap and array buffers held by the standby workers, and by the live model. */
  bytes?: number;
  liveBytes?: number;
}

/** Why a `visorbus/changed` event was sent. `time`: the run advanced (sent at least 4 times a second while running). */
export type ChangedReason = 'stopped' | 'topology' | 'memory' | 'terminated' | 'time';

/** `visorbus/changed` event: what the views show may have changed. */
export interface ChangedEventBody {
  reason: ChangedReason;
  time: { jiffies: number; ms: number };
  eventIndex: number;
  state: 'running' | 'stopped' | 'ended';
}

// ---- launch and attach ----

/** The arguments of `launch` (and of an `attach` that gives a scenario); launchschema.ts checks them. */
export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** The .visor file to run. */
  scenario: string;
  stopOnEntry?: boolean;
  /** Stop at the end of the scenario (default) instead of ending the session. */
  stopAtEnd?: boolean;
  /** Driver modules loaded before the first line, relative to the scenario's folder. */
  drivers?: string[];
  autoload?: boolean;
  pollIntervalMs?: number;
  trace?: boolean;
  /** Standby workers kept for time travel (0: none; step back re-runs from the start). */
  checkpoints?: number;
  /** Kernel defects to correct: true = all, or a list of names (kernel/kernelbugs.ts). */
  fixKernelBugs?: boolean | string[];
  /** Host files a scenario names may be outside its folder and the workspace (the user opted in). */
  allowOutsideFiles?: boolean;
  /** False in an untrusted workspace: no user driver modules. */
  allowUserDrivers?: boolean;
  /** Folders a scenario's host files may be in besides its own (the workspace). */
  workspaceFolders?: string[];
  /** Over TCP: the token the server printed when it started. */
  token?: string;
}

/** The arguments of `attach`: a scenario to start, or none to adopt the model a previous client left running. */
export interface AttachArguments extends DebugProtocol.AttachRequestArguments, Partial<Omit<LaunchArguments, '__restart'>> {}

/** The custom events above, by name. */
export interface VisorbusEvents {
  'visorbus/changed': ChangedEventBody;
  'visorbus/timeline': TimelineEventBody;
}

/** The custom requests above, by name: what a client sends and what comes back. */
export interface VisorbusRequests {
  'visorbus/topology': { arguments: TopologyArguments; body: TopologyResponseBody };
  'visorbus/devices': { arguments: DevicesArguments; body: DevicesResponseBody };
  'visorbus/sysfs': { arguments: SysfsArguments; body: SysfsResponseBody };
  'visorbus/sysfsWrite': { arguments: SysfsWriteArguments; body: EmptyBody };
  'visorbus/channel': { arguments: ChannelArguments; body: ChannelResponseBody };
  'visorbus/deviceAction': { arguments: DeviceActionArguments; body: EmptyBody };
  'visorbus/timeline': { arguments: TimelineArguments; body: TimelineResponseBody };
  'visorbus/goto': { arguments: GotoArguments; body: GotoResponseBody };
  'visorbus/checkpoints': { arguments: CheckpointsArguments; body: CheckpointsResponseBody };
}

export type VisorbusCommand = keyof VisorbusRequests;
export type VisorbusEvent = keyof VisorbusEvents;
