/**
 * The SCSI target the IO partition emulates behind a vhba channel: it executes the
 * guest's SCSI commands on the LUNs' image files and writes the answers the guest's
 * visorhba reads from queue 1 (reference §7.3). See iopartition-disk.ts for the commands
 * it supports and the faults it can be told to inject.
 */
import * as fs from 'node:fs';
import type { BackendHost } from './servicepartition';
import { UnmappedError } from '../memory/guestmemory';
import { ADDL, Cmdrsp, IOCHAN_FROM_IOPART, SCSI, UIS_DMA } from '../drivers/uiscmdrsp';
import {
  ASC,
  buildSense,
  DID,
  makeResult,
  OP,
  opName,
  parseRw,
  readBe32,
  SAI_READ_CAPACITY_16,
  SAM_STAT,
  SENSE_KEY,
  writeBe32,
  writeBe64,
} from '../guest/scsi';
import { SECTOR_SIZE } from '../guest/block';
import { type Disk, syncImage } from './iopartition-diskimage';
import { diskKey, type Fault, type HbaDev, VHBA_DEFAULTS } from './iopartition-hba';

export class ScsiTarget {
  constructor(
    private readonly host: () => BackendHost,
    private readonly event: (subject: string, text: string) => void,
  ) {}

  private get h(): BackendHost {
    return this.host();
  }

  /** Pick the fault that applies to this media command, if any (and use it up). */
  private takeFault(h: HbaDev, lun: number, op: number, lba: number | undefined, blocks: number): Fault | undefined {
    const media =
      op === OP.READ_6 ||
      op === OP.READ_10 ||
      op === OP.READ_16 ||
      op === OP.WRITE_6 ||
      op === OP.WRITE_10 ||
      op === OP.WRITE_16 ||
      op === OP.SYNCHRONIZE_CACHE_10 ||
      op === OP.SYNCHRONIZE_CACHE_16;
    if (!media) return undefined;
    const f = h.faults.find(
      (x) =>
        x.remaining > 0 &&
        (x.lun === undefined || x.lun === lun) &&
        (x.lba === undefined || (lba !== undefined && x.lba >= lba && x.lba < lba + Math.max(1, blocks))),
    );
    if (!f) return undefined;
    f.remaining--;
    h.faults = h.faults.filter((x) => x.remaining > 0);
    return f;
  }

  /** Execute one SCSI command and answer it (unless a fault says otherwise). */
  execute(h: HbaDev, m: Cmdrsp, late: boolean): void {
    const cdb = m.slice(SCSI.cmnd, SCSI.cmnd_len);
    const op = cdb[0];
    const channel = m.u32(SCSI.vdest_channel);
    const id = m.u32(SCSI.vdest_id);
    const lun = m.u32(SCSI.vdest_lun);
    const rw = parseRw(cdb);
    const hasTarget = channel === 0 && [...h.disks.values()].some((d) => d.id === id);
    if (!hasTarget) {
      this.reply(h, m, { linuxstat: makeResult(DID.NO_CONNECT, 0), addlstat: ADDL.SEL_TIMEOUT });
      if (op === OP.INQUIRY) h.scanned = true;
      return;
    }
    const disk = h.disks.get(diskKey(id, lun));
    if (op === OP.INQUIRY || op === OP.REPORT_LUNS) h.scanned = true;
    if (op === OP.REPORT_LUNS) return this.reportLuns(h, m, id);
    if (!disk) {
      if (op === OP.INQUIRY) return this.reply(h, m, { noDisk: true });
      return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.LUN_NOT_SUPPORTED);
    }
    if (!late) disk.stats.commands++;
    if (!late) {
      const f = this.takeFault(h, lun, op, rw?.lba, rw?.blocks ?? 0);
      if (f?.kind === 'lost-response') {
        h.stats.lost++;
        this.event(h.dev.id, `${opName(op)} (handle ${m.u64(SCSI.handle)}) consumed and never answered (injected lost-response)`);
        return;
      }
      if (f?.kind === 'timeout') {
        h.stats.held++;
        h.held.push({ msg: m, due: this.h.engine.jiffies + Math.max(1, Math.ceil((f.delayMs * this.h.engine.clock.hz) / 1000)), lun, id, channel });
        this.event(h.dev.id, `${opName(op)} (handle ${m.u64(SCSI.handle)}) held for ${f.delayMs} ms (injected timeout)`);
        return;
      }
      if (f?.kind === 'backend-error') {
        this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
        this.event(h.dev.id, `${opName(op)} answered DID_ERROR (injected backend-error)`);
        return;
      }
      if (f?.kind === 'medium-error') {
        const write = rw?.write ?? false;
        this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, write ? ASC.WRITE_ERROR : ASC.UNRECOVERED_READ_ERROR, rw?.lba);
        this.event(h.dev.id, `${opName(op)} answered MEDIUM ERROR (injected medium-error)`);
        return;
      }
    }
    if (disk.fd === undefined) {
      disk.stats.errors++;
      return this.reply(h, m, { linuxstat: makeResult(DID.BAD_TARGET, 0), addlstat: ADDL.BAD_TARGET });
    }
    try {
      this.executeOnDisk(h, m, disk, cdb, rw);
    } catch (e) {
      if (!(e instanceof UnmappedError)) throw e;
      disk.stats.errors++;
      this.event(h.dev.id, `${opName(op)}: guest buffer not mapped (${e.message}); answered DID_ERROR`);
      this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
    }
  }

  private executeOnDisk(h: HbaDev, m: Cmdrsp, disk: Disk, cdb: Uint8Array, rw: ReturnType<typeof parseRw>): void {
    const op = cdb[0];
    if (rw) return this.readWrite(h, m, disk, rw);
    switch (op) {
      case OP.TEST_UNIT_READY:
        return this.reply(h, m, {});
      case OP.INQUIRY:
        return this.inquiry(h, m, disk, cdb);
      case OP.READ_CAPACITY_10: {
        const b = new Uint8Array(8);
        writeBe32(b, 0, Math.min(disk.sectors - 1, 0xffffffff));
        writeBe32(b, 4, SECTOR_SIZE);
        return this.dataIn(h, m, b);
      }
      case OP.SERVICE_ACTION_IN_16: {
        if ((cdb[1] & 0x1f) !== SAI_READ_CAPACITY_16) return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
        const b = new Uint8Array(32);
        writeBe64(b, 0, disk.sectors - 1);
        writeBe32(b, 8, SECTOR_SIZE);
        return this.dataIn(h, m, b.subarray(0, Math.min(32, readBe32(cdb, 10))));
      }
      case OP.MODE_SENSE_6: {
        const b = Uint8Array.of(3, 0, disk.readOnly ? 0x80 : 0, 0);
        return this.dataIn(h, m, b.subarray(0, Math.min(4, cdb[4])));
      }
      case OP.REQUEST_SENSE: {
        const s = buildSense(SENSE_KEY.NO_SENSE, [0, 0]);
        return this.dataIn(h, m, s.subarray(0, Math.min(s.length, cdb[4])));
      }
      case OP.SYNCHRONIZE_CACHE_10:
      case OP.SYNCHRONIZE_CACHE_16: {
        if (!syncImage(disk, (t) => this.event(h.dev.id, t))) {
          return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.WRITE_ERROR);
        }
        disk.stats.flushes++;
        return this.reply(h, m, {});
      }
      default:
        this.event(h.dev.id, `unsupported ${opName(op)}: ILLEGAL REQUEST (invalid command operation code)`);
        return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_OPCODE);
    }
  }

  /** READ / WRITE (6, 10, 16): data between the image file and the guest's buffers. */
  private readWrite(h: HbaDev, m: Cmdrsp, disk: Disk, rw: NonNullable<ReturnType<typeof parseRw>>): void {
    const op = m.u8(SCSI.cmnd);
    if (rw.lba + rw.blocks > disk.sectors || rw.lba < 0) {
      return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.LBA_OUT_OF_RANGE, rw.lba);
    }
    if (rw.blocks * SECTOR_SIZE > VHBA_DEFAULTS.maxIoSize) {
      this.event(h.dev.id, `${opName(op)} of ${rw.blocks} blocks exceeds max_io_size ${VHBA_DEFAULTS.maxIoSize}: ILLEGAL REQUEST`);
      return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
    }
    const len = Math.min(rw.blocks * SECTOR_SIZE, m.u32(SCSI.bufflen));
    const pos = rw.lba * SECTOR_SIZE;
    if (rw.write) {
      if (disk.readOnly) {
        return this.checkCondition(h, m, SENSE_KEY.DATA_PROTECT, ASC.WRITE_PROTECTED);
      }
      const data = this.gather(m, len);
      try {
        let done = 0;
        while (done < data.length) done += fs.writeSync(disk.fd!, data, done, data.length - done, pos + done);
      } catch (e) {
        this.event(h.dev.id, `write to ${disk.file} failed (${(e as NodeJS.ErrnoException).code ?? String(e)}); answered MEDIUM ERROR`);
        return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.WRITE_ERROR, rw.lba);
      }
      disk.stats.writes++;
      disk.stats.written_bytes += data.length;
      return this.reply(h, m, {});
    }
    const buf = new Uint8Array(len);
    try {
      let done = 0;
      while (done < len) {
        const n = fs.readSync(disk.fd!, buf, done, len - done, pos + done);
        if (n === 0) break; // past the end of a short file: zeros
        done += n;
      }
    } catch (e) {
      this.event(h.dev.id, `read of ${disk.file} failed (${(e as NodeJS.ErrnoException).code ?? String(e)}); answered MEDIUM ERROR`);
      return this.checkCondition(h, m, SENSE_KEY.MEDIUM_ERROR, ASC.UNRECOVERED_READ_ERROR, rw.lba);
    }
    this.scatter(m, buf);
    disk.stats.reads++;
    disk.stats.read_bytes += len;
    return this.reply(h, m, {});
  }

  private inquiry(h: HbaDev, m: Cmdrsp, disk: Disk, cdb: Uint8Array): void {
    const alloc = (cdb[3] << 8) | cdb[4];
    const evpd = (cdb[1] & 1) !== 0;
    const page = cdb[2];
    let b: Uint8Array;
    if (!evpd) {
      if (page !== 0) return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
      b = new Uint8Array(36);
      b[0] = 0x00; // connected direct-access device
      b[2] = 0x05; // SPC-3
      b[3] = 0x02;
      b[4] = 31;
      b[7] = 0x02; // command queueing
      const put = (s: string, at: number, n: number): void => {
        for (let i = 0; i < n; i++) b[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
      };
      put(disk.vendor, 8, 8);
      put(disk.model, 16, 16);
      put(disk.rev, 32, 4);
    } else {
      const serial = `VB${h.dev.bus}D${h.dev.dev}L${disk.lun}`;
      if (page === 0x00) b = Uint8Array.of(0, 0x00, 0, 3, 0x00, 0x80, 0x83);
      else if (page === 0x80) b = Uint8Array.from([0, 0x80, 0, serial.length, ...[...serial].map((c) => c.charCodeAt(0))]);
      else if (page === 0x83) {
        const idText = `${disk.vendor}${serial}`;
        const desc = [0x02, 0x01, 0, idText.length, ...[...idText].map((c) => c.charCodeAt(0))];
        b = Uint8Array.from([0, 0x83, 0, desc.length, ...desc]);
      } else return this.checkCondition(h, m, SENSE_KEY.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB);
    }
    this.dataIn(h, m, b.subarray(0, Math.min(b.length, alloc)));
  }

  private reportLuns(h: HbaDev, m: Cmdrsp, id: number): void {
    const luns = [...h.disks.values()]
      .filter((d) => d.id === id)
      .map((d) => d.lun)
      .sort((a, b) => a - b);
    const b = new Uint8Array(8 + 8 * luns.length);
    writeBe32(b, 0, 8 * luns.length);
    luns.forEach((l, i) => {
      b[8 + i * 8] = l > 255 ? 0x40 | ((l >> 8) & 0x3f) : 0;
      b[8 + i * 8 + 1] = l & 0xff;
    });
    const alloc = readBe32(m.slice(SCSI.cmnd, 16), 6);
    this.dataIn(h, m, b.subarray(0, Math.min(b.length, alloc)));
  }

  // ------------------------------------------------------------------ data movement

  private gpi(m: Cmdrsp): { addr: number; len: number }[] {
    const n = Math.min(m.u16(SCSI.guest_phys_entries), SCSI.max_gpi);
    const out: { addr: number; len: number }[] = [];
    for (let i = 0; i < n; i++) out.push({ addr: m.u64n(SCSI.gpi_list + i * SCSI.gpi_entry), len: m.u64n(SCSI.gpi_list + i * SCSI.gpi_entry + 8) });
    return out;
  }

  /** Guest buffers -> bytes (WRITE). */
  private gather(m: Cmdrsp, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let off = 0;
    for (const e of this.gpi(m)) {
      const n = Math.min(e.len, len - off);
      if (n <= 0) break;
      this.h.memory.readInto(e.addr, out, off, n);
      off += n;
    }
    return out.subarray(0, off);
  }

  /** Bytes -> guest buffers (READ and other data-in commands). */
  private scatter(m: Cmdrsp, data: Uint8Array): void {
    let off = 0;
    for (const e of this.gpi(m)) {
      const n = Math.min(e.len, data.length - off);
      if (n <= 0) break;
      this.h.memory.write(e.addr, data.subarray(off, off + n));
      off += n;
    }
  }

  private dataIn(h: HbaDev, m: Cmdrsp, data: Uint8Array): void {
    const dir = m.u32(SCSI.data_dir);
    const len = Math.min(data.length, m.u32(SCSI.bufflen));
    if (len > 0 && dir !== UIS_DMA.NONE && dir !== UIS_DMA.TO_DEVICE) {
      try {
        this.scatter(m, data.subarray(0, len));
      } catch (e) {
        if (!(e instanceof UnmappedError)) throw e;
        this.event(h.dev.id, `${opName(m.u8(SCSI.cmnd))}: guest buffer not mapped; answered DID_ERROR`);
        return this.reply(h, m, { linuxstat: makeResult(DID.ERROR, 0), addlstat: ADDL.INTERNAL_ERROR });
      }
    }
    this.reply(h, m, {});
  }

  checkCondition(h: HbaDev, m: Cmdrsp, key: number, asc: readonly [number, number], info?: number): void {
    const lun = m.u32(SCSI.vdest_lun);
    const d = h.disks.get(diskKey(m.u32(SCSI.vdest_id), lun));
    if (d) d.stats.errors++;
    this.reply(h, m, { linuxstat: makeResult(DID.OK, SAM_STAT.CHECK_CONDITION, true), scsistat: SAM_STAT.CHECK_CONDITION, sense: buildSense(key, asc, info) });
  }

  reply(h: HbaDev, m: Cmdrsp, r: { linuxstat?: number; scsistat?: number; addlstat?: number; sense?: Uint8Array; noDisk?: boolean }): void {
    const a = m.clone();
    a.setU32(SCSI.linuxstat, r.linuxstat ?? 0);
    a.setU8(SCSI.scsistat, r.scsistat ?? 0);
    a.setU8(SCSI.addlstat, r.addlstat ?? 0);
    a.bytes.fill(0, SCSI.sensebuf, SCSI.sensebuf + SCSI.sensebuf_len);
    if (r.sense) a.set(SCSI.sensebuf, r.sense.subarray(0, SCSI.sensebuf_len));
    a.setU32(SCSI.no_disk_result, r.noDisk ? 1 : 0);
    h.stats.answered++;
    this.answer(h, a);
  }

  answer(h: HbaDev, m: Cmdrsp): void {
    h.outbox.push(Uint8Array.from(m.bytes));
    this.flushOutbox(h);
  }

  flushOutbox(h: HbaDev): void {
    while (h.outbox.length) {
      if (h.channel.signalInsert(IOCHAN_FROM_IOPART, h.outbox[0]) !== 0) break;
      h.outbox.shift();
    }
  }
}
