// The scenarios the contract suites run on the real emulator, written into the test workspace:
// a bus of 10,000 devices (paging in Buses & Devices) and an IO bus with vhba and vnic devices
// (channel inspector edits, device actions). The bulk devices are of a type no driver claims, so
// creating them costs no probes; the waits at the end give the guest polls in which queued
// device actions (pause, resume, destroy) take effect.
import * as fs from 'fs';
import * as path from 'path';

/** Devices on the bulk bus (bus 3). */
export const BULK_DEVICES = 10000;
/** A channel type no built-in driver claims (the console video of the visorbus documentation). */
export const UNCLAIMED_TYPE = '3cd6e705-d6a2-4aa5-ad5c-7b08889dffe2';
export const VHBA_GUID = '414815ed-c58c-11da-95a9-00e08161165f';
/** The polls after the last device: a stop at the first leaves several steps in which actions land. */
const SETTLE = Array.from({ length: 8 }, () => 'wait 100ms');

function bulkLines(): string[] {
  const out = ['bus create 3 name=bulk'];
  for (let i = 0; i < BULK_DEVICES; i++) out.push(`device create 3:${i} type=${UNCLAIMED_TYPE}`);
  return out;
}

function ioLines(): string[] {
  return [
    'bus create 1 name=console',
    'device create 1:1 type=keyboard',
    'device create 1:2 type=mouse',
    `device create 1:3 type=${UNCLAIMED_TYPE}`,
    'bus create 2 name=io',
    'device create 2:0 type=vhba bytes=0x10000',
    'device create 2:1 type=vnic',
    'device create 2:2 type=vhba',
  ];
}

export interface Scenario {
  file: string;
  /** 1-based line of the first `wait` after the devices */ settleLine: number;
}

function write(dir: string, name: string, body: string[]): Scenario {
  const lines = ['chipset init', ...body, ...SETTLE];
  const file = path.join(dir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, settleLine: lines.length - SETTLE.length + 1 };
}

/** bulk.visor: bus 3 with 10,000 devices. */
export function writeBulkScenario(dir: string): Scenario {
  return write(dir, 'bulk.visor', bulkLines());
}

/** io.visor: the console bus (keyboard, mouse, an unclaimed video device) and the IO bus (vhba, vnic, vhba). */
export function writeIoScenario(dir: string): Scenario {
  return write(dir, 'io.visor', ioLines());
}

/** contract.visor: the console and IO buses, then the bulk bus (one session for the UI test). */
export function writeCombinedScenario(dir: string): Scenario {
  return write(dir, 'contract.visor', [...ioLines(), ...bulkLines()]);
}
