/**
 * Decoders of the signals pending in a queue, read from their raw bytes: controlvm messages,
 * uiscmdrsp (vhba/vnic: SCSI, task management, disk notify, network; protocol reference
 * §7.2) and input reports (§7.5); raw bytes otherwise.
 */
import { OP_NAMES } from '../../guest/scsi';
import { NET_TYPE_NAMES } from '../../drivers/uiscmdrsp';
import { INPUTACTION_NAMES } from '../../drivers/inputreport';
import { GuestMemory, UnmappedError } from '../../memory/guestmemory';
import { CONTROLVM_MESSAGE_HEADER } from '../../protocol/layout';
import { CONTROLVM_ID, ControlvmMessage, MSG } from '../../protocol/controlvm';
import { GUID_DESCRIPTIONS, bytesToGuid } from '../../protocol/guid';
import { displayOf, withHex } from './fielddisplay';
import type { ChannelKind, ChannelTarget, Field, SignalView } from './channelview';

function readBytes(mem: GuestMemory, addr: number, n: number): Uint8Array | undefined {
  try {
    return mem.read(addr, n);
  } catch (e) {
    if (e instanceof UnmappedError) return undefined;
    throw e;
  }
}

/** A field inside a signal, from the raw bytes. */
class SigReader {
  readonly fields: Field[] = [];
  private readonly dv: DataView;
  constructor(
    readonly b: Uint8Array,
    /** Offset of the signal from the channel start. */
    readonly base: number,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  has(o: number, n: number): boolean {
    return o + n <= this.b.length;
  }
  u8(o: number): number {
    return this.has(o, 1) ? this.b[o] : 0;
  }
  u16(o: number): number {
    return this.has(o, 2) ? this.dv.getUint16(o, true) : 0;
  }
  u32(o: number): number {
    return this.has(o, 4) ? this.dv.getUint32(o, true) : 0;
  }
  i32(o: number): number {
    return this.has(o, 4) ? this.dv.getInt32(o, true) : 0;
  }
  u64(o: number): bigint {
    return this.has(o, 8) ? this.dv.getBigUint64(o, true) : 0n;
  }
  hex(o: number, n: number): string {
    return Buffer.from(this.b.subarray(o, Math.min(this.b.length, o + n))).toString('hex');
  }
  add(name: string, o: number, size: number, value: string | number | bigint, display?: string): void {
    if (!this.has(o, size)) return;
    const v = String(value);
    this.fields.push({ name, offset: this.base + o, size, value: v, display: display ?? (typeof value === 'string' ? value : withHex(value)), writable: true });
  }
  num(name: string, o: number, size: 1 | 2 | 4 | 8, names?: Record<number, string>): number | bigint {
    const v = size === 1 ? this.u8(o) : size === 2 ? this.u16(o) : size === 4 ? this.u32(o) : this.u64(o);
    const n = names?.[Number(v)];
    this.add(name, o, size, v, n ? `${n} (${v})` : undefined);
    return v;
  }
}

export function decodeSignal(mem: GuestMemory, t: ChannelTarget, kind: ChannelKind, slot: number, offset: number, signalSize: number): SignalView {
  const size = Math.min(signalSize, 4096);
  const b = readBytes(mem, t.physaddr + offset, size);
  if (!b) return { slot, offset, summary: '<unmapped>', fields: [] };
  const r = new SigReader(b, offset);
  let summary: string;
  switch (kind) {
    case 'controlvm':
      summary = decodeControlvm(r);
      break;
    case 'vhba':
    case 'vnic':
      summary = decodeUiscmdrsp(r);
      break;
    case 'keyboard':
    case 'mouse':
      summary = decodeInputReport(r);
      break;
    default:
      summary = `${size} bytes: ${r.hex(0, 16).replace(/(..)/g, '$1 ').trim()}${size > 16 ? ' …' : ''}`;
      r.add('bytes', 0, Math.min(size, 64), r.hex(0, 64), r.hex(0, 64).replace(/(..)/g, '$1 ').trim() + (size > 64 ? ' …' : ''));
  }
  return { slot, offset, summary, fields: r.fields };
}

// controlvm message (§3.4–3.5)
function decodeControlvm(r: SigReader): string {
  const msg = new ControlvmMessage(r.b.subarray(0, 128));
  for (const f of CONTROLVM_MESSAGE_HEADER.fields) {
    const v = f.size === 8 ? r.u64(f.offset) : r.u32(f.offset);
    r.add(f.name, f.offset, f.size, v, displayOf(f, v));
  }
  const id = msg.id;
  const guid = (name: string, o: number) => {
    const g = bytesToGuid(r.b, o);
    r.add(name, o, 16, g, GUID_DESCRIPTIONS[g] ? `${g} (${GUID_DESCRIPTIONS[g]})` : g);
  };
  switch (id) {
    case CONTROLVM_ID.BUS_CREATE:
    case CONTROLVM_ID.DEVICE_CREATE:
      r.num('bus_no', MSG.bus_no, 4);
      r.num(id === CONTROLVM_ID.BUS_CREATE ? 'dev_count' : 'dev_no', MSG.dev_no, 4);
      r.num('channel_addr', MSG.channel_addr, 8);
      r.num('channel_bytes', MSG.channel_bytes, 8);
      guid('type_guid', MSG.type_guid);
      guid('inst_guid', MSG.inst_guid);
      break;
    case CONTROLVM_ID.BUS_CONFIGURE:
      r.num('bus_no', MSG.bus_no, 4);
      r.num('guest_handle', MSG.guest_handle, 8);
      break;
    case CONTROLVM_ID.BUS_DESTROY:
      r.num('bus_no', MSG.bus_no, 4);
      break;
    case CONTROLVM_ID.DEVICE_DESTROY:
    case CONTROLVM_ID.DEVICE_CONFIGURE:
      r.num('bus_no', MSG.bus_no, 4);
      r.num('dev_no', MSG.dev_no, 4);
      break;
    case CONTROLVM_ID.DEVICE_CHANGESTATE:
      r.num('bus_no', MSG.bus_no, 4);
      r.num('dev_no', MSG.dev_no, 4);
      r.num('state', MSG.cs_state, 2, { 0xf7: 'running', 0x77: 'paused', 0x73: 'standby' });
      r.num('flags.phys_device', MSG.cs_flags, 4);
      break;
    case CONTROLVM_ID.CHIPSET_INIT:
      r.num('bus_count', MSG.init_bus_count, 4);
      r.num('switch_count', MSG.init_switch_count, 4);
      r.num('features', MSG.init_features, 4);
      r.num('platform_number', MSG.init_platform_number, 4);
      break;
  }
  return msg.describe();
}

// uiscmdrsp (§7.2)
const CMDTYPE: Record<number, string> = {
  1: 'CMD_SCSI_TYPE',
  2: 'CMD_NET_TYPE',
  3: 'CMD_SCSITASKMGMT_TYPE',
  4: 'CMD_NOTIFYGUEST_TYPE',
  5: 'CMD_VDISKMGMT_TYPE',
};
const DATA_DIR: Record<number, string> = { 0: 'BIDIRECTIONAL', 1: 'TO_DEVICE', 2: 'FROM_DEVICE', 3: 'NONE' };
const TASKTYPE: Record<number, string> = { 1: 'ABORT_TASK', 2: 'BUS_RESET', 3: 'LUN_RESET', 4: 'TARGET_RESET' };
const ADDLSTAT: Record<number, string> = { 1: 'RESET', 2: 'TIMEOUT', 3: 'INTERNAL_ERROR', 4: 'SEL_TIMEOUT', 5: 'CMD_TIMEOUT', 6: 'BAD_TARGET', 7: 'RETRY' };
const SCSI_OPS = OP_NAMES;

function mac(r: SigReader, o: number): string {
  return [...r.b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function decodeUiscmdrsp(r: SigReader): string {
  const cmdtype = r.num('cmdtype', 0, 1, CMDTYPE) as number;
  switch (cmdtype) {
    case 1:
      return decodeScsi(r);
    case 2:
      return decodeNet(r);
    case 3:
      return decodeTaskMgmt(r);
    case 4:
      return decodeDiskNotify(r);
    default:
      r.add('bytes', 1, 32, r.hex(1, 32));
      return `cmdtype ${cmdtype}`;
  }
}

/** uiscmdrsp_scsi */
function decodeScsi(r: SigReader): string {
  r.num('scsi.handle', 1, 8);
  const op = r.u8(9);
  r.add('scsi.cmnd', 9, 16, r.hex(9, 16), `${SCSI_OPS[op] ?? `opcode 0x${op.toString(16)}`}: ${r.hex(9, 16).replace(/(..)/g, '$1 ').trim()}`);
  const len = r.num('scsi.bufflen', 25, 4);
  const n = r.num('scsi.guest_phys_entries', 29, 2) as number;
  for (let i = 0; i < Math.min(n, 64, 8); i++) {
    const a = r.u64(31 + i * 16);
    const l = r.u64(39 + i * 16);
    r.add(`scsi.gpi_list[${i}]`, 31 + i * 16, 16, `0x${a.toString(16)}+${l}`);
  }
  const dir = r.num('scsi.data_dir', 1055, 4, DATA_DIR);
  const ch = r.num('scsi.vdest.channel', 1059, 4);
  const id = r.num('scsi.vdest.id', 1063, 4);
  const lun = r.num('scsi.vdest.lun', 1067, 4);
  const ls = r.num('scsi.linuxstat', 1071, 4);
  r.num('scsi.scsistat', 1075, 1);
  r.num('scsi.addlstat', 1076, 1, ADDLSTAT);
  r.add('scsi.sensebuf', 1077, 64, r.hex(1077, 64), r.hex(1077, 18).replace(/(..)/g, '$1 ').trim() + ' …');
  r.num('scsi.no_disk_result', 1149, 4);
  return `SCSI ${SCSI_OPS[op] ?? `0x${op.toString(16)}`} ${ch}:${id}:${lun} ${len} bytes ${DATA_DIR[Number(dir)] ?? dir}${ls ? ` linuxstat 0x${ls.toString(16)}` : ''}`;
}

/** uiscmdrsp_net */
function decodeNet(r: SigReader): string {
  const type = r.num('net.type', 1, 4, NET_TYPE_NAMES) as number;
  r.num('net.buf', 5, 8);
  let extra = '';
  switch (type) {
    case 0:
      r.num('net.rcvpost.frag.pi_pfn', 13, 8);
      r.num('net.rcvpost.frag.pi_off', 21, 2);
      r.num('net.rcvpost.frag.pi_len', 23, 2);
      r.num('net.rcvpost.unique_num', 25, 8);
      break;
    case 1: {
      const len = r.num('net.rcv.rcv_done_len', 13, 4);
      const nb = r.num('net.rcv.numrcvbufs', 17, 1) as number;
      for (let i = 0; i < Math.min(nb, 5); i++) r.num(`net.rcv.rcvbuf[${i}]`, 18 + i * 8, 8);
      r.num('net.rcv.unique_num', 58, 8);
      r.num('net.rcv.rcvs_dropped_delta', 66, 4);
      extra = ` ${len} bytes in ${nb} buffer(s)`;
      break;
    }
    case 2: {
      const len = r.i32(13);
      r.add('net.xmt.len', 13, 4, len);
      const nf = r.i32(17);
      r.add('net.xmt.num_frags', 17, 4, nf);
      for (let i = 0; i < Math.min(Math.max(nf, 0), 64, 8); i++) {
        const o = 21 + i * 12;
        r.add(`net.xmt.frags[${i}]`, o, 12, `pfn 0x${r.u64(o).toString(16)} off ${r.u16(o + 8)} len ${r.u16(o + 10)}`);
      }
      r.add(
        'net.xmt.ethhdr',
        789,
        14,
        r.hex(789, 14),
        `dst ${mac(r, 789)} src ${mac(r, 795)} type 0x${((r.u8(801) << 8) | r.u8(802)).toString(16).padStart(4, '0')}`,
      );
      r.num('net.xmt.lincsum.valid', 803, 1);
      extra = ` ${len} bytes, ${nf} frag(s), to ${mac(r, 789)}`;
      break;
    }
    case 3:
      extra = ` result ${r.num('net.xmtdone.xmt_done_result', 13, 4)}`;
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      r.num('net.enbdis.context', 13, 8);
      extra = ` enable ${r.num('net.enbdis.enable', 21, 2)}`;
      break;
    case 8:
    case 9:
      r.num('net.macaddr.context', 13, 8);
      r.add('net.macaddr.macaddr', 21, 6, r.hex(21, 6), mac(r, 21));
      extra = ` ${mac(r, 21)}`;
      break;
  }
  return `${NET_TYPE_NAMES[type] ?? `net type ${type}`}${extra}`;
}

/** uiscmdrsp_scsitaskmgmt */
function decodeTaskMgmt(r: SigReader): string {
  const tt = r.num('scsitaskmgmt.tasktype', 1, 4, TASKTYPE);
  const ch = r.num('scsitaskmgmt.vdest.channel', 5, 4);
  const id = r.num('scsitaskmgmt.vdest.id', 9, 4);
  const lun = r.num('scsitaskmgmt.vdest.lun', 13, 4);
  r.num('scsitaskmgmt.handle', 17, 8);
  r.num('scsitaskmgmt.notify_handle', 25, 8);
  r.num('scsitaskmgmt.notifyresult_handle', 33, 8);
  const res = r.num('scsitaskmgmt.result', 41, 1);
  return `task management ${TASKTYPE[Number(tt)] ?? tt} ${ch}:${id}:${lun} result ${res}`;
}

/** uiscmdrsp_disknotify */
function decodeDiskNotify(r: SigReader): string {
  const add = r.num('disknotify.add', 1, 1);
  r.num('disknotify.v_hba', 2, 8);
  const ch = r.num('disknotify.channel', 10, 4);
  const id = r.num('disknotify.id', 14, 4);
  const lun = r.num('disknotify.lun', 18, 4);
  return `disk notify ${add ? 'add' : 'remove'} ${ch}:${id}:${lun}`;
}

// input report (§7.5)

function decodeInputReport(r: SigReader): string {
  r.num('seq_no', 0, 8);
  const action = r.num('action', 8, 2, INPUTACTION_NAMES) as number;
  const a1 = r.num('arg1', 10, 2) as number;
  const a2 = r.num('arg2', 12, 2) as number;
  r.num('arg3', 14, 2);
  const name = INPUTACTION_NAMES[action] ?? `action ${action}`;
  if (action === 1 || action === 8) return `${name} x=${a1} y=${a2}`;
  if (action >= 2 && action <= 5) return `${name} button ${a1}`;
  if (action >= 64) return `${name} scancode 0x${a1.toString(16)}${action === 66 ? ` ${a2 ? 'locked' : 'unlocked'}` : ''}`;
  return name;
}
