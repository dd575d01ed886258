/**
 * The service-partition back-ends every emulator run starts with (fresh instances
 * per run): the console partition (keyboard, mouse).
 */
import type { ServiceBackend } from './servicepartition';
import { ConsolePartition } from './consolepartition';

export function createBackends(): ServiceBackend[] {
  return [new ConsolePartition()];
}

export { ConsolePartition };
