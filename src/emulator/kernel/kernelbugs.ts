/**
 * Defects of the kernel's visorbus drivers that the emulator reproduces by default — a
 * developer is here to see what the guest really does — and can correct on request
 * (launch attribute / CLI option `fixKernelBugs`: true for all, or a list of names).
 * docs/kernel-differences.md lists them with their effects.
 */

export const KERNEL_BUGS = {
  promiscEnable: 'visornic_set_multi sends NET_RCV_PROMISC enable = flags & IFF_PROMISC (0x100); fixed: 1 / 0',
  staleCmdrsp: 'visornic reuses one never-cleared uiscmdrsp for NET_RCV_POST and NET_RCV_ENBDIS (stale bytes); fixed: each message starts cleared',
  busConfigureName: "BUS_CONFIGURE's parser_name_get reads the name from the kernel stack instead of the payload; fixed: the payload's name",
  flowControl: 'visornic max_outstanding_net_xmits wraps to a huge value when num_rcv_bufs < 6 (flow control off); fixed: at least 3',
  oversizedPayload: 'a controlvm payload over 128 KiB is retried for ever, un-ACKed, wedging the controlvm loop; fixed: ACKed and refused with PAYLOAD_INVALID',
} as const;

export type KernelBug = keyof typeof KERNEL_BUGS;

export const KERNEL_BUG_NAMES = Object.keys(KERNEL_BUGS) as KernelBug[];

/** The option as given: true = fix all, false/absent = none, or a list of names. */
export type FixKernelBugs = boolean | readonly string[];

/** The set of fixed bugs, or an error text naming what is wrong with the option. */
export function kernelBugFixes(option: unknown): ReadonlySet<KernelBug> | string {
  if (option === undefined || option === false) return new Set();
  if (option === true) return new Set(KERNEL_BUG_NAMES);
  if (!Array.isArray(option) || option.some((x) => typeof x !== 'string')) {
    return `"fixKernelBugs" must be true, false or a list of names (${KERNEL_BUG_NAMES.join(', ')}), not ${JSON.stringify(option)}`;
  }
  const unknown = option.filter((x) => !(KERNEL_BUG_NAMES as string[]).includes(x));
  if (unknown.length)
    return `"fixKernelBugs": unknown name${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${KERNEL_BUG_NAMES.join(', ')})`;
  return new Set(option as KernelBug[]);
}
