/**
 * Values as the Variables view edits and shows them: text a user typed encoded for a channel
 * field (numbers, GUIDs, strings, hex bytes), and short previews of JavaScript values.
 */
import { UserError } from './stopstate';
import { ENUMS, StructField } from '../../protocol/layout';
import { CONTROLVM_ID } from '../../protocol/controlvm';
import { guidToBytes, resolveGuid } from '../../protocol/guid';

export function bytesGuid(raw: Uint8Array): string {
  const h = [...raw].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}}`;
}

/** A value typed by the user for a field, as the bytes to store. */
export function encodeValue(f: StructField, text: string): Uint8Array {
  let t = text.trim();
  switch (f.type) {
    case 'guid': {
      const g = resolveGuid(t.replace(/^\{|\}$/g, '').split(' ')[0]);
      if (!g) throw new UserError(`'${t}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx or an alias like vhba)`);
      return guidToBytes(g);
    }
    case 'char': {
      if (/^".*"$/.test(t)) t = JSON.parse(t) as string;
      const b = Buffer.from(t, 'latin1');
      if (b.length >= f.size) throw new UserError(`'${t}' is too long for ${f.name} (at most ${f.size - 1} characters)`);
      const out = new Uint8Array(f.size);
      out.set(b);
      return out;
    }
    case 'bytes': {
      const hex = t.replace(/^hex:/, '').replace(/[\s:]/g, '');
      if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new UserError(`'${t}' is not hex bytes (e.g. 45 43 4e 4c)`);
      const b = Buffer.from(hex, 'hex');
      if (b.length > f.size) throw new UserError(`${b.length} bytes do not fit in ${f.name} (${f.size} bytes)`);
      return new Uint8Array(b);
    }
    default: {
      let v: bigint | undefined;
      const paren = /\((\d+)\)\s*$/.exec(t);
      const word = t.split(/[\s(]/)[0];
      if (/^0x[0-9a-f]+$/i.test(t)) v = BigInt(t);
      else if (/^\d+$/.test(t)) v = BigInt(t);
      else if (f.enumName && ENUMS[f.enumName]) {
        const e = Object.entries(ENUMS[f.enumName]).find(([, n]) => n === word);
        if (e) v = BigInt(e[0]);
      } else if (f.enumName === 'controlvm_id') {
        const e = Object.entries(CONTROLVM_ID).find(([k]) => `CONTROLVM_${k}` === word || k === word);
        if (e) v = BigInt(e[1]);
      }
      if (v === undefined && /^0x[0-9a-f]+/i.test(word)) v = BigInt(word);
      if (v === undefined && paren) v = BigInt(paren[1]);
      if (v === undefined) {
        const names = f.enumName && ENUMS[f.enumName] ? ` or one of ${Object.values(ENUMS[f.enumName]).join(', ')}` : '';
        throw new UserError(`'${t}' is not a number for ${f.name} (decimal or 0x hex${names})`);
      }
      if (v < 0n || v >= 1n << BigInt(8 * f.size)) throw new UserError(`${v} does not fit in ${f.name} (${f.type})`);
      const out = new Uint8Array(f.size);
      for (let i = 0; i < f.size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
      return out;
    }
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'Object';
  return typeof v;
}

/** A short, safe preview of a JavaScript value (no getters run beyond own keys). */
export function preview(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 200 ? v.slice(0, 200) + '…' : v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return v.toString();
    case 'function':
      return `ƒ ${v.name || '(anonymous)'}()`;
  }
  if (v === null) return 'null';
  try {
    if (v instanceof Map) return `Map(${v.size})`;
    if (v instanceof Set) return `Set(${v.size})`;
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Uint8Array).length ?? v.byteLength})`;
    if (Array.isArray(v))
      return depth
        ? `Array(${v.length})`
        : `Array(${v.length}) [${v
            .slice(0, 5)
            .map((x) => preview(x, 1))
            .join(', ')}${v.length > 5 ? ', …' : ''}]`;
    const name = (v as object).constructor?.name;
    const keys = Object.keys(v as object);
    const prefix = name && name !== 'Object' ? `${name} ` : '';
    if (depth) return `${prefix}{…}`;
    return `${prefix}{${keys
      .slice(0, 5)
      .map((k) => `${k}: ${preview((v as Record<string, unknown>)[k], 1)}`)
      .join(', ')}${keys.length > 5 ? ', …' : ''}}`;
  } catch {
    return '{…}';
  }
}
