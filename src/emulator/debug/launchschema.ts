/**
 * The launch arguments (contract.ts LaunchArguments) as data, and the one check of them that
 * the extension's configuration provider, the DAP session and the model worker all use.
 * package.json's `configurationAttributes.launch` declares the same attributes for the editor;
 * a test compares the two. No imports but plain data: the extension bundles this module.
 */
import type { LaunchArguments } from './contract';
import { kernelBugFixes } from '../kernel/kernelbugs';

/** How an attribute is checked. */
/** `token`: checked by the TCP server when a client gives it (session.ts authorize), not here. */
export type AttributeKind = 'string' | 'boolean' | 'positive' | 'integer' | 'paths' | 'kernelBugs' | 'token';

export interface LaunchAttribute {
  kind: AttributeKind;
  /** The default a configuration gets (as package.json says); undefined: none. */
  default?: unknown;
  /** For `integer`: the allowed range. */
  min?: number;
  max?: number;
  /** Set by the extension or the client, not written in launch.json (not in package.json). */
  internal?: boolean;
}

type Attributes = { [K in keyof LaunchArguments]-?: LaunchAttribute };

/** Every launch argument, once. The `-?` mapping makes the list complete: an attribute added to LaunchArguments must be added here. */
export const LAUNCH_ATTRIBUTES: Omit<Attributes, 'noDebug' | '__restart'> = {
  scenario: { kind: 'string', default: '${file}' },
  stopOnEntry: { kind: 'boolean', default: true },
  stopAtEnd: { kind: 'boolean', default: true },
  drivers: { kind: 'paths', default: [] },
  autoload: { kind: 'boolean', default: true },
  pollIntervalMs: { kind: 'positive' },
  trace: { kind: 'boolean', default: false },
  checkpoints: { kind: 'integer', min: 0, max: 8, default: 2 },
  fixKernelBugs: { kind: 'kernelBugs', default: false },
  allowOutsideFiles: { kind: 'boolean', default: false },
  allowUserDrivers: { kind: 'boolean', internal: true },
  workspaceFolders: { kind: 'paths', internal: true },
  token: { kind: 'token', internal: true },
};

export const REQUIRED_LAUNCH_ATTRIBUTES: readonly (keyof LaunchArguments)[] = ['scenario'];

/** Why `value` is not a valid `name` (undefined: it is). */
function attributeError(name: string, a: LaunchAttribute, value: unknown): string | undefined {
  const shown = JSON.stringify(value) ?? String(value);
  switch (a.kind) {
    case 'string':
      return typeof value === 'string' ? undefined : `"${name}" must be a string, not ${shown}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `"${name}" must be true or false, not ${shown}`;
    case 'positive':
      return typeof value === 'number' && value > 0 ? undefined : `"${name}" must be a positive number, not ${shown}`;
    case 'integer':
      return Number.isInteger(value) && (value as number) >= a.min! && (value as number) <= a.max!
        ? undefined
        : `"${name}" must be a whole number from ${a.min} to ${a.max}, not ${shown}`;
    case 'paths':
      return Array.isArray(value) && value.every((d) => typeof d === 'string')
        ? undefined
        : `"${name}" must be an array of paths${name === 'drivers' ? ' to driver modules' : ''}, not ${shown}`;
    case 'token':
      return undefined;
    case 'kernelBugs': {
      const fixes = kernelBugFixes(value);
      return typeof fixes === 'string' ? fixes : undefined;
    }
  }
}

/**
 * Check launch arguments; `where` locates the message (`launch`, `attach`, `restart`,
 * `Visorbus launch`). Returns the first problem as `where: "name" must be ...`, or undefined.
 */
export function launchArgumentsError(args: Record<string, unknown>, where: string): string | undefined {
  const scenario = args.scenario;
  if (typeof scenario !== 'string' || !scenario.trim()) return `${where}: "scenario" must name a .visor file`;
  for (const [name, a] of Object.entries(LAUNCH_ATTRIBUTES) as [string, LaunchAttribute][]) {
    if (args[name] === undefined) continue;
    const error = attributeError(name, a, args[name]);
    if (error) return `${where}: ${error}`;
  }
  if (args.noDebug !== undefined && typeof args.noDebug !== 'boolean') return `${where}: "noDebug" must be true or false, not ${JSON.stringify(args.noDebug)}`;
  return undefined;
}
