/**
 * visornic: the function driver for s-Par virtual NICs (reference §7.4), channel type
 * {vnic GUID, "ultravnic", 128, 2}. It registers an Ethernet netdev (/sys/class/net/ethN)
 * whose MAC, MTU and receive-buffer count come from the channel (@384, @394, @390).
 *
 * The guest sends on queue 0 (NET_RCV_POST, NET_XMIT, NET_RCV_ENBDIS, NET_RCV_PROMISC)
 * and receives on queue 1 (NET_RCV, NET_XMIT_DONE, NET_RCV_ENBDIS_ACK,
 * NET_CONNECT_STATUS). This version has no channel_interrupt: a private timer fires
 * every jiffy and, when queue 1 is not empty and NAPI is enabled (the interface is
 * up), runs the NAPI poll with a budget of 64 received packets. A budget that runs out
 * continues on the next jiffy.
 *
 * Counting follows the kernel: rx_packets / rx_bytes count every NET_RCV that names a
 * posted buffer, before the driver decides to drop it; frames it drops on transmit
 * count in `busy_cnt`, never in tx_dropped; filtered receives in
 * `n_rcv_packets_not_accepted`. Receive buffers are 4032 bytes and never cross a
 * 4 KiB page (a buffer that would is not posted).
 *
 * Waits that block in the kernel (open and close wait, unbounded, for
 * NET_RCV_ENBDIS_ACK) are modelled as states that end when the ACK arrives, or at
 * once when the server is down or changing state.
 *
 * The real driver's defects (reference §8 item 23) are reproduced unless the run corrects
 * them (fixKernelBugs, docs/kernel-differences.md):
 * - NET_RCV_PROMISC carries enable = IFF_PROMISC (0x100) (promiscEnable: 1 / 0);
 * - NET_RCV_POST and NET_RCV_ENBDIS share one never-cleared buffer, so bytes a message
 *   does not set are stale (staleCmdrsp: each message starts cleared);
 * - max_outstanding_net_xmits wraps to a huge number when num_rcv_bufs < 6, turning
 *   flow control off (flowControl: at least 3).
 * Where it would touch freed memory or hang, this model does the intended thing:
 * - completions naming a buffer the driver no longer owns are logged and ignored (the
 *   real driver would touch freed memory);
 * - remove does not wait for an ACK its stopped poll timer can never deliver.
 * Checksum offload (lincsum) is never marked valid: frames from the emulated stack
 * are CHECKSUM_NONE. The 5 s transmit watchdog is not modelled.
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { GUIDS } from '../protocol/guid';
import { EINVAL, EIO, ENOMEM } from '../protocol/errno';
import {
  CMD, Cmdrsp, DRAIN_LIMIT, ETH_HLEN, ETH_MIN_PACKET_SIZE, hexCookie, IOCHAN_FROM_IOPART, IOCHAN_TO_IOPART, MAX_NET_RCV_CHAIN, MAX_PHYS_INFO,
  NET, NET_TYPE, NET_TYPE_NAMES, PI_PAGE_MASK, PI_PAGE_SIZE, RCVPOST_BUF_SIZE, SIZEOF_CMDRSP, VISOR_CHANNEL_IS_POLLING,
  VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING, VNIC,
} from './uiscmdrsp';
import { IFF, macText, NETDEV_TX_OK, NetDevice, netDevices, packetType } from '../guest/netdev';

/** Channel statistics (devdata->chstat). */
export interface VisornicChstat {
  got_rcv: number;
  got_enbdisack: number;
  got_xmit_done: number;
  xmit_fail: number;
  sent_enbdis: number;
  sent_promisc: number;
  sent_post: number;
  sent_post_failed: number;
  sent_xmit: number;
  reject_count: number;
  extra_rcvbufs_sent: number;
}

/** What the debugger shows for a visornic device (dev.driverData). */
export interface VisornicData {
  netdev: string;
  mac: string;
  mtu: number;
  num_rcv_bufs: number;
  incarnation_id: string;
  enabled: number;
  enab_dis_acked: number;
  server_down: boolean;
  server_change_state: boolean;
  going_away: boolean;
  napi_enabled: boolean;
  /** 'idle' | 'opening' (waiting for the enable ACK) | 'closing' (waiting for the disable ACK). */
  wait: 'idle' | 'opening' | 'closing';
  queue_stopped: boolean;
  carrier: boolean;
  max_outstanding_net_xmits: number;
  upper_threshold_net_xmits: number;
  lower_threshold_net_xmits: number;
  num_rcvbuf_in_iovm: number;
  rcvbufs_allocated: number;
  xmits_in_flight: number;
  chstat: VisornicChstat;
  busy_cnt: number;
  flow_control_upper_hits: number;
  flow_control_lower_hits: number;
  n_rcv0: number;
  n_rcv1: number;
  n_rcv2: number;
  n_rcvx: number;
  found_repost_rcvbuf_cnt: number;
  repost_found_skb_cnt: number;
  n_repost_deficit: number;
  bad_rcv_buf: number;
  n_rcv_packets_not_accepted: number;
  num_rcv_bufs_could_not_alloc: number;
  /** Emulator-only: NET_RCV dropped because reception was not enabled and acknowledged. */
  rx_dropped_not_enabled: number;
  /** Emulator-only: completions naming a buffer the driver does not own. */
  unknown_cookies: number;
  stats: NetDevice['stats'];
}

interface Skb {
  cookie: bigint;
  /** Guest-physical address of the data. */
  addr: number;
  /** DMA allocation to free. */
  alloc: number;
  /** Whether `alloc` is one page (recycled through the pool). */
  onePage: boolean;
  len: number;
}

interface Internal {
  netdev: NetDevice;
  netdevCookie: bigint;
  /** rcvbuf[i]: the posted receive buffer in slot i (undefined = needs (re)posting). */
  rcvbuf: (Skb | undefined)[];
  /** Every receive skb by cookie. */
  rcvByCookie: Map<bigint, Skb>;
  /** Transmitted skbs waiting for NET_XMIT_DONE. */
  xmitByCookie: Map<bigint, Skb>;
  cancelTimer?: () => void;
  complete?: CompleteFunc;
  /** Freed single DMA pages kept for reuse (receive buffers and small transmits). */
  pool: number[];
  waitSince: number;
  waitWarned: boolean;
  /** devdata->cmdrsp_rcv: the one buffer of NET_RCV_POST and NET_RCV_ENBDIS, never cleared. */
  cmdrspRcv?: Cmdrsp;
}

const NAPI_WEIGHT = 64;
/** Where the frame starts in a transmit allocation (skb headroom), so data need not be page aligned. */
const TX_HEADROOM = 0x42;

export function createVisornic(): VisorDriver {
  const internals = new WeakMap<VisorDevice, Internal>();
  let netdevSeq = 0n;
  // skb "pointers" (opaque cookies for the IO partition), per driver instance so a run is deterministic.
  let cookieSeq = 0n;
  const newCookie = (): bigint => {
    cookieSeq += 1n;
    return 0xffff888000000000n + (cookieSeq << 8n);
  };

  const dd = (dev: VisorDevice): VisornicData => dev.driverData as VisornicData;

  const outstanding = (d: VisornicData): number => d.chstat.sent_xmit - d.chstat.got_xmit_done;

  // ------------------------------------------------------------------ buffers

  const allocRcvBuf = (dev: VisorDevice, inn: Internal): Skb | undefined => {
    const k = dev.kernel;
    let alloc: number;
    try {
      alloc = inn.pool.pop() ?? k.allocDma(PI_PAGE_SIZE, PI_PAGE_SIZE);
    } catch {
      return undefined;
    }
    const skb: Skb = { cookie: newCookie(), addr: alloc, alloc, len: RCVPOST_BUF_SIZE, onePage: true };
    inn.rcvByCookie.set(skb.cookie, skb);
    return skb;
  };

  const freeSkb = (dev: VisorDevice, inn: Internal, skb: Skb): void => {
    if (inn.rcvByCookie.get(skb.cookie) === skb) inn.rcvByCookie.delete(skb.cookie);
    if (inn.xmitByCookie.get(skb.cookie) === skb) inn.xmitByCookie.delete(skb.cookie);
    if (skb.onePage && !dd(dev).going_away && inn.pool.length < 2 * inn.rcvbuf.length + 16) {
      inn.pool.push(skb.alloc);
      return;
    }
    try {
      dev.kernel.freeDma(skb.alloc);
    } catch {
      // already gone
    }
  };

  /** The message buffer of NET_RCV_POST / NET_RCV_ENBDIS: the device's shared one, or a cleared one when corrected. */
  const rcvCmdrsp = (dev: VisorDevice): Cmdrsp => {
    const inn = internals.get(dev);
    if (!inn || dev.kernel.kernelBugFixed('staleCmdrsp')) return new Cmdrsp();
    return (inn.cmdrspRcv ??= new Cmdrsp());
  };

  /** post_skb: NET_RCV_POST one receive buffer. 0, -EINVAL (crosses a page) or the insert error. */
  const postSkb = (dev: VisorDevice, skb: Skb): number => {
    const d = dd(dev);
    const off = skb.addr & PI_PAGE_MASK;
    if (off + skb.len > PI_PAGE_SIZE) return -EINVAL;
    const m = rcvCmdrsp(dev);
    m.cmdtype = CMD.NET;
    m.setU32(NET.type, NET_TYPE.RCV_POST);
    m.setU64(NET.buf, skb.cookie);
    m.setU64(NET.rcvpost_pi_pfn, Math.floor(skb.addr / PI_PAGE_SIZE));
    m.setU16(NET.rcvpost_pi_off, off);
    m.setU16(NET.rcvpost_pi_len, skb.len);
    m.setU64(NET.rcvpost_unique_num, BigInt(d.incarnation_id));
    const rc = dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes);
    if (rc) {
      d.chstat.sent_post_failed++;
      return rc;
    }
    d.num_rcvbuf_in_iovm++;
    d.chstat.sent_post++;
    return 0;
  };

  const sendEnbdis = (dev: VisorDevice, inn: Internal, enable: number): number => {
    const d = dd(dev);
    const m = rcvCmdrsp(dev);
    m.cmdtype = CMD.NET;
    m.setU32(NET.type, NET_TYPE.RCV_ENBDIS);
    m.setU64(NET.enbdis_context, inn.netdevCookie);
    m.setU16(NET.enbdis_enable, enable);
    const rc = dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes);
    if (rc) {
      dev.err(`${inn.netdev.name}: NET_RCV_ENBDIS(${enable}) could not be queued (${rc})`);
      return rc;
    }
    d.chstat.sent_enbdis++;
    return 0;
  };

  const countRcvShape = (d: VisornicData, n: number): void => {
    if (n === 0) d.n_rcv0++;
    else if (n === 1) d.n_rcv1++;
    else if (n === 2) d.n_rcv2++;
    else d.n_rcvx++;
  };

  /**
   * repost_return: every buffer listed in the NET_RCV is replaced by a fresh one and
   * posted again; `skb` (the buffer the message names) is freed if it was among them.
   */
  const repostReturn = (dev: VisorDevice, inn: Internal, rcvbufs: bigint[], skb: Skb | undefined): number => {
    const d = dd(dev);
    countRcvShape(d, rcvbufs.length);
    let reposted = 0;
    let foundSkb = false;
    let status = 0;
    for (const c of rcvbufs) {
      const i = inn.rcvbuf.findIndex((b) => b?.cookie === c);
      if (i < 0) continue;
      const old = inn.rcvbuf[i]!;
      if (skb && old === skb) {
        d.found_repost_rcvbuf_cnt++;
        d.repost_found_skb_cnt++;
        foundSkb = true;
      }
      freeSkb(dev, inn, old);
      const fresh = allocRcvBuf(dev, inn);
      inn.rcvbuf[i] = fresh;
      if (!fresh) {
        d.num_rcv_bufs_could_not_alloc++;
        status = -ENOMEM;
        continue;
      }
      const rc = postSkb(dev, fresh);
      if (rc) {
        freeSkb(dev, inn, fresh);
        inn.rcvbuf[i] = undefined;
        status = rc;
        continue;
      }
      reposted++;
    }
    if (reposted !== rcvbufs.length) {
      d.n_repost_deficit++;
      status = -EINVAL;
    }
    if (skb && !foundSkb) {
      d.bad_rcv_buf++;
      status = -EINVAL;
    }
    d.rcvbufs_allocated = inn.rcvbuf.filter((b) => b).length;
    return status;
  };

  /** send_rcv_posts_if_needed: re-post slots whose buffer could not be (re)allocated or posted. */
  const sendRcvPostsIfNeeded = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    if (!(d.enabled && d.enab_dis_acked)) return;
    for (let i = 0; i < inn.rcvbuf.length; i++) {
      if (inn.rcvbuf[i]) continue;
      const skb = allocRcvBuf(dev, inn);
      if (!skb) {
        d.num_rcv_bufs_could_not_alloc++;
        break;
      }
      if (postSkb(dev, skb)) {
        freeSkb(dev, inn, skb);
        break;
      }
      inn.rcvbuf[i] = skb;
      d.chstat.extra_rcvbufs_sent++;
    }
    d.rcvbufs_allocated = inn.rcvbuf.filter((b) => b).length;
  };

  // ------------------------------------------------------------------ queue state

  const syncQueueState = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    d.queue_stopped = inn.netdev.queueStopped;
    d.carrier = inn.netdev.carrier;
    d.xmits_in_flight = inn.xmitByCookie.size;
  };

  const stopQueue = (dev: VisorDevice, inn: Internal): void => {
    inn.netdev.stopQueue();
    syncQueueState(dev, inn);
  };

  const wakeQueue = (dev: VisorDevice, inn: Internal): void => {
    inn.netdev.wakeQueue();
    syncQueueState(dev, inn);
  };

  // ------------------------------------------------------------------ enable / disable

  /** visornic_enable_with_timeout, up to the wait for the ACK. */
  const enable = (dev: VisorDevice, inn: Internal): number => {
    const d = dd(dev);
    d.napi_enabled = true;
    // init_rcv_bufs: allocate num_rcv_bufs buffers; at least 2/3 must succeed.
    inn.rcvbuf = new Array<Skb | undefined>(d.num_rcv_bufs).fill(undefined);
    let allocated = 0;
    for (let i = 0; i < d.num_rcv_bufs; i++) {
      const skb = allocRcvBuf(dev, inn);
      if (!skb) break;
      inn.rcvbuf[i] = skb;
      allocated++;
    }
    if (allocated < Math.ceil((d.num_rcv_bufs * 2) / 3)) {
      for (const b of inn.rcvbuf) if (b) freeSkb(dev, inn, b);
      inn.rcvbuf.fill(undefined);
      d.napi_enabled = false;
      dev.err(`${inn.netdev.name}: could only allocate ${allocated} of ${d.num_rcv_bufs} receive buffers`);
      return -ENOMEM;
    }
    d.num_rcv_bufs_could_not_alloc += d.num_rcv_bufs - allocated;
    for (let i = 0; i < inn.rcvbuf.length; i++) {
      const skb = inn.rcvbuf[i];
      if (!skb) continue;
      if (postSkb(dev, skb)) {
        freeSkb(dev, inn, skb);
        inn.rcvbuf[i] = undefined;
      }
    }
    d.rcvbufs_allocated = inn.rcvbuf.filter((b) => b).length;
    d.enabled = 1;
    d.enab_dis_acked = 0;
    const rc = sendEnbdis(dev, inn, 1);
    if (rc) return rc;
    if (d.server_down || d.server_change_state) {
      finishEnable(dev, inn, false);
      return -EIO;
    }
    d.wait = 'opening';
    inn.waitSince = dev.kernel.jiffies();
    inn.waitWarned = false;
    return 0;
  };

  /** The wait for the enable ACK ended: start the transmit queue. */
  const finishEnable = (dev: VisorDevice, inn: Internal, acked: boolean): void => {
    const d = dd(dev);
    d.wait = 'idle';
    if (!acked) dev.info(`${inn.netdev.name}: enable not acknowledged (server down or changing state); open reports -EIO but the interface stays up`);
    wakeQueue(dev, inn);
  };

  /** visornic_disable_with_timeout, up to the wait for the ACK. */
  const disable = (dev: VisorDevice, inn: Internal, waitForAck: boolean): void => {
    const d = dd(dev);
    d.enabled = 0;
    d.enab_dis_acked = 0;
    const rc = sendEnbdis(dev, inn, 0);
    if (rc || !waitForAck || d.server_down || d.server_change_state) {
      finishDisable(dev, inn);
      return;
    }
    d.wait = 'closing';
    inn.waitSince = dev.kernel.jiffies();
    inn.waitWarned = false;
  };

  /** The wait for the disable ACK ended: stop the queue, NAPI off, drop in-flight transmits, free the buffers. */
  const finishDisable = (dev: VisorDevice, inn: Internal): void => {
    const d = dd(dev);
    d.wait = 'idle';
    stopQueue(dev, inn);
    d.napi_enabled = false;
    if (inn.xmitByCookie.size) dev.info(`${inn.netdev.name}: ${inn.xmitByCookie.size} transmit(s) still in flight are forgotten (their NET_XMIT_DONE will be ignored)`);
    for (const skb of [...inn.xmitByCookie.values()]) freeSkb(dev, inn, skb);
    inn.xmitByCookie.clear();
    // The other end unposts the receive buffers when it gets the disable.
    for (const skb of inn.rcvbuf) if (skb) freeSkb(dev, inn, skb);
    inn.rcvbuf = [];
    d.rcvbufs_allocated = 0;
    syncQueueState(dev, inn);
  };

  // ------------------------------------------------------------------ transmit

  /** visornic_xmit (ndo_start_xmit). Always NETDEV_TX_OK; drops count in busy_cnt. */
  const xmit = (dev: VisorDevice, inn: Internal, frame: Uint8Array): number => {
    const d = dd(dev);
    const drop = (why: string, level: 'info' | 'err' = 'info'): number => {
      d.busy_cnt++;
      if (level === 'err') dev.err(`${inn.netdev.name}: xmit - ${why}`);
      else dev.info(`${inn.netdev.name}: xmit dropped: ${why}`);
      return NETDEV_TX_OK;
    };
    if (inn.netdev.queueStopped || d.server_down || d.server_change_state) return drop('busy - queue stopped');
    if (frame.length < ETH_HLEN) return drop('firstfraglen < ETH_HLEN', 'err');
    const len = Math.max(frame.length, ETH_MIN_PACKET_SIZE);
    if (outstanding(d) >= d.max_outstanding_net_xmits) {
      d.chstat.reject_count++;
      stopQueue(dev, inn);
      return drop('too many NET_XMITs queued over to IOVM - need to wait');
    }
    // The skb: linear data at some offset in guest memory, zero padded to 60 bytes.
    const k = dev.kernel;
    const onePage = TX_HEADROOM + len <= PI_PAGE_SIZE;
    const alloc = (onePage ? inn.pool.pop() : undefined) ?? k.allocDma(TX_HEADROOM + len, PI_PAGE_SIZE);
    const addr = alloc + TX_HEADROOM;
    const data = new Uint8Array(len);
    data.set(frame);
    k.memory.write(addr, data);
    const skb: Skb = { cookie: newCookie(), addr, alloc, len, onePage };
    const m = new Cmdrsp();
    m.cmdtype = CMD.NET;
    m.setU32(NET.type, NET_TYPE.XMIT);
    m.setU64(NET.buf, skb.cookie);
    m.setU8(NET.lincsum_valid, 0);
    m.setI32(NET.xmt_len, len);
    m.set(NET.xmt_ethhdr, data.subarray(0, ETH_HLEN));
    // One phys_info per 4 KiB-page piece of the linear data.
    let n = 0;
    for (let a = addr; a < addr + len; ) {
      const off = a & PI_PAGE_MASK;
      const piece = Math.min(PI_PAGE_SIZE - off, addr + len - a);
      if (n >= MAX_PHYS_INFO) {
        freeSkb(dev, inn, skb);
        return drop('generate_skb_fragsinfo failed', 'err');
      }
      const o = NET.xmt_frags + n * NET.phys_info_size;
      m.setU64(o, Math.floor(a / PI_PAGE_SIZE));
      m.setU16(o + 8, off);
      m.setU16(o + 10, piece);
      n++;
      a += piece;
    }
    m.setI32(NET.xmt_num_frags, n);
    if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes)) {
      stopQueue(dev, inn);
      freeSkb(dev, inn, skb);
      return drop('signalinsert failed');
    }
    inn.xmitByCookie.set(skb.cookie, skb);
    inn.netdev.stats.tx_packets++;
    inn.netdev.stats.tx_bytes += len;
    d.chstat.sent_xmit++;
    if (outstanding(d) >= d.upper_threshold_net_xmits) {
      stopQueue(dev, inn);
      d.flow_control_upper_hits++;
    }
    syncQueueState(dev, inn);
    return NETDEV_TX_OK;
  };

  // ------------------------------------------------------------------ receive processing

  const readCookies = (m: Cmdrsp, n: number): bigint[] => {
    const out: bigint[] = [];
    for (let i = 0; i < Math.min(n, MAX_NET_RCV_CHAIN); i++) out.push(m.u64(NET.rcv_rcvbuf + i * 8));
    return out;
  };

  /** visornic_rx: 1 when the packet went up the stack, else 0. */
  const rx = (dev: VisorDevice, inn: Internal, m: Cmdrsp): number => {
    const d = dd(dev);
    const cookie = m.u64(NET.buf);
    const numrcvbufs = m.u8(NET.rcv_numrcvbufs);
    const cookies = readCookies(m, numrcvbufs);
    const skb = inn.rcvByCookie.get(cookie);
    if (!skb || !inn.rcvbuf.includes(skb)) {
      d.unknown_cookies++;
      dev.err(`${inn.netdev.name}: NET_RCV names buffer ${hexCookie(cookie)}, which is not a posted receive buffer (a real guest would dereference it); dropped`);
      repostReturn(dev, inn, cookies, undefined);
      return 0;
    }
    d.num_rcvbuf_in_iovm = Math.max(0, d.num_rcvbuf_in_iovm - 1);
    const len = m.u32(NET.rcv_done_len);
    inn.netdev.stats.rx_packets++;
    inn.netdev.stats.rx_bytes += len;
    if (!(d.enabled && d.enab_dis_acked)) {
      d.rx_dropped_not_enabled++;
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    if (len > RCVPOST_BUF_SIZE ? numrcvbufs < 2 : numrcvbufs !== 1) {
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    if (cookies[0] !== cookie) {
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    if (len > cookies.length * RCVPOST_BUF_SIZE) {
      dev.err(`${inn.netdev.name}: something wrong; rcv_done_len ${len} does not fit in ${cookies.length} receive buffer(s); dropped`);
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    // Gather the frame: the first buffer, then the chained ones.
    const frame = new Uint8Array(len);
    let off = 0;
    for (let cc = 0; cc < cookies.length && off < len; cc++) {
      const b = inn.rcvByCookie.get(cookies[cc]);
      if (!b || !inn.rcvbuf.includes(b)) {
        dev.err(`${inn.netdev.name}: NET_RCV chains unknown buffer ${hexCookie(cookies[cc])}; dropped`);
        d.unknown_cookies++;
        repostReturn(dev, inn, cookies, skb);
        return 0;
      }
      const n = Math.min(RCVPOST_BUF_SIZE, len - off);
      dev.kernel.memory.readInto(b.addr, frame, off, n);
      off += n;
    }
    if (off !== len) {
      dev.err(`${inn.netdev.name}: something wrong; skb->len:${len} != off:${off}; dropped`);
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    const nd = inn.netdev;
    const type = packetType(frame, nd.mac);
    let accept = false;
    if (nd.flags & IFF.PROMISC) accept = true;
    else if (type === 'broadcast') accept = (nd.flags & IFF.BROADCAST) !== 0;
    else if (type === 'multicast') accept = (nd.flags & IFF.MULTICAST) !== 0 && nd.multicastList.some((a) => a.every((x, i) => x === frame[i]));
    else if (type === 'host') accept = true;
    else dev.err(`**** FAILED to deliver rcv packet to OS; name:${nd.name} Dest:${macText(frame)} VNIC:${macText(nd.mac)}`);
    if (!accept) {
      d.n_rcv_packets_not_accepted++;
      repostReturn(dev, inn, cookies, skb);
      return 0;
    }
    nd.receive(frame, dev.kernel.jiffies());
    repostReturn(dev, inn, cookies, skb);
    return 1;
  };

  /** service_resp_queue: drain queue 1 until empty or the budget is used. */
  const serviceRespQueue = (dev: VisorDevice, inn: Internal, budget: number): number => {
    const d = dd(dev);
    let work = 0;
    const m = new Cmdrsp(new Uint8Array(SIZEOF_CMDRSP));
    while (work < budget) {
      if (dev.channel.signalRemove(IOCHAN_FROM_IOPART, m.bytes) !== 0) break;
      const type = m.u32(NET.type);
      switch (type) {
        case NET_TYPE.RCV:
          d.chstat.got_rcv++;
          work += rx(dev, inn, m);
          break;
        case NET_TYPE.XMIT_DONE: {
          d.chstat.got_xmit_done++;
          if (m.u32(NET.xmtdone_result)) d.chstat.xmit_fail++;
          const cookie = m.u64(NET.buf);
          const skb = inn.xmitByCookie.get(cookie);
          if (!skb) {
            d.unknown_cookies++;
            dev.warn(`${inn.netdev.name}: NET_XMIT_DONE for ${hexCookie(cookie)}, which is not an in-flight transmit; ignored`);
            break;
          }
          if (inn.netdev.queueStopped && outstanding(d) <= d.lower_threshold_net_xmits) {
            wakeQueue(dev, inn);
            d.flow_control_lower_hits++;
          }
          freeSkb(dev, inn, skb);
          break;
        }
        case NET_TYPE.RCV_ENBDIS_ACK: {
          d.chstat.got_enbdisack++;
          const ctx = m.u64(NET.enbdis_context);
          if (ctx !== inn.netdevCookie) dev.warn(`${inn.netdev.name}: NET_RCV_ENBDIS_ACK context ${hexCookie(ctx)} is not this netdev (${hexCookie(inn.netdevCookie)})`);
          d.enab_dis_acked = 1;
          if (d.server_down && d.server_change_state) {
            d.server_down = false;
            d.server_change_state = false;
            wakeQueue(dev, inn);
            inn.netdev.carrierOn();
            dev.info(`${inn.netdev.name}: resumed (NET_RCV_ENBDIS_ACK)`);
          }
          if (d.wait === 'opening') finishEnable(dev, inn, true);
          else if (d.wait === 'closing') finishDisable(dev, inn);
          break;
        }
        case NET_TYPE.CONNECT_STATUS: {
          const en = m.u16(NET.enbdis_enable);
          if (en === 1) {
            d.enabled = 1;
            wakeQueue(dev, inn);
            inn.netdev.carrierOn();
          } else {
            stopQueue(dev, inn);
            inn.netdev.carrierOff();
            d.enabled = en;
          }
          break;
        }
        default:
          dev.info(`ignoring ${NET_TYPE_NAMES[type] ?? `net type ${type}`} on queue ${IOCHAN_FROM_IOPART}`);
          break;
      }
    }
    syncQueueState(dev, inn);
    return work;
  };

  /** The private poll timer: every jiffy; NAPI runs when queue 1 is not empty and NAPI is on. */
  const armTimer = (dev: VisorDevice, inn: Internal): void => {
    inn.cancelTimer = dev.kernel.setTimer(dev, 1, 'visornic poll', () => {
      inn.cancelTimer = undefined;
      const d = dd(dev);
      if (d.napi_enabled && !dev.channel.signalEmpty(IOCHAN_FROM_IOPART)) {
        sendRcvPostsIfNeeded(dev, inn);
        serviceRespQueue(dev, inn, NAPI_WEIGHT);
      }
      if (d.wait !== 'idle' && !inn.waitWarned && dev.kernel.jiffies() - inn.waitSince >= 5 * dev.kernel.hz) {
        inn.waitWarned = true;
        dev.warn(`${inn.netdev.name}: still waiting for NET_RCV_ENBDIS_ACK after 5 s (${d.wait === 'opening' ? 'ifup' : 'ifdown'} blocks until the IO partition answers)`);
      }
      armTimer(dev, inn);
    });
  };

  const stopTimer = (inn: Internal): void => {
    inn.cancelTimer?.();
    inn.cancelTimer = undefined;
  };

  // ------------------------------------------------------------------ the driver

  return {
    name: 'visornic',
    channelTypes: [{ guid: GUIDS.vnic, name: 'ultravnic', minBytes: 128, version: 2 }],

    probe(dev: VisorDevice): number {
      const k = dev.kernel;
      const cfg = new Uint8Array(14);
      if (dev.channel.read(VNIC.macaddr, cfg) !== 0) {
        dev.err('cannot read the vnic configuration from the channel');
        return -EIO;
      }
      const v = new DataView(cfg.buffer);
      const mac = cfg.slice(0, 6);
      const numRcvBufs = v.getUint32(VNIC.num_rcv_bufs - VNIC.macaddr, true);
      const mtu = v.getUint32(VNIC.mtu - VNIC.macaddr, true);
      // Drain and discard whatever is already in queue 1.
      const junk = new Uint8Array(SIZEOF_CMDRSP);
      let drained = 0;
      while (drained < DRAIN_LIMIT && dev.channel.signalRemove(IOCHAN_FROM_IOPART, junk) === 0) drained++;
      if (drained) dev.info(`discarded ${drained} stale message(s) in queue ${IOCHAN_FROM_IOPART} at probe`);
      // max_t(unsigned long, 3, num_rcv_bufs / 3 - 2): below 6 buffers the difference is
      // negative, becomes a huge unsigned long, and flow control never stops the queue.
      const realMax = Math.trunc(numRcvBufs / 3) - 2;
      const maxOut = realMax < 0 && !k.kernelBugFixed('flowControl') ? 2 ** 64 + realMax : Math.max(3, realMax);
      if (realMax < 0) {
        dev.info(`num_rcv_bufs ${numRcvBufs} < 6: max_outstanding_net_xmits ${maxOut > 3 ? `wraps to ${maxOut} (flow control off)` : 'is 3 (fixKernelBugs flowControl)'}`);
      }
      const name = k.nextClassName('net', 'eth');
      netdevSeq += 1n;
      const netdevCookie = 0xffff888100000000n + netdevSeq * 0x1000n;
      // eslint-disable-next-line prefer-const
      let inn: Internal;
      const netdev: NetDevice = new NetDevice(name, `${dev.busNo}:${dev.devNo}`, mac, mtu, {
        // visornic_open ignores what the enable returns: the interface comes up anyway.
        open: () => {
          if (dd(dev).wait === 'closing') finishDisable(dev, inn);
          enable(dev, inn);
          return 0;
        },
        stop: () => {
          disable(dev, inn, true);
          return 0;
        },
        startXmit: (frame) => xmit(dev, inn, frame),
        setRxMode: () => {
          const on = (netdev.flags & IFF.PROMISC) !== 0;
          const m = new Cmdrsp();
          m.cmdtype = CMD.NET;
          m.setU32(NET.type, NET_TYPE.RCV_PROMISC);
          m.setU64(NET.enbdis_context, inn.netdevCookie);
          // visornic_set_multi sends netdev->flags & IFF_PROMISC.
          const enable = k.kernelBugFixed('promiscEnable') ? (on ? 1 : 0) : netdev.flags & IFF.PROMISC;
          m.setU16(NET.enbdis_enable, enable);
          if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) === 0) dd(dev).chstat.sent_promisc++;
          dev.info(`${name}: NET_RCV_PROMISC enable=0x${enable.toString(16)}`);
        },
        changeMtu: () => -EINVAL,
      }, (t) => dev.info(t));
      const d: VisornicData = {
        netdev: name,
        mac: macText(mac),
        mtu,
        num_rcv_bufs: numRcvBufs,
        incarnation_id: String(k.jiffies()),
        enabled: 0,
        enab_dis_acked: 0,
        server_down: false,
        server_change_state: false,
        going_away: false,
        napi_enabled: false,
        wait: 'idle',
        queue_stopped: true,
        carrier: true,
        max_outstanding_net_xmits: maxOut,
        upper_threshold_net_xmits: Math.max(2, maxOut - 1),
        lower_threshold_net_xmits: Math.max(1, Math.trunc(maxOut / 2)),
        num_rcvbuf_in_iovm: 0,
        rcvbufs_allocated: 0,
        xmits_in_flight: 0,
        chstat: { got_rcv: 0, got_enbdisack: 0, got_xmit_done: 0, xmit_fail: 0, sent_enbdis: 0, sent_promisc: 0, sent_post: 0, sent_post_failed: 0, sent_xmit: 0, reject_count: 0, extra_rcvbufs_sent: 0 },
        busy_cnt: 0,
        flow_control_upper_hits: 0,
        flow_control_lower_hits: 0,
        n_rcv0: 0,
        n_rcv1: 0,
        n_rcv2: 0,
        n_rcvx: 0,
        found_repost_rcvbuf_cnt: 0,
        repost_found_skb_cnt: 0,
        n_repost_deficit: 0,
        bad_rcv_buf: 0,
        n_rcv_packets_not_accepted: 0,
        num_rcv_bufs_could_not_alloc: 0,
        rx_dropped_not_enabled: 0,
        unknown_cookies: 0,
        stats: netdev.stats,
      };
      dev.driverData = d;
      inn = { netdev, netdevCookie, rcvbuf: [], rcvByCookie: new Map(), xmitByCookie: new Map(), waitSince: 0, waitWarned: false, pool: [] };
      internals.set(dev, inn);
      armTimer(dev, inn);
      // features |= IS_POLLING | ENHANCED_RCVBUF_CHECKING
      const f = new Uint8Array(8);
      if (dev.channel.read(24, f) === 0) {
        f[0] |= VISOR_CHANNEL_IS_POLLING | VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING;
        dev.channel.write(24, f);
      }
      // This version has no channel_interrupt: the bus answers -ENOENT, which is ignored.
      dev.enableChannelInterrupts();
      k.addClassDevice(
        {
          cls: 'net',
          name,
          attrs: netdev.attrs(),
          writers: {
            flags: (value: string) => {
              const n = Number(value.trim());
              if (!Number.isInteger(n) || n < 0) throw new Error('EINVAL: flags must be a number such as 0x1003');
              if ((n & IFF.UP) && !netdev.up) netdev.open();
              else if (!(n & IFF.UP) && netdev.up) netdev.close();
              netdev.setPromisc((n & IFF.PROMISC) !== 0);
            },
            mtu: (value: string) => {
              const rc = netdev.setMtu(Number(value.trim()));
              if (rc) throw new Error('EINVAL: Invalid argument (visornic does not allow MTU changes)');
            },
          },
        },
        dev,
      );
      netDevices(k.memory).set(`${dev.busNo}:${dev.devNo}`, netdev);
      dev.info(`${name}: visornic, MAC ${macText(mac)}, mtu ${mtu}, ${numRcvBufs} receive buffers`);
      return 0;
    },

    remove(dev: VisorDevice): void {
      const inn = internals.get(dev);
      if (!inn) return;
      const d = dd(dev);
      d.going_away = true;
      stopTimer(inn);
      if (inn.netdev.up) {
        dev.info(`${inn.netdev.name}: closing for removal without waiting for NET_RCV_ENBDIS_ACK (a real visornic would wait forever: its poll timer is already stopped)`);
        inn.netdev.flags &= ~IFF.UP;
        disable(dev, inn, false);
      }
      inn.netdev.removed = true;
      dev.kernel.removeClassDevice('net', inn.netdev.name);
      const reg = netDevices(dev.kernel.memory);
      if (reg.get(`${dev.busNo}:${dev.devNo}`) === inn.netdev) reg.delete(`${dev.busNo}:${dev.devNo}`);
      for (const skb of [...inn.rcvByCookie.values(), ...inn.xmitByCookie.values()]) freeSkb(dev, inn, skb);
      for (const addr of inn.pool.splice(0)) dev.kernel.freeDma(addr);
      internals.delete(dev);
    },

    pause(dev: VisorDevice, complete: CompleteFunc): number {
      const inn = internals.get(dev);
      const d = dd(dev);
      if (!inn || d.going_away) {
        dev.info('pause: device is being removed; no completion');
        return 0;
      }
      if (d.server_down || d.server_change_state) {
        dev.info('pause: server already down or changing state; nothing to do and no completion (the CP gets no response)');
        return 0;
      }
      d.server_change_state = true;
      stopTimer(inn);
      inn.netdev.close();
      if (d.wait !== 'idle') finishDisable(dev, inn);
      d.num_rcvbuf_in_iovm = 0;
      d.chstat.sent_xmit = 0;
      d.chstat.got_xmit_done = 0;
      complete(0);
      d.server_down = true;
      d.server_change_state = false;
      syncQueueState(dev, inn);
      return 0;
    },

    resume(dev: VisorDevice, complete: CompleteFunc): number {
      const inn = internals.get(dev);
      const d = dd(dev);
      if (!inn) return -EINVAL;
      if (d.server_change_state) return -EINVAL;
      if (!d.server_down) {
        complete(0);
        return 0;
      }
      d.server_change_state = true;
      armTimer(dev, inn);
      inn.netdev.open();
      complete(0);
      syncQueueState(dev, inn);
      return 0;
    },
  };
}
