/**
 * The service-partition back-ends every emulator run starts with, fresh instances per
 * run: the IO partition's disk back-end (vhba: `disk`, `fault`) and network back-end
 * (vnic: `net`, `fault`), and the console partition (keyboard, mouse: `keyboard`,
 * `mouse`, `input`). `fault` commands go to the back-end that serves the device's type.
 */
import type { ServiceBackend } from './servicepartition';
import { ConsolePartition } from './consolepartition';
import { IoPartitionDisk } from './iopartition-disk';
import { IoPartitionNetwork } from './iopartition-network';

export function createBackends(): ServiceBackend[] {
  return [new IoPartitionDisk(), new IoPartitionNetwork(), new ConsolePartition()];
}

export { ConsolePartition, IoPartitionDisk, IoPartitionNetwork };
