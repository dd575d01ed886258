/**
 * The wire between the outside world and a vnic channel, as the IO partition drives it:
 * frames into the guest's posted receive buffers (NET_RCV, chained when large, dropped
 * and counted when they cannot be delivered), and the poll of queue 0 — buffers the
 * guest posts, frames it transmits (onto the wire log, answered NET_XMIT_DONE),
 * reception on/off and promiscuous mode. Answers that find queue 1 full wait in an
 * outbox. The device side (configuration, scenario commands, faults, counters) is
 * iopartition-network.ts.
 */
import type { BackendDevice, BackendHost } from './servicepartition';
import type { VisorChannel } from '../visorchannel/visorchannel';
import { UnmappedError } from '../memory/guestmemory';
import {
  CMD,
  Cmdrsp,
  DRAIN_LIMIT,
  ETH_HLEN,
  hexCookie,
  IOCHAN_FROM_IOPART,
  IOCHAN_TO_IOPART,
  MAX_NET_RCV_CHAIN,
  MAX_PHYS_INFO,
  NET,
  NET_TYPE,
  NET_TYPE_NAMES,
  PI_PAGE_SIZE,
  RCVPOST_BUF_SIZE,
  SIZEOF_CMDRSP,
} from '../drivers/uiscmdrsp';

export interface PostedBuf {
  cookie: bigint;
  addr: number;
  len: number;
  unique: bigint;
}

export interface WireFrame {
  jiffies: number;
  frame: Uint8Array;
}

export type DropReason = 'no_buffer' | 'queue_full' | 'link_down' | 'disabled' | 'too_big' | 'fault';

export interface NetDev {
  dev: BackendDevice;
  channel: VisorChannel;
  /** Guest-physical address of queue 0's header. */
  q0: number;
  mac: Uint8Array;
  peerMac: Uint8Array;
  posted: PostedBuf[];
  rcvEnabled: boolean;
  promisc: boolean;
  link: boolean;
  outbox: Uint8Array[];
  /** Drops since the last NET_RCV (rcvs_dropped_delta). */
  dropDelta: number;
  delivered: number;
  dropped: Record<DropReason, number>;
  wire: WireFrame[];
  wireTx: number;
  wireTxBytes: number;
  xmitDone: number;
  xmitFailed: number;
  lostResponses: number;
  posts: number;
  badPosts: number;
  faults: { dropRx: number; dropTx: number; lostResponse: number; stallUntil: number };
}

export class NetWire {
  constructor(
    private readonly host: () => BackendHost,
    private readonly event: (subject: string, text: string) => void,
  ) {}

  /** Where queue 0's messages are copied to while they are handled. */
  private readonly rx = new Uint8Array(SIZEOF_CMDRSP);

  private get h(): BackendHost {
    return this.host();
  }

  // ------------------------------------------------------------------ delivery to the guest

  private drop(n: NetDev, why: DropReason, frame: Uint8Array, detail: string): void {
    n.dropped[why]++;
    n.dropDelta++;
    this.event(n.dev.id, `frame of ${frame.length} bytes to the guest dropped (${why.replace('_', ' ')}): ${detail}`);
  }

  /** A frame from the outside world into the guest's posted buffers (NET_RCV), or a counted drop. */
  deliver(n: NetDev, frame: Uint8Array): void {
    if (!n.link) return this.drop(n, 'link_down', frame, 'the link is down');
    if (!n.rcvEnabled) return this.drop(n, 'disabled', frame, 'the guest has not enabled reception (NET_RCV_ENBDIS 1)');
    if (n.faults.dropRx > 0) {
      n.faults.dropRx--;
      return this.drop(n, 'fault', frame, 'injected drop-frame');
    }
    const need = Math.max(1, Math.ceil(frame.length / RCVPOST_BUF_SIZE));
    if (need > MAX_NET_RCV_CHAIN) return this.drop(n, 'too_big', frame, `needs ${need} receive buffers, at most ${MAX_NET_RCV_CHAIN} can be chained`);
    if (n.posted.length < need) return this.drop(n, 'no_buffer', frame, `${n.posted.length} receive buffer(s) posted, ${need} needed`);
    if (this.queueFull(n)) return this.drop(n, 'queue_full', frame, `queue ${IOCHAN_FROM_IOPART} is full`);
    const bufs = n.posted.slice(0, need);
    const mem = this.h.memory;
    try {
      for (let i = 0, off = 0; i < bufs.length; i++) {
        const k = Math.min(RCVPOST_BUF_SIZE, bufs[i].len, frame.length - off);
        mem.write(bufs[i].addr, frame.subarray(off, off + k));
        off += k;
      }
    } catch (e) {
      if (!(e instanceof UnmappedError)) throw e;
      // The guest's buffer is gone: forget it, count the frame.
      n.posted.splice(0, need);
      return this.drop(n, 'no_buffer', frame, `a posted buffer is no longer mapped (${e.message})`);
    }
    n.posted.splice(0, need);
    const m = new Cmdrsp();
    m.cmdtype = CMD.NET;
    m.setU32(NET.type, NET_TYPE.RCV);
    m.setU64(NET.buf, bufs[0].cookie);
    m.setU32(NET.rcv_done_len, frame.length);
    m.setU8(NET.rcv_numrcvbufs, bufs.length);
    bufs.forEach((b, i) => m.setU64(NET.rcv_rcvbuf + i * 8, b.cookie));
    m.setU64(NET.rcv_unique_num, bufs[0].unique);
    m.setU32(NET.rcv_rcvs_dropped_delta, n.dropDelta);
    const rc = n.channel.signalInsert(IOCHAN_FROM_IOPART, m.bytes);
    if (rc) {
      // Room was checked; treat a failure like a full queue and give the buffers back.
      n.posted.unshift(...bufs);
      return this.drop(n, 'queue_full', frame, `signalinsert -> ${rc}`);
    }
    n.dropDelta = 0;
    n.delivered++;
    this.event(n.dev.id, `NET_RCV: ${frame.length} bytes into ${bufs.length} buffer(s) ${bufs.map((b) => hexCookie(b.cookie)).join(', ')}`);
  }

  private queueFull(n: NetDev): boolean {
    const mem = this.h.memory;
    const qh = n.dev.physaddr + n.channel.queueOffset(IOCHAN_FROM_IOPART);
    try {
      const max = mem.readU32(qh + 52);
      return max === 0 || (mem.readU32(qh + 60) + 1) % max === mem.readU32(qh + 72);
    } catch {
      return true;
    }
  }

  // ------------------------------------------------------------------ the poll

  /** One poll of a device: answers that were waiting, then everything in queue 0. */
  service(n: NetDev): void {
    if (n.outbox.length) this.flushOutbox(n);
    if (n.faults.stallUntil > this.h.engine.jiffies) return;
    const mem = this.h.memory;
    try {
      if (mem.readU32(n.q0 + 60) === mem.readU32(n.q0 + 72)) return;
    } catch {
      return;
    }
    const m = new Cmdrsp(this.rx);
    let taken = 0;
    while (n.channel.signalRemove(IOCHAN_TO_IOPART, this.rx) === 0) {
      this.handle(n, m);
      if (++taken >= DRAIN_LIMIT) {
        this.event(
          n.dev.id,
          `queue ${IOCHAN_TO_IOPART} still not empty after ${DRAIN_LIMIT} messages: its head/tail look corrupted; reading stops for this poll`,
        );
        break;
      }
    }
  }

  private handle(n: NetDev, m: Cmdrsp): void {
    if (m.cmdtype !== CMD.NET) {
      this.event(n.dev.id, `ignoring cmdtype ${m.cmdtype} on a vnic channel`);
      return;
    }
    const type = m.u32(NET.type);
    switch (type) {
      case NET_TYPE.RCV_POST: {
        const pfn = m.u64n(NET.rcvpost_pi_pfn);
        const off = m.u16(NET.rcvpost_pi_off);
        const len = m.u16(NET.rcvpost_pi_len);
        const addr = pfn * PI_PAGE_SIZE + off;
        if (len === 0 || off + len > PI_PAGE_SIZE || !this.h.memory.isMapped(addr, len)) {
          n.badPosts++;
          this.event(n.dev.id, `NET_RCV_POST of an unusable buffer (pfn 0x${pfn.toString(16)} offset ${off} length ${len}) ignored`);
          return;
        }
        n.posts++;
        n.posted.push({ cookie: m.u64(NET.buf), addr, len, unique: m.u64(NET.rcvpost_unique_num) });
        return;
      }
      case NET_TYPE.XMIT:
        return this.transmit(n, m);
      case NET_TYPE.RCV_ENBDIS: {
        const enable = m.u16(NET.enbdis_enable);
        n.rcvEnabled = enable !== 0;
        let note = '';
        if (!n.rcvEnabled && n.posted.length) {
          note = `; ${n.posted.length} posted buffer(s) unposted`;
          n.posted = [];
        }
        const a = new Cmdrsp();
        a.cmdtype = CMD.NET;
        a.setU32(NET.type, NET_TYPE.RCV_ENBDIS_ACK);
        a.setU64(NET.buf, m.u64(NET.buf));
        a.setU64(NET.enbdis_context, m.u64(NET.enbdis_context));
        a.setU16(NET.enbdis_enable, enable);
        this.answer(n, a);
        this.event(n.dev.id, `NET_RCV_ENBDIS enable=${enable}: reception ${n.rcvEnabled ? 'enabled' : 'disabled'}${note}; NET_RCV_ENBDIS_ACK`);
        return;
      }
      case NET_TYPE.RCV_PROMISC:
        n.promisc = m.u16(NET.enbdis_enable) !== 0;
        this.event(n.dev.id, `promiscuous mode ${n.promisc ? 'on' : 'off'}`);
        return;
      default:
        this.event(n.dev.id, `ignoring ${NET_TYPE_NAMES[type] ?? `net type ${type}`} on queue ${IOCHAN_TO_IOPART}`);
    }
  }

  private transmit(n: NetDev, m: Cmdrsp): void {
    const len = m.i32(NET.xmt_len);
    const nfrags = m.i32(NET.xmt_num_frags);
    const cookie = m.u64(NET.buf);
    let frame: Uint8Array | undefined;
    let problem = '';
    if (len < ETH_HLEN || nfrags < 1 || nfrags > MAX_PHYS_INFO) problem = `bad NET_XMIT (len ${len}, ${nfrags} fragments)`;
    else {
      const parts: Uint8Array[] = [];
      let total = 0;
      try {
        for (let i = 0; i < nfrags; i++) {
          const o = NET.xmt_frags + i * NET.phys_info_size;
          const addr = m.u64n(o) * PI_PAGE_SIZE + m.u16(o + 8);
          const flen = m.u16(o + 10);
          parts.push(this.h.memory.read(addr, flen));
          total += flen;
        }
        frame = new Uint8Array(total);
        let off = 0;
        for (const p of parts) {
          frame.set(p, off);
          off += p.length;
        }
        if (total !== len) problem = `fragments hold ${total} bytes, len says ${len}`;
        frame = frame.subarray(0, Math.min(total, len));
      } catch (e) {
        if (!(e instanceof UnmappedError)) throw e;
        problem = `a fragment is not mapped (${e.message})`;
        frame = undefined;
      }
    }
    if (frame && problem) this.event(n.dev.id, `NET_XMIT: ${problem}`);
    let result = frame ? 0 : 1;
    if (frame && n.faults.dropTx > 0) {
      n.faults.dropTx--;
      result = 1;
      this.event(n.dev.id, `NET_XMIT ${hexCookie(cookie)}: injected drop-frame, answered as failed`);
    } else if (frame) {
      n.wireTx++;
      n.wireTxBytes += frame.length;
      n.wire.push({ jiffies: this.h.engine.jiffies, frame });
      if (n.wire.length > 256) n.wire.shift();
      this.event(n.dev.id, `NET_XMIT ${hexCookie(cookie)}: ${frame.length} bytes on the wire`);
    } else this.event(n.dev.id, `NET_XMIT ${hexCookie(cookie)} failed: ${problem}`);
    if (n.faults.lostResponse > 0) {
      n.faults.lostResponse--;
      n.lostResponses++;
      this.event(n.dev.id, `NET_XMIT_DONE for ${hexCookie(cookie)} lost (injected fault)`);
      return;
    }
    const a = new Cmdrsp();
    a.cmdtype = CMD.NET;
    a.setU32(NET.type, NET_TYPE.XMIT_DONE);
    a.setU64(NET.buf, cookie);
    a.setU32(NET.xmtdone_result, result);
    if (result) n.xmitFailed++;
    n.xmitDone++;
    this.answer(n, a);
  }

  /** Queue an answer on queue 1 (after any that are already waiting). */
  answer(n: NetDev, m: Cmdrsp): void {
    n.outbox.push(Uint8Array.from(m.bytes));
    this.flushOutbox(n);
  }

  private flushOutbox(n: NetDev): void {
    while (n.outbox.length) {
      if (n.channel.signalInsert(IOCHAN_FROM_IOPART, n.outbox[0]) !== 0) break;
      n.outbox.shift();
    }
  }
}
