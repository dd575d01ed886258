/**
 * The built-in function drivers and the module aliases that autoload them.
 *
 * `BUILTIN_DRIVERS` maps a driver name (`driver load visorhba`) to a factory; each
 * emulator run calls the factory and gets a fresh driver instance. `MODULE_ALIASES`
 * is the guest's modules.alias for visorbus: "visorbus:<lower-case channel GUID>" to
 * the driver name — exactly the four aliases of the visorbus documentation.
 */
import type { VisorDriver } from '../visorbus/driver';
import type { BuiltinDriverName } from './names';
import { createVisorhba } from './visorhba';
import { createVisornic } from './visornic';
import { createVisorinput } from './visorinput';

/** One factory per name in BUILTIN_DRIVER_NAMES (names.ts); the type makes a missing one an error. */
export const BUILTIN_DRIVERS: Record<BuiltinDriverName, () => VisorDriver> = {
  visorhba: createVisorhba,
  visornic: createVisornic,
  visorinput: createVisorinput,
};

export const MODULE_ALIASES: Record<string, string> = {
  'visorbus:414815ed-c58c-11da-95a9-00e08161165f': 'visorhba',
  'visorbus:8cd5994d-c58e-11da-95a9-00e08161165f': 'visornic',
  'visorbus:c73416d0-b0b8-44af-b304-9d2ae99f1b3d': 'visorinput',
  'visorbus:addf07d4-94a9-46e2-81c3-61abcdbdbd87': 'visorinput',
};

export { createVisorhba, createVisornic, createVisorinput };
export { BUILTIN_DRIVER_NAMES } from './names';
