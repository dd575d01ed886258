/**
 * The launch arguments are declared for the editor in package.json
 * (contributes.debuggers[0].configurationAttributes.launch) and checked by launchschema.ts:
 * the two must name the same attributes with the same types, defaults and bounds. And the one
 * check gives located messages to each of its users.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAUNCH_ATTRIBUTES, LaunchAttribute, REQUIRED_LAUNCH_ATTRIBUTES, launchArgumentsError } from '../../src/emulator/debug/launchschema';
import { KERNEL_BUG_NAMES } from '../../src/emulator/kernel/kernelbugs';

const ROOT = path.resolve(__dirname, '../../..');

interface JsonAttribute {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  items?: { type: string };
  oneOf?: { type: string; items?: { type: string; enum?: string[] } }[];
}

/** What package.json should say of an attribute, as the schema has it. */
function expected(a: LaunchAttribute): JsonAttribute {
  const withDefault = (j: JsonAttribute): JsonAttribute => (a.default === undefined ? j : { ...j, default: a.default });
  switch (a.kind) {
    case 'string':
    case 'token':
      return withDefault({ type: 'string' });
    case 'boolean':
      return withDefault({ type: 'boolean' });
    case 'positive':
      return withDefault({ type: 'number', minimum: 1 });
    case 'integer':
      return withDefault({ type: 'integer', minimum: a.min, maximum: a.max });
    case 'paths':
      return withDefault({ type: 'array', items: { type: 'string' } });
    case 'kernelBugs':
      return withDefault({ oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', enum: [...KERNEL_BUG_NAMES] } }] });
  }
}

/** The checked part of a package.json attribute (descriptions and the like left out). */
function declared(j: JsonAttribute): JsonAttribute {
  const out: JsonAttribute = {};
  if (j.type !== undefined) out.type = j.type;
  if (j.default !== undefined) out.default = j.default;
  if (j.minimum !== undefined) out.minimum = j.minimum;
  if (j.maximum !== undefined) out.maximum = j.maximum;
  if (j.items !== undefined) out.items = { type: j.items.type };
  if (j.oneOf !== undefined) out.oneOf = j.oneOf.map((o) => (o.items ? { type: o.type, items: { type: o.items.type, enum: o.items.enum } } : { type: o.type }));
  return out;
}

describe('launch arguments: one schema', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { debuggers: { configurationAttributes: { launch: { required: string[]; properties: Record<string, JsonAttribute> } } }[] };
  };
  const launch = pkg.contributes.debuggers[0].configurationAttributes.launch;
  const publicAttributes = Object.entries(LAUNCH_ATTRIBUTES as Record<string, LaunchAttribute>).filter(([, a]) => !a.internal);

  it('package.json declares the same attributes, types, defaults and bounds as launchschema.ts', () => {
    assert.deepEqual(Object.keys(launch.properties).sort(), publicAttributes.map(([n]) => n).sort());
    for (const [name, a] of publicAttributes) assert.deepEqual(declared(launch.properties[name]), expected(a), `attribute ${name}`);
    assert.deepEqual([...launch.required].sort(), [...REQUIRED_LAUNCH_ATTRIBUTES].sort());
  });

  it('names the attribute and where it was given in each message', () => {
    assert.equal(launchArgumentsError({ scenario: 'a.visor', checkpoints: 2, drivers: ['x.js'], fixKernelBugs: ['flowControl'] }, 'launch'), undefined);
    assert.equal(launchArgumentsError({}, 'launch'), 'launch: "scenario" must name a .visor file');
    assert.equal(launchArgumentsError({ scenario: 'a.visor', checkpoints: 9 }, 'restart'), 'restart: "checkpoints" must be a whole number from 0 to 8, not 9');
    assert.equal(
      launchArgumentsError({ scenario: 'a.visor', pollIntervalMs: 0 }, 'Visorbus launch'),
      'Visorbus launch: "pollIntervalMs" must be a positive number, not 0',
    );
    assert.equal(
      launchArgumentsError({ scenario: 'a.visor', drivers: 'x.js' }, 'attach'),
      'attach: "drivers" must be an array of paths to driver modules, not "x.js"',
    );
    assert.equal(launchArgumentsError({ scenario: 'a.visor', stopAtEnd: 'no' }, 'launch'), 'launch: "stopAtEnd" must be true or false, not "no"');
    assert.match(launchArgumentsError({ scenario: 'a.visor', fixKernelBugs: ['nope'] }, 'launch')!, /^launch: "fixKernelBugs": unknown name 'nope'/);
    assert.equal(
      launchArgumentsError({ scenario: 'a.visor', workspaceFolders: [1] }, 'launch'),
      'launch: "workspaceFolders" must be an array of paths, not [1]',
    );
    assert.equal(launchArgumentsError({ scenario: 'a.visor', noDebug: 1 }, 'launch'), 'launch: "noDebug" must be true or false, not 1');
  });
});
