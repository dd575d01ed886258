/**
 * A kernel oops: what the guest kernel would die of in a channel operation — a divide
 * error (`% max_slots` with max_slots 0), a page fault (a memcpy outside the channel's
 * mapping, or into guest memory that is gone), or a soft lockup (a drain-until-empty loop
 * on a ring whose head lies beyond max_slots never ends). The emulator does not die: the channel
 * operation reports it, the debugger stops on it and the CLI prints it at its line.
 */

export type OopsKind = 'divide error' | 'page fault' | 'soft lockup';

/** The signal queue header values the faulting operation had read. */
export interface QueueHeaderValues {
  ch_space_offset: number;
  sig_base_offset: number;
  signal_size: number;
  max_slots: number;
  head: number;
  tail: number;
}

export interface KernelOops {
  kind: OopsKind;
  /** The kernel function that faulted: visorchannel_signalinsert, visorchannel_read, ... */
  fn: string;
  /** The channel it was working on ("vbus2:dev0", "controlvm"). */
  channel: string;
  queue?: number;
  /** The faulting access: channel offset as the kernel computed it (signed), length, guest-physical address. */
  access?: { offset: number; length: number; address: number; write: boolean };
  header?: QueueHeaderValues;
}

/** One line: "divide error in visorchannel_signalinsert(vbus2:dev0, queue 0): max_slots 0". */
export function oopsSummary(o: KernelOops): string {
  const where = `${o.fn}(${o.channel}${o.queue !== undefined ? `, queue ${o.queue}` : ''})`;
  const what =
    o.kind === 'divide error'
      ? `% max_slots with max_slots ${o.header?.max_slots ?? 0}`
      : o.kind === 'soft lockup'
        ? `the ring never empties (head ${o.header?.head} is not below max_slots ${o.header?.max_slots}): a drain loop spins forever`
        : o.access
          ? `${o.access.write ? 'write' : 'read'} of ${o.access.length} bytes at channel offset ${o.access.offset} (guest-physical 0x${Math.max(0, o.access.address).toString(16)}) outside the channel's mapping`
          : 'access outside the channel';
  return `kernel oops: ${o.kind} in ${where}: ${what}`;
}

/** The oops as a kernel log would print it: summary, faulting access, queue header values. */
export function oopsReport(o: KernelOops): string {
  const lines = [oopsSummary(o)];
  if (o.access)
    lines.push(
      `  access: ${o.access.write ? 'write' : 'read'} offset ${o.access.offset} length ${o.access.length} address 0x${Math.max(0, o.access.address).toString(16)}`,
    );
  if (o.header) {
    const h = o.header;
    lines.push(
      `  queue header: ch_space_offset ${h.ch_space_offset} sig_base_offset ${h.sig_base_offset} signal_size ${h.signal_size} max_slots ${h.max_slots} head ${h.head} tail ${h.tail}`,
    );
  }
  return lines.join('\n');
}
