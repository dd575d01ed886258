/**
 * Named fields of devices and channels, read live from guest memory: what `expect`,
 * debugger conditions, watch expressions and the Variables view look at.
 *   header.<channel_header field>     queue[N].<signal_queue_header field>
 *   queue[N].pending                  state | driver | typename | bus | dev | physaddr | nbytes
 */
import { GuestMemory, UnmappedError } from '../memory/guestmemory';
import { bytesToGuid } from '../protocol/guid';
import { CHANNEL_HEADER, SIGNAL_QUEUE_HEADER, StructField } from '../protocol/layout';
import { BusDevice } from '../visorbus/visordevice';
import { VisorChannel } from '../visorchannel/visorchannel';

export type FieldValue = number | string | bigint;

export class FieldError extends Error {}

export function readField(mem: GuestMemory, addr: number, f: StructField): FieldValue {
  switch (f.type) {
    case 'u8':
      return mem.readU8(addr + f.offset);
    case 'u16':
      return mem.readU16(addr + f.offset);
    case 'u32':
      return mem.readU32(addr + f.offset);
    case 'u64': {
      const v = mem.readU64Big(addr + f.offset);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 'guid':
      return bytesToGuid(mem.read(addr + f.offset, 16));
    case 'char': {
      const b = mem.read(addr + f.offset, f.size);
      const z = b.indexOf(0);
      return Buffer.from(z >= 0 ? b.subarray(0, z) : b).toString('latin1');
    }
    default:
      return Buffer.from(mem.read(addr + f.offset, f.size)).toString('hex');
  }
}

/** Device state as the views show it. */
export function deviceState(d: BusDevice): 'running' | 'paused' | 'unbound' {
  if (!d.driver) return 'unbound';
  return d.paused || d.pausing ? 'paused' : 'running';
}

/** Queue geometry read live (head, tail, max_slots, pending count). */
export function queueSummary(
  mem: GuestMemory,
  ch: VisorChannel,
  q: number,
): { offset: number; head: number; tail: number; maxSlots: number; signalSize: number; pending: number } | undefined {
  const off = ch.queueOffset(q);
  if (ch.chSpaceOffset < 128 || off + 128 > ch.nbytes) return undefined;
  try {
    const a = ch.physaddr + off;
    const head = mem.readU32(a + 60);
    const tail = mem.readU32(a + 72);
    const maxSlots = mem.readU32(a + 52);
    const signalSize = mem.readU32(a + 48);
    const pending = maxSlots > 0 ? (head - tail + maxSlots) % maxSlots : 0;
    return { offset: off, head, tail, maxSlots, signalSize, pending };
  } catch (e) {
    if (e instanceof UnmappedError) return undefined;
    throw e;
  }
}

/** How many signal queues a channel has: up to the first queue header that does not fit or is empty. */
export function queueCount(mem: GuestMemory, ch: VisorChannel, max = 8): number {
  let n = 0;
  while (n < max) {
    const s = queueSummary(mem, ch, n);
    if (!s || s.maxSlots === 0 || s.signalSize === 0) break;
    n++;
  }
  return n;
}

const QUEUE_RE = /^queue\[(\d+)\]\.(\w+)$/;

/** Resolve a field path on a channel (and, when given, its device). Throws FieldError. */
export function resolveField(mem: GuestMemory, ch: VisorChannel, path: string, d?: BusDevice): FieldValue {
  const p = path.trim();
  if (p.startsWith('header.')) {
    const name = p.slice(7);
    const f = CHANNEL_HEADER.fields.find((x) => x.name === name);
    if (!f) throw new FieldError(`no channel_header field '${name}' (fields: ${CHANNEL_HEADER.fields.map((x) => x.name).join(', ')})`);
    return readField(mem, ch.physaddr, f);
  }
  const qm = QUEUE_RE.exec(p);
  if (qm) {
    const q = Number(qm[1]);
    const s = queueSummary(mem, ch, q);
    if (!s) throw new FieldError(`queue ${q} does not exist in this channel`);
    if (qm[2] === 'pending') return s.pending;
    const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === qm[2]);
    if (!f) throw new FieldError(`no signal_queue_header field '${qm[2]}' (fields: pending, ${SIGNAL_QUEUE_HEADER.fields.map((x) => x.name).join(', ')})`);
    return readField(mem, ch.physaddr + s.offset, f);
  }
  switch (p) {
    case 'physaddr':
      return ch.physaddr;
    case 'nbytes':
      return ch.nbytes;
  }
  if (d) {
    switch (p) {
      case 'state':
        return deviceState(d);
      case 'driver':
        return d.driver?.name ?? '';
      case 'typename':
        return d.typeName;
      case 'bus':
        return d.busNo;
      case 'dev':
        return d.devNo;
      case 'name':
        return d.name;
      case 'typeguid':
        return d.channelTypeGuid;
    }
  }
  throw new FieldError(`unknown field '${p}' (use header.<field>, queue[N].<field>, queue[N].pending, state, driver, typename, bus, dev, physaddr, nbytes)`);
}
