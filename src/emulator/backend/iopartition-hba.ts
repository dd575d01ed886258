/**
 * The IO partition's state for one vhba device: its channel, its LUNs, answers waiting
 * for room in queue 1, commands held back by a fault, the faults still to apply, and
 * its statistics. Shared by the disk back-end (iopartition-disk.ts) and the SCSI target
 * it emulates (iopartition-scsitarget.ts).
 */
import type { VisorChannel } from '../visorchannel/visorchannel';
import type { Cmdrsp } from '../drivers/uiscmdrsp';
import type { BackendDevice } from './servicepartition';
import type { Disk } from './iopartition-diskimage';

/** What the back-end writes into vhba.max. */
export const VHBA_DEFAULTS = { maxChannel: 1, maxId: 1, maxLun: 64, cmdPerLun: 32, maxIoSize: 256 * 1024 } as const;

export type FaultKind = 'medium-error' | 'backend-error' | 'lost-response' | 'timeout';

export interface Fault {
  kind: FaultKind;
  lun?: number;
  lba?: number;
  remaining: number;
  delayMs: number;
}

/** A command a `timeout` fault holds back until `due` (jiffies). */
export interface Held {
  msg: Cmdrsp;
  due: number;
  lun: number;
  id: number;
  channel: number;
}

export interface HbaDev {
  dev: BackendDevice;
  channel: VisorChannel;
  disks: Map<string, Disk>;
  outbox: Uint8Array[];
  held: Held[];
  faults: Fault[];
  stallUntil: number;
  /** The guest has scanned (an INQUIRY / REPORT LUNS was answered). */
  scanned: boolean;
  /** Guest-physical address of queue 0's header (for the cheap "anything new?" check). */
  q0: number;
  stats: {
    commands: number;
    answered: number;
    lost: number;
    held: number;
    aborted: number;
    taskmgmt: number;
    discarded: number;
    stale_flushed: number;
    unknown: number;
  };
}

export const diskKey = (id: number, lun: number): string => `${id}:${lun}`;
