/**
 * A DAP variable's shape, and JavaScript values (a driver's own state, such as its
 * driverData) shown as variables: objects, arrays, maps, sets and byte views expand.
 */
import { preview, typeName } from './valuetext';

export interface Var {
  name: string;
  value: string;
  variablesReference: number;
  type?: string;
  evaluateName?: string;
  memoryReference?: string;
  indexedVariables?: number;
  namedVariables?: number;
  presentationHint?: { kind?: string; attributes?: string[] };
}

/** The variable marked read-only (the Variables view offers no edit). */
export function ro(v: Var): Var {
  v.presentationHint = { ...(v.presentationHint ?? {}), attributes: [...(v.presentationHint?.attributes ?? []), 'readOnly'] };
  return v;
}

export class JsVars {
  /** `handle` gives an expandable value its variablesReference. */
  constructor(private readonly handle: (value: object) => number) {}

  variable(name: string, value: unknown): Var {
    const v: Var = { name, value: preview(value), variablesReference: 0, type: typeName(value) };
    if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value !== 'function') {
      v.variablesReference = this.handle(value as object);
      if (Array.isArray(value)) v.indexedVariables = value.length;
    }
    return ro(v);
  }

  children(obj: object): Var[] {
    const out: Var[] = [];
    const limit = 1000;
    try {
      if (obj instanceof Map) {
        let i = 0;
        for (const [k, v] of obj) {
          if (i++ >= limit) break;
          out.push(this.variable(`[${preview(k)}]`, v));
        }
      } else if (obj instanceof Set) {
        let i = 0;
        for (const v of obj) {
          if (i >= limit) break;
          out.push(this.variable(`[${i++}]`, v));
        }
      } else if (ArrayBuffer.isView(obj)) {
        const b = new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength);
        for (let i = 0; i < Math.min(b.length, 4096); i += 16) {
          out.push(
            ro({
              name: `[${i}]`,
              value: Buffer.from(b.subarray(i, Math.min(i + 16, b.length)))
                .toString('hex')
                .replace(/(..)/g, '$1 ')
                .trim(),
              variablesReference: 0,
            }),
          );
        }
      } else if (Array.isArray(obj)) {
        for (let i = 0; i < Math.min(obj.length, limit); i++) out.push(this.variable(`[${i}]`, obj[i]));
      } else {
        for (const k of Object.keys(obj).slice(0, limit)) {
          let v: unknown;
          try {
            v = (obj as Record<string, unknown>)[k];
          } catch (e) {
            v = `<${(e as Error).message}>`;
          }
          out.push(this.variable(k, v));
        }
      }
    } catch (e) {
      out.push(ro({ name: '<error>', value: (e as Error).message, variablesReference: 0 }));
    }
    return out;
  }
}
