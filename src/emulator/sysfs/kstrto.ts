/**
 * Number parsing of sysfs stores, as the kernel's kstrtou8/u16/u32/uint/int do with base
 * 10: an optional sign ('+', and '-' only for a signed type), decimal digits, and at most
 * one trailing newline — no other spaces. Bad text is -EINVAL, a value out of the type's
 * range -ERANGE.
 */
import { SysfsError } from './sysfs';

export type KstrtoType = 'u8' | 'u16' | 'u32' | 'int';

const RANGE: Record<KstrtoType, [bigint, bigint]> = {
  u8: [0n, 0xffn],
  u16: [0n, 0xffffn],
  u32: [0n, 0xffffffffn],
  int: [-0x80000000n, 0x7fffffffn],
};

/** kstrto<type>(value, 10, &v), or a SysfsError naming `path`. */
export function kstrto(path: string, value: string, type: KstrtoType): number {
  const text = value.endsWith('\n') ? value.slice(0, -1) : value;
  const m = /^([+-]?)(\d+)$/.exec(text);
  if (!m || (m[1] === '-' && type !== 'int')) {
    throw new SysfsError(
      path,
      'EINVAL',
      `Invalid argument: '${value.replace(/\n/g, '\\n')}' is not a ${type === 'int' ? '' : 'non-negative '}decimal number (kstrto${type})`,
    );
  }
  const v = BigInt(m[1] === '-' ? `-${m[2]}` : m[2]);
  const [lo, hi] = RANGE[type];
  if (v < lo || v > hi) throw new SysfsError(path, 'ERANGE', `Numerical result out of range: ${v} is not in ${lo}..${hi} (kstrto${type})`);
  return Number(v);
}
