/** How a channel field's value is shown: enum names, GUID descriptions, feature bits, hex. */
import { CHANNEL_FEATURES, ENUMS, StructField } from '../../protocol/layout';
import { GUID_DESCRIPTIONS } from '../../protocol/guid';
import { controlvmIdName } from '../../protocol/controlvm';

export function withHex(v: number | bigint): string {
  return v >= 10 ? `${v} (0x${v.toString(16)})` : `${v}`;
}

export function num(v: number | string | bigint): string {
  return typeof v === 'string' ? v : v.toString();
}

function featureNames(v: number | bigint): string {
  const n = Number(v);
  if (!n) return '0';
  const names: string[] = [];
  let rest = n;
  for (const [bit, name] of Object.entries(CHANNEL_FEATURES)) {
    if (n & Number(bit)) {
      names.push(name);
      rest &= ~Number(bit);
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return `0x${n.toString(16)} (${names.join(' | ')})`;
}

/** How a value is shown: enum names, GUIDs with their meaning, ECNL signature, hex for sizes. */
export function displayOf(f: StructField, v: number | string | bigint): string {
  if (f.type === 'guid') {
    const desc = GUID_DESCRIPTIONS[String(v)];
    return desc ? `${v} (${desc})` : String(v);
  }
  if (f.type === 'char') return JSON.stringify(v);
  if (f.type === 'bytes') return String(v).replace(/(..)/g, '$1 ').trim();
  if (typeof v === 'string') return v;
  if (f.enumName === 'channel_features') return featureNames(v);
  if (f.enumName === 'controlvm_id') return controlvmIdName(Number(v));
  if (f.enumName && ENUMS[f.enumName]) {
    const name = ENUMS[f.enumName][Number(v)];
    return name ? `${name} (${v})` : `${v}`;
  }
  if (f.name === 'signature' && f.size === 8) {
    const n = BigInt(v);
    const bytes = [...Array(8)].map((_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
    const ascii = bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '')).join('');
    return `0x${n.toString(16)}${ascii ? ` ("${ascii}")` : ''}`;
  }
  return withHex(v);
}

/** Read one struct field at `base` (absolute) for a channel starting at `chBase`. */
