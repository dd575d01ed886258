/**
 * The contract between the emulator and a service partition's back-end (IO partition
 * disks and network, console partition keyboard and mouse). A back-end works only
 * through guest memory and channel queues, the way the real s-Par back-end does; it
 * never calls into a guest driver.
 */
import type { Engine } from '../engine/engine';
import type { GuestMemory } from '../memory/guestmemory';
import type { GuestSubsystems } from '../guest/kernel';
import type { HostFiles } from './hostfiles';

/** A device as the back-end knows it (from its own create message). */
export interface BackendDevice {
  bus: number;
  dev: number;
  /** "2:0" */
  id: string;
  typeGuid: string;
  physaddr: number;
  nbytes: number;
}

/** A scenario back-end command: `disk 2:0 attach lun=0 image=disk.img`, `net 2:1 send "hi"`... */
export interface BackendCommand {
  family: string;
  device: BackendDevice;
  verb: string;
  positional: (string | number)[];
  options: Record<string, string | number>;
  /** Directory of the scenario file, for relative image paths. */
  baseDir: string;
  /** The DATA argument (`"text"` or `hex:..`) of disk write / net send / net xmit, as bytes. */
  data?: Uint8Array;
}

/** What the emulator offers to back-ends. */
export interface BackendHost {
  readonly engine: Engine;
  readonly memory: GuestMemory;
  /** The guest kernel's block, net, input and SCSI subsystems (what a guest user would look at). */
  readonly guest: GuestSubsystems;
  /** Run `fn` after `delay` jiffies on the back-end thread of `bus`. */
  schedule(bus: number, delay: number, label: string, fn: () => void): () => void;
  /** Allocate back-end-owned guest memory (e.g. receive data pages). */
  allocDma(bytes: number, align?: number): number;
  device(bus: number, dev: number): BackendDevice | undefined;
  /** A named counter that `expect counter NAME` can check. */
  counter(name: string, delta?: number): number;
  /** Host files the scenario names: where they may be, image locks, the images opened. */
  readonly files: HostFiles;
}

export interface ServiceBackend {
  /** Scenario families it handles ("disk", "net", "keyboard", ...). */
  readonly families: readonly string[];
  /** Channel type GUIDs it serves (its back-end runs for devices of these types). */
  readonly typeGuids: readonly string[];
  attach(host: BackendHost): void;
  /** A device of one of its types was created (after the channel was laid out). */
  deviceCreated?(dev: BackendDevice): void;
  deviceDestroyed?(dev: BackendDevice): void;
  /** Execute a scenario command; throw an Error with a user-facing message for bad use. */
  command(cmd: BackendCommand): void;
  /** `partition recover BUS`: the service partition restarts its side of every device on the bus. */
  recover?(bus: number): void;
  /** The run ends: flush files, close handles. Nothing acknowledged may be lost. */
  shutdown?(): void;
  /** Values for `expect counter NAME` beyond host counters. */
  counters?(): Record<string, number | string>;
}
