/**
 * The names of the built-in function drivers: what `driver load NAME` accepts, what a
 * function breakpoint may name, and the keys of BUILTIN_DRIVERS. One list, so a new
 * driver cannot be known to one of them and not the others. No imports: the scenario
 * parser and the debugger read it without pulling in the drivers.
 */
export const BUILTIN_DRIVER_NAMES = ['visorhba', 'visornic', 'visorinput'] as const;

export type BuiltinDriverName = (typeof BUILTIN_DRIVER_NAMES)[number];

export function isBuiltinDriverName(name: string): name is BuiltinDriverName {
  return (BUILTIN_DRIVER_NAMES as readonly string[]).includes(name);
}
