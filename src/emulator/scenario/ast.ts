/**
 * The parsed form of a `.visor` scenario. One step per non-empty, non-comment line.
 * The parser (parser.ts) produces it; the runner (runner.ts) executes it.
 * Every number is already converted (decimal or 0x hex; sizes with k/M suffixes);
 * every GUID is canonical lower-case text (aliases resolved).
 */

/** A position in the scenario source: 1-based line, 1-based columns (end exclusive). */
export interface Location {
  line: number;
  column: number;
  endColumn: number;
}

/** A device reference `BUS:DEV`. */
export interface DeviceRef {
  bus: number;
  dev: number;
}

/** Comparison used by `expect`. */
export type ExpectOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains';

/** What `expect` looks at: a sysfs path, or a channel / queue field of a device (or the controlvm channel). */
export type ExpectSubject =
  | { kind: 'sysfs'; path: string }
  /** `2:0.header.size`, `2:0.queue[1].num_sent`, `controlvm.queue[2].head` */
  | { kind: 'field'; device: DeviceRef | 'controlvm'; field: string }
  /** Anything the runner/drivers expose by name, e.g. `input "visor Keyboard".keys`, `disk 2:0 lun=0 reads` */
  | { kind: 'counter'; name: string };

export type Command =
  | { kind: 'chipsetInit'; features: number }
  | { kind: 'chipsetReady' }
  | { kind: 'chipsetSelftest' }
  | { kind: 'chipsetStop' }
  /** `driver load visorhba` or `driver load ./drivers/my.js` (isPath when it contains a `/` or ends in .js/.ts). */
  | { kind: 'driverLoad'; name: string; isPath: boolean }
  | { kind: 'driverUnload'; name: string }
  | { kind: 'autoload'; on: boolean }
  /** `bus create 2 [name=io] [bytes=0x1000] [addr=0x...] [handle=0x...] [guid=<partition guid>]` */
  | { kind: 'busCreate'; bus: number; name?: string; bytes?: number; addr?: number; handle?: number; partitionGuid?: string; devCount?: number }
  /** `bus configure 2 [handle=N] [name=S] [guid=G]` */
  | { kind: 'busConfigure'; bus: number; handle?: number; name?: string; partitionGuid?: string }
  | { kind: 'busDestroy'; bus: number }
  /** `device create 2:0 type=vhba [bytes=N] [addr=N] [zone=G] [partition=N] [version=N] [chtype=G]` */
  | {
      kind: 'deviceCreate';
      device: DeviceRef;
      typeGuid: string;
      bytes?: number;
      addr?: number;
      zoneGuid?: string;
      partition?: number;
      /** header version_id written by the back-end (default: the type's expected version). */
      version?: number;
      /** header chtype written by the back-end when it must differ from `type` (mismatch testing). */
      headerTypeGuid?: string;
      /** the instance GUID; default derived deterministically from bus/dev. */
      instanceGuid?: string;
    }
  | { kind: 'deviceDestroy'; device: DeviceRef }
  | { kind: 'devicePause'; device: DeviceRef }
  | { kind: 'deviceResume'; device: DeviceRef }
  /** `device state 2:0 running|standby|paused|0x77` — raw DEVICE_CHANGESTATE with that segment state. */
  | { kind: 'deviceState'; device: DeviceRef; state: number }
  | { kind: 'deviceConfigure'; device: DeviceRef }
  | { kind: 'partitionRecover'; bus: number }
  /** `wait 10ms` / `wait 2s` / `wait 5j` (jiffies) / `wait 250us` — stored as microseconds or jiffies. */
  | WaitCommand
  | { kind: 'expect'; subject: ExpectSubject; op: ExpectOp; value: string }
  /** `echo 5 > /sys/devices/platform/visorchipset/install/textid` */
  | { kind: 'sysfsWrite'; path: string; value: string }
  /** `parahotplug 2:3 enable|disable` — DEVICE_CHANGESTATE with phys_device = 1. */
  | { kind: 'parahotplug'; device: DeviceRef; enable: boolean }
  /** `controlvm send id=0x105 [bus=N] [dev=N] [flags=N] [status=N] [handle=N] [state=N] [payload=HEX] [size=N]` — a raw message. */
  | { kind: 'controlvmSend'; id: number; fields: Record<string, number | string> }
  /** `signal insert 2:0 queue=1 "text"|hex:0011..`, `signal remove 2:0 queue=0` (back-end side). */
  | { kind: 'signalInsert'; device: DeviceRef | 'controlvm'; queue: number; data: Uint8Array }
  | { kind: 'signalRemove'; device: DeviceRef | 'controlvm'; queue: number }
  /** `memory write 0x1000 hex:4543...` or `memory write 2:0+0x40 u32 7` — back-end corruption / setup. */
  | { kind: 'memoryWrite'; target: { device: DeviceRef | 'controlvm'; offset: number } | { address: number }; data: Uint8Array }
  /** Function-driver commands (issue: visorhba/visornic/visorinput back-ends); args are key=value or positional. */
  | {
      kind: 'backend';
      family: 'disk' | 'net' | 'keyboard' | 'mouse' | 'fault' | 'input';
      device: DeviceRef;
      verb: string;
      positional: (string | number)[];
      options: Record<string, string | number>;
      /** The DATA argument (`"text"` or `hex:..`) of disk write / net send / net xmit, decoded to bytes (\xNN in a string = one raw byte). */
      data?: Uint8Array;
    }
  | { kind: 'log'; message: string };

export interface ScenarioStep {
  loc: Location;
  /** The source line's text without the comment. */
  text: string;
  command: Command;
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  endColumn: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface Scenario {
  file: string;
  steps: ScenarioStep[];
  diagnostics: Diagnostic[];
  /** Buses declared by `bus create` before each step (for the "device on an undeclared bus" check). */
}

/** `wait 10ms` / `wait 2s` / `wait 5j` (jiffies) / `wait 250us`. */
export interface WaitCommand {
  kind: 'wait';
  amount: number;
  unit: 'ms' | 's' | 'us' | 'jiffies';
}

/** The jiffies a `wait` line asks for, at the clock's HZ. */
export function waitJiffies(c: WaitCommand, clock: { msToJiffies(ms: number): number }): number {
  if (c.unit === 'jiffies') return c.amount;
  const ms = c.unit === 'ms' ? c.amount : c.unit === 's' ? c.amount * 1000 : c.amount / 1000;
  return clock.msToJiffies(ms);
}
