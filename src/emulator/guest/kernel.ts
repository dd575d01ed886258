/**
 * The guest kernel's subsystems of one emulator run: the block layer, the network
 * core, the input core and the SCSI mid-layer. The run's kernel (kernel/guestkernel.ts)
 * owns one; built-in drivers reach it from the device they are given (`guestOf(dev)`),
 * back-ends through their host. Keeping them here, rather than in registries keyed by
 * guest memory, makes a run's devices plainly the run's.
 *
 * The driver API's GuestKernel interface does not expose it: users' drivers work
 * against the documented services only.
 */
import type { VisorDevice } from '../visorbus/driver';
import { BlockLayer } from './block';
import { InputCore } from './input';
import { NetCore } from './netdev';
import { ScsiMidlayer } from './scsihost';

export class GuestSubsystems {
  readonly block = new BlockLayer();
  readonly net = new NetCore();
  readonly input = new InputCore();
  readonly scsi = new ScsiMidlayer(this.block);
  private readonly printed = new Set<string>();

  /** printk_once: true the first time `key` is asked for in this run. */
  printOnce(key: string): boolean {
    if (this.printed.has(key)) return false;
    this.printed.add(key);
    return true;
  }
}

/** The subsystems of the run a device belongs to (its kernel carries them). */
export function guestOf(dev: VisorDevice): GuestSubsystems {
  const guest = (dev.kernel as { guest?: unknown }).guest;
  if (!(guest instanceof GuestSubsystems)) throw new Error(`${dev.name}: the guest kernel has no subsystems (built-in drivers need the emulator's kernel)`);
  return guest;
}
