/**
 * sd: the SCSI disk driver's part of one host. Its probe sends TEST UNIT READY,
 * READ CAPACITY(10) (then (16) when the disk is larger than 2 TiB) and MODE SENSE(6)
 * for write protection, and the disk becomes a BlockDevice (/sys/block/sdX); a block
 * request is split into commands of at most `maxSectors` and `sgTablesize` pages, its
 * data moving through guest DMA pages listed in the SG list.
 */
import { BlockDevice, BlockRequest, BlockResult, SECTOR_SIZE } from './block';
import { cdbModeSense6, cdbReadCapacity10, cdbReadCapacity16, cdbReadWrite, cdbSynchronizeCache, cdbTestUnitReady, readBe32, readBe64 } from './scsi';
import { DMA, PAGE, ScsiDevice, SD_MAX_RETRIES } from './scsi_lib';
import { ScsiHostEh } from './scsi_error';

export abstract class ScsiHostSd extends ScsiHostEh {
  protected sdProbe(sdev: ScsiDevice, done: () => void): void {
    this.execute(sdev, cdbTestUnitReady(), DMA.NONE, 0, () => {
      this.execute(sdev, cdbReadCapacity10(), DMA.FROM_DEVICE, 8, (err, cap) => {
        if (err || cap.length < 8) {
          this.dev.warn(`sd ${sdev.hctl}: READ CAPACITY failed; no disk attached`);
          return done();
        }
        const last = readBe32(cap, 0);
        const blockLen = readBe32(cap, 4);
        if (last === 0xffffffff) {
          this.execute(sdev, cdbReadCapacity16(32), DMA.FROM_DEVICE, 32, (err16, c16) => {
            if (err16 || c16.length < 12) {
              this.dev.warn(`sd ${sdev.hctl}: READ CAPACITY(16) failed; no disk attached`);
              return done();
            }
            this.sdModeSense(sdev, readBe64(c16, 0) + 1, readBe32(c16, 8), done);
          });
          return;
        }
        this.sdModeSense(sdev, last + 1, blockLen, done);
      });
    });
  }

  protected sdModeSense(sdev: ScsiDevice, blocks: number, blockLen: number, done: () => void): void {
    this.execute(sdev, cdbModeSense6(192), DMA.FROM_DEVICE, 192, (err, ms) => {
      const wp = !err && ms.length >= 3 && (ms[2] & 0x80) !== 0;
      this.attachDisk(sdev, (blocks * (blockLen || SECTOR_SIZE)) / SECTOR_SIZE, wp);
      done();
    });
  }

  protected attachDisk(sdev: ScsiDevice, sectors: number, readOnly: boolean): void {
    const k = this.dev.kernel;
    const name = k.nextClassName('block', 'sd');
    const disk = new BlockDevice(name, this.owner, sdev.hctl, sdev.lun, sectors, readOnly, sdev.vendor, sdev.model, sdev.rev, (req, cb) =>
      this.blockRequest(sdev, req, cb),
    );
    sdev.disk = disk;
    this.block.disks.set(name, disk);
    const t = this.template;
    k.addClassDevice(
      {
        cls: 'block',
        name,
        attrs: {
          size: () => `${disk.sectors}\n`,
          stat: () => disk.statText(),
          inflight: () => `${String(disk.stat.inFlight).padStart(8)} ${String(0).padStart(8)}\n`,
          ro: () => (disk.readOnly ? '1\n' : '0\n'),
          removable: () => '0\n',
          'device/vendor': () => `${sdev.vendor}\n`,
          'device/model': () => `${sdev.model}\n`,
          'device/rev': () => `${sdev.rev}\n`,
          'device/state': () => `${sdev.state === 'deleted' ? 'deleted' : sdev.state}\n`,
          'device/queue_depth': () => `${sdev.queueDepth}\n`,
          'device/timeout': () => `${sdev.timeoutSeconds}\n`,
          'device/scsi_disk_hctl': () => `${sdev.hctl}\n`,
          'queue/logical_block_size': () => `${SECTOR_SIZE}\n`,
          'queue/max_sectors_kb': () => `${Math.floor((t.maxSectors * SECTOR_SIZE) / 1024)}\n`,
          'queue/max_hw_sectors_kb': () => `${Math.floor((t.maxSectors * SECTOR_SIZE) / 1024)}\n`,
          'queue/max_segments': () => `${t.sgTablesize}\n`,
        },
        writers: {
          'device/timeout': (v: string) => {
            const n = Number(v.trim());
            if (!Number.isInteger(n) || n <= 0) throw new Error('EINVAL: timeout must be a positive number of seconds');
            sdev.timeoutSeconds = n;
          },
        },
      },
      this.dev,
    );
    const mb = (sectors * SECTOR_SIZE) / 1e6;
    this.kernelLog(`sd ${sdev.hctl}: [${name}] ${sectors} 512-byte logical blocks: (${mb.toFixed(2)} MB)`);
    if (readOnly) this.kernelLog(`sd ${sdev.hctl}: [${name}] Write Protect is on`);
    this.kernelLog(`sd ${sdev.hctl}: [${name}] Attached SCSI disk`);
  }

  protected blockRequest(sdev: ScsiDevice, req: BlockRequest, cb: (r: BlockResult) => void): void {
    const k = this.dev.kernel;
    const result = (error: number, why: string, data?: Uint8Array): BlockResult => ({
      op: req.op,
      lba: req.lba,
      sectors: req.sectors,
      error,
      why,
      data,
      jiffies: k.jiffies(),
    });
    if (req.op === 'flush') {
      this.queue(sdev, cdbSynchronizeCache(), DMA.NONE, 0, [], SD_MAX_RETRIES, (_c, err, why) => cb(result(err, why)));
      return;
    }
    if (req.lba + req.sectors > (sdev.disk?.sectors ?? 0)) {
      // The block layer refuses I/O past the end of the device before it reaches sd.
      this.dev.warn(
        `${sdev.disk?.name ?? sdev.hctl}: attempt to access beyond end of device (sector ${req.lba}, ${req.sectors} sectors, size ${sdev.disk?.sectors ?? 0})`,
      );
      cb(result(-5, 'beyond end of device'));
      return;
    }
    const write = req.op === 'write';
    const maxPerCmd = Math.max(1, Math.min(this.template.maxSectors, (this.template.sgTablesize * PAGE) / SECTOR_SIZE));
    const chunks: { lba: number; sectors: number; off: number }[] = [];
    for (let done = 0; done < req.sectors; done += maxPerCmd) {
      chunks.push({ lba: req.lba + done, sectors: Math.min(maxPerCmd, req.sectors - done), off: done * SECTOR_SIZE });
    }
    const out = write ? undefined : new Uint8Array(req.sectors * SECTOR_SIZE);
    let pending = chunks.length;
    let firstErr = 0;
    let firstWhy = '';
    for (const ch of chunks) {
      const len = ch.sectors * SECTOR_SIZE;
      const sg = this.allocPages(len);
      if (write && req.data) this.scatter(sg, req.data.subarray(ch.off, ch.off + len));
      this.queue(sdev, cdbReadWrite(write, ch.lba, ch.sectors), write ? DMA.TO_DEVICE : DMA.FROM_DEVICE, len, sg, SD_MAX_RETRIES, (_cmd, err, why) => {
        if (!err && out) out.set(this.gather(sg, len), ch.off);
        this.freePages(sg);
        if (err && !firstErr) {
          firstErr = err;
          firstWhy = why;
          this.dev.err(`blk_update_request: I/O error, dev ${sdev.disk?.name ?? sdev.hctl}, sector ${ch.lba} (${why})`);
        }
        if (--pending === 0) cb(result(firstErr, firstWhy, firstErr ? undefined : out));
      });
    }
  }
}
