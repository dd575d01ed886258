/**
 * The service-partition back-ends every emulator run starts with (fresh instances
 * per run): the IO partition's network back-end (vnic) and the console partition
 * (keyboard, mouse).
 */
import type { ServiceBackend } from './servicepartition';
import { ConsolePartition } from './consolepartition';
import { IoPartitionNetwork } from './iopartition-network';

export function createBackends(): ServiceBackend[] {
  return [new IoPartitionNetwork(), new ConsolePartition()];
}

export { ConsolePartition, IoPartitionNetwork };
