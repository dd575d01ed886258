/**
 * Guest memory as DAP's readMemory and writeMemory see it: guest-physical addresses, the
 * unmapped gaps reported as unreadable, and every write made through the journal so
 * replays repeat it.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Emulator } from '../../emulator';
import type { Journal } from './journal';
import { hexRef } from './decode';
import { UserError } from './stopstate';

/** Parse a memoryReference / address: "0x10000000" or decimal. */
export function parseAddress(text: unknown, what = 'memoryReference'): number {
  if (typeof text !== 'string' && typeof text !== 'number') throw new UserError(`${what} is missing`);
  const t = String(text).trim();
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^\d+$/.test(t)) v = Number(t);
  else throw new UserError(`bad ${what} '${t}': expected a guest-physical address such as 0x10000000`);
  if (!Number.isSafeInteger(v)) throw new UserError(`${what} '${t}' is out of range`);
  return v;
}

/** What memory access needs of the worker: the model, and the journal for writes. */
export interface MemoryHost {
  readonly emu: Emulator;
  readonly journal: Pick<Journal, 'intervene'>;
}

export class GuestMemory {
  constructor(private readonly host: MemoryHost) {}

  read(a: DebugProtocol.ReadMemoryArguments): DebugProtocol.ReadMemoryResponse['body'] {
    const base = parseAddress(a.memoryReference);
    const offset = Number(a.offset ?? 0);
    const count = Number(a.count ?? 0);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || count < 0)
      throw new UserError('readMemory: offset and count must be integers, count >= 0');
    const addr = base + offset;
    if (addr < 0) throw new UserError(`readMemory: address ${addr} is negative`);
    const want = Math.min(count, 1 << 20);
    const mem = this.host.emu.memory;
    const regions = mem.listRegions();
    const r = regions.find((x) => addr >= x.base && addr < x.base + x.size);
    if (!r) {
      const next = regions.find((x) => x.base > addr);
      const gap = next ? next.base - addr : want;
      return { address: hexRef(addr), unreadableBytes: Math.min(want, gap) };
    }
    const n = Math.min(want, r.base + r.size - addr);
    const data = Buffer.from(mem.read(addr, n)).toString('base64');
    let unreadable = 0;
    if (n < want) {
      const after = addr + n;
      const next = regions.find((x) => x.base >= after);
      unreadable = Math.min(want - n, next ? next.base - after : want - n);
    }
    return { address: hexRef(addr), data, ...(unreadable ? { unreadableBytes: unreadable } : {}) };
  }

  write(a: DebugProtocol.WriteMemoryArguments): DebugProtocol.WriteMemoryResponse['body'] {
    const base = parseAddress(a.memoryReference);
    const offset = Number(a.offset ?? 0);
    if (!Number.isSafeInteger(offset)) throw new UserError('writeMemory: offset must be an integer');
    const text = String(a.data ?? '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s/g, ''))) throw new UserError('writeMemory: data is not base64');
    const bytes = Buffer.from(text, 'base64');
    const addr = base + offset;
    const mem = this.host.emu.memory;
    if (bytes.length === 0) return { bytesWritten: 0 };
    let n = bytes.length;
    if (!mem.isMapped(addr, n)) {
      const r = mem.listRegions().find((x) => addr >= x.base && addr < x.base + x.size);
      const avail = r ? r.base + r.size - addr : 0;
      if (!a.allowPartial || avail === 0)
        throw new UserError(
          `writeMemory: ${hexRef(addr)} +${bytes.length} is not mapped guest memory${avail ? ` (only ${avail} bytes are; set allowPartial)` : ''}`,
        );
      n = avail;
    }
    this.host.journal.intervene({ kind: 'mem', pos: { n: 0, w: 0 }, addr, bytes: Uint8Array.from(bytes.subarray(0, n)) });
    return { bytesWritten: n };
  }
}
