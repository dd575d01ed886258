/**
 * scsi_scan: scsi_scan_host for one host — INQUIRY of LUN 0 on every target, REPORT
 * LUNS (or a sequential scan), INQUIRY per LUN, scsi_add_lun, and sd's probe for disks.
 */
import { MAX_SCAN_LUNS, MAX_SCAN_TARGETS } from '../limits';
import { cdbInquiry, cdbReportLuns, readBe32 } from './scsi';
import { DMA, ScsiDevice } from './scsi_lib';
import { ScsiHostSd } from './sd';

const DEVICE_TYPES: Record<number, string> = { 0: 'Direct-Access', 5: 'CD-ROM', 0x0c: 'RAID', 0x1f: 'No Device' };

export abstract class ScsiHostScan extends ScsiHostSd {
  /** Run `fn` once no scan is in progress (at once when none is): what `udevadm settle` waits for. */
  whenScanned(fn: () => void): void {
    if (!this.scanInProgress && !this.rescanPending) fn();
    else this.scanWaiters.push(fn);
  }

  /** scsi_scan_host: find every LUN; disks become block devices. */
  scan(done?: () => void): void {
    if (this.state === 'removed') return;
    if (this.scanInProgress) {
      this.rescanPending = true;
      return;
    }
    this.scans++;
    this.scanInProgress = true;
    const t = this.template;
    // The kernel walks every id up to max_id; the emulator stops at a bound and says so.
    const lastId = Math.min(t.maxId, MAX_SCAN_TARGETS);
    if (t.maxId > MAX_SCAN_TARGETS)
      this.kernelLog(`scsi ${this.className}: max_id ${t.maxId}: scanning targets 0…${MAX_SCAN_TARGETS - 1} only (the emulator's limit)`);
    let nextId = 0;
    const next = (): void => {
      if (nextId === t.thisId) nextId++;
      const id = nextId < lastId ? nextId++ : undefined;
      if (id === undefined) {
        this.scanInProgress = false;
        done?.();
        if (this.rescanPending) {
          this.rescanPending = false;
          this.scan();
          return;
        }
        for (const w of this.scanWaiters.splice(0)) w();
        return;
      }
      this.scanTarget(0, id, next);
    };
    next();
  }

  protected probeDevice(channel: number, id: number, lun: number): ScsiDevice {
    const existing = this.devices.get(`${channel}:${id}:${lun}`);
    if (existing) return existing;
    const sdev = new ScsiDevice(this, channel, id, lun, 1);
    this.scanDevices.push(sdev);
    return sdev;
  }

  protected dropProbe(sdev: ScsiDevice): void {
    const i = this.scanDevices.indexOf(sdev);
    if (i >= 0) this.scanDevices.splice(i, 1);
  }

  protected scanTarget(channel: number, id: number, done: () => void): void {
    const lun0 = this.probeDevice(channel, id, 0);
    this.execute(lun0, cdbInquiry(36), DMA.FROM_DEVICE, 36, (err, data) => {
      if (err || data.length < 5) {
        if (lun0.scanning) this.dropProbe(lun0);
        done();
        return;
      }
      const pq = data[0] >> 5;
      if (pq !== 0 && pq !== 1) {
        if (lun0.scanning) this.dropProbe(lun0);
        done();
        return;
      }
      const afterLun0 = (): void => {
        // REPORT LUNS; on failure fall back to a sequential scan.
        // As sd's REPORT LUNS: room for max_scsi_luns entries, never for max_lun's 2^32.
        const alloc = 8 + 8 * Math.max(1, Math.min(this.template.maxLun, MAX_SCAN_LUNS));
        this.execute(lun0, cdbReportLuns(alloc), DMA.FROM_DEVICE, alloc, (rerr, rdata) => {
          if (lun0.scanning) this.dropProbe(lun0);
          let luns: number[];
          if (rerr || rdata.length < 8) {
            luns = [];
            // A sequential scan stops at max_scsi_luns, as the kernel's does.
            const last = Math.min(this.template.maxLun, MAX_SCAN_LUNS);
            if (this.template.maxLun > MAX_SCAN_LUNS)
              this.kernelLog(
                `scsi ${this.className}: max_lun ${this.template.maxLun}: sequential scan of ${channel}:${id} stops at LUN ${MAX_SCAN_LUNS - 1} (max_scsi_luns)`,
              );
            for (let l = 1; l < last; l++) luns.push(l);
            this.scanLuns(channel, id, luns, true, done);
            return;
          }
          const listLen = readBe32(rdata, 0);
          luns = [];
          for (let o = 8; o + 8 <= Math.min(rdata.length, 8 + listLen); o += 8) {
            const l = ((rdata[o] & 0x3f) << 8) | rdata[o + 1];
            if (l !== 0 && l < this.template.maxLun) luns.push(l);
          }
          this.scanLuns(channel, id, luns, false, done);
        });
      };
      // A LUN found by an earlier scan is left as it is.
      if (pq === 0 && lun0.scanning) this.addLun(lun0, data, afterLun0);
      else afterLun0();
    });
  }

  protected scanLuns(channel: number, id: number, luns: number[], sequential: boolean, done: () => void): void {
    const lun = luns.shift();
    if (lun === undefined) return done();
    const sdev = this.probeDevice(channel, id, lun);
    if (!sdev.scanning) return this.scanLuns(channel, id, luns, sequential, done);
    this.execute(sdev, cdbInquiry(36), DMA.FROM_DEVICE, 36, (err, data) => {
      if (err || data.length < 5 || data[0] >> 5 !== 0) {
        this.dropProbe(sdev);
        if (sequential) return done();
        return this.scanLuns(channel, id, luns, sequential, done);
      }
      this.addLun(sdev, data, () => this.scanLuns(channel, id, luns, sequential, done));
    });
  }

  /** scsi_add_lun, then sd_probe for a disk. */
  protected addLun(sdev: ScsiDevice, inq: Uint8Array, done: () => void): void {
    const text = (a: number, b: number): string => String.fromCharCode(...inq.subarray(a, b)).replace(/\0/g, ' ');
    sdev.pdt = inq[0] & 0x1f;
    sdev.vendor = text(8, 16).padEnd(8);
    sdev.model = text(16, 32).padEnd(16);
    sdev.rev = text(32, 36).padEnd(4);
    sdev.scanning = false;
    sdev.queueDepth = this.template.cmdPerLun;
    this.dropProbe(sdev);
    this.devices.set(`${sdev.channel}:${sdev.id}:${sdev.lun}`, sdev);
    this.kernelLog(`scsi ${sdev.hctl}: ${(DEVICE_TYPES[sdev.pdt] ?? 'Unknown').padEnd(16)} ${sdev.vendor} ${sdev.model} ${sdev.rev} PQ: 0 ANSI: ${inq[2] & 7}`);
    if (sdev.pdt !== 0) return done();
    this.sdProbe(sdev, done);
  }
}
