/**
 * The guest's own disk I/O (`disk B:D read|write|flush lun=N ...`): a user of the guest
 * reads or writes its block device (/dev/sdX) through visorhba, the way a program in the
 * guest would; the back-end only issues it and reports how it completed. A LUN the guest
 * has not seen yet waits for the scan in progress, or for a rescan when it was attached
 * after the guest scanned.
 */
import type { BackendCommand, BackendHost } from './servicepartition';
import { BlockDevice, SECTOR_SIZE } from '../guest/block';
import { MAX_DISK_READ_SECTORS } from '../limits';
import { bytesText, numOpt, payloadBytes } from './iopartition-cmdargs';
import { diskKey, type HbaDev } from './iopartition-hba';

/** Issue a guest read, write or flush of one LUN. */
export function guestIo(backend: BackendHost, cmd: BackendCommand, h: HbaDev, event: (subject: string, text: string) => void): void {
  const guest = backend.guest;
  const lun = numOpt(cmd, 'lun', NaN);
  if (!Number.isInteger(lun)) throw new Error(`disk ${cmd.verb}: missing lun=N`);
  const host = guest.scsi.hostOf(h.dev.id);
  if (!host) throw new Error(`disk ${cmd.verb}: visorhba is not bound to ${h.dev.id} (load it, or wait for the device to be probed)`);
  let req: { op: 'read' | 'write' | 'flush'; lba: number; sectors: number; data?: Uint8Array };
  if (cmd.verb === 'flush') req = { op: 'flush', lba: 0, sectors: 0 };
  else {
    const lba = numOpt(cmd, 'lba', NaN);
    if (!Number.isInteger(lba) || lba < 0) throw new Error(`disk ${cmd.verb}: lba must be a non-negative number`);
    if (cmd.verb === 'read') {
      const count = numOpt(cmd, 'count', 1);
      if (!Number.isInteger(count) || count <= 0) throw new Error('disk read: count must be at least 1 sector');
      if (count > MAX_DISK_READ_SECTORS)
        throw new Error(
          `disk read: count=${count} is too many sectors for one read (at most ${MAX_DISK_READ_SECTORS}, ${(MAX_DISK_READ_SECTORS * SECTOR_SIZE) >> 20} MiB); read in parts`,
        );
      req = { op: 'read', lba, sectors: count };
    } else {
      const raw = cmd.data ?? payloadBytes(cmd.positional[0], 'disk write data');
      if (!raw.length) throw new Error('disk write: empty data');
      const sectors = Math.ceil(raw.length / SECTOR_SIZE);
      const data = new Uint8Array(sectors * SECTOR_SIZE);
      data.set(raw);
      req = { op: 'write', lba, sectors, data };
    }
  }
  const issue = (bd: BlockDevice): void => {
    const k = backend.engine.clock;
    bd.submit(
      req,
      () => k.jiffies,
      1000 / k.hz,
      (r) => {
        const what = `${req.op}${req.op === 'flush' ? '' : ` of ${req.sectors} sector(s) at LBA ${req.lba}`} on ${bd.name}`;
        if (r.error) event(h.dev.id, `guest ${what} failed: ${errnoText(r.error)}${r.why ? ` (${r.why})` : ''}`);
        else event(h.dev.id, `guest ${what} completed${r.op === 'read' && r.data ? `: "${bytesText(r.data).slice(0, 64)}"` : ''}`);
      },
    );
  };
  const find = (): BlockDevice | undefined => guest.block.disksOf(h.dev.id).find((b) => b.lun === lun);
  const bd = find();
  if (bd) return issue(bd);
  if (host.scanInProgress) {
    event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} waits for the SCSI scan in progress`);
    host.whenScanned(() => {
      const later = find();
      if (later) issue(later);
      else event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} failed: the scan found no disk for LUN ${lun} (ENXIO)`);
    });
    return;
  }
  if (h.disks.has(diskKey(0, lun))) {
    // Attached after the guest scanned: the guest's user rescans the host, then uses the disk.
    event(
      h.dev.id,
      `LUN ${lun} was attached after the guest scanned ${h.dev.id}; the guest rescans (echo "- - -" > /sys/class/scsi_host/${host.className}/scan) before the ${cmd.verb}`,
    );
    host.scan();
    host.whenScanned(() => {
      const later = find();
      if (later) issue(later);
      else event(h.dev.id, `guest ${cmd.verb} on LUN ${lun} failed: the rescan found no disk for LUN ${lun} (ENXIO)`);
    });
    return;
  }
  throw new Error(`disk ${cmd.verb}: the guest has no disk for ${h.dev.id} LUN ${lun} (attach one with disk attach)`);
}

/** The name of a block-layer errno, for events and counters. */
export function errnoText(e: number): string {
  const n = Math.abs(e);
  return n === 5 ? 'EIO' : n === 6 ? 'ENXIO' : n === 19 ? 'ENODEV' : n === 13 ? 'EACCES' : `errno ${n}`;
}
