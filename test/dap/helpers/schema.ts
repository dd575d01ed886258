/**
 * Checks every message the adapter sends against the Debug Adapter Protocol's JSON schema
 * (a copy of the public debugAdapterProtocol.json in ../fixtures). The schema is draft-04
 * and uses only $ref, allOf, type, properties, required, enum, items, additionalProperties
 * and minimum/maximum, which is what this checker implements.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type Schema = Record<string, unknown>;

const SCHEMA_FILE = path.resolve(__dirname, '../../../../test/dap/fixtures/debugAdapterProtocol.json');
const root = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as { definitions: Record<string, Schema> };

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return true;
  }
}

function check(s: Schema, v: unknown, at: string, out: string[]): void {
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/definitions/', '');
    const def = root.definitions[name];
    if (!def) out.push(`${at}: unknown $ref ${s.$ref}`);
    else check(def, v, at, out);
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) check(sub, v, at, out);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeOk(t, v))) {
      out.push(`${at}: expected ${types.join('|')}, got ${JSON.stringify(v)?.slice(0, 80)}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !(s.enum as unknown[]).includes(v)) out.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${at}: ${v} < minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${at}: ${v} > maximum ${s.maximum}`);
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const obj = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    if (Array.isArray(s.required)) for (const r of s.required as string[]) if (!(r in obj)) out.push(`${at}: missing required '${r}'`);
    for (const [k, val] of Object.entries(obj)) {
      if (val === undefined) continue;
      if (props[k]) check(props[k], val, `${at}.${k}`, out);
      else if (s.additionalProperties === false) out.push(`${at}: unexpected property '${k}'`);
      else if (typeof s.additionalProperties === 'object') check(s.additionalProperties as Schema, val, `${at}.${k}`, out);
    }
  }
  if (Array.isArray(v) && s.items) v.forEach((item, i) => check(s.items as Schema, item, `${at}[${i}]`, out));
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Validate one adapter message; returns the problems (empty when it conforms). */
export function validateMessage(msg: Record<string, unknown>): string[] {
  const out: string[] = [];
  let def = 'ProtocolMessage';
  if (msg.type === 'response') {
    const name = `${cap(String(msg.command))}Response`;
    def = msg.success === false ? 'ErrorResponse' : root.definitions[name] ? name : 'Response';
  } else if (msg.type === 'event') {
    const name = `${cap(String(msg.event))}Event`;
    def = root.definitions[name] ? name : 'Event';
  } else if (msg.type === 'request') {
    const name = `${cap(String(msg.command))}Request`;
    def = root.definitions[name] ? name : 'Request';
  }
  check({ $ref: `#/definitions/${def}` }, msg, `${String(msg.type)} ${String(msg.command ?? msg.event)} (${def})`, out);
  return out;
}
