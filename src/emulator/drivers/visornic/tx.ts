/**
 * visornic_xmit (ndo_start_xmit): the frame goes into DMA memory as an skb's linear
 * data and out as NET_XMIT with one phys_info per 4 KiB-page piece. Always
 * NETDEV_TX_OK; frames it drops count in busy_cnt, never in tx_dropped.
 */
import { guestOf } from '../../guest/kernel';
import { CMD, Cmdrsp, ETH_HLEN, ETH_MIN_PACKET_SIZE, IOCHAN_TO_IOPART, MAX_PHYS_INFO, NET, NET_TYPE, PI_PAGE_MASK, PI_PAGE_SIZE } from '../uiscmdrsp';
import { NETDEV_TX_OK } from '../../guest/netdev';
import { Skb, visornic_devdata, visornic_outstanding, visornic_stop_queue, visornic_sync_queue_state } from './devdata';
import { visornic_free_skb } from './rcvbuf';

/** Where the frame starts in a transmit allocation (skb headroom), so data need not be page aligned. */
const TX_HEADROOM = 0x42;

/** A dropped frame: counted in busy_cnt and logged. */
function visornic_xmit_drop(devdata: visornic_devdata, why: string, level: 'info' | 'err' = 'info'): number {
  devdata.data.busy_cnt++;
  if (level === 'err') devdata.dev.err(`${devdata.netdev.name}: xmit - ${why}`);
  else devdata.dev.info(`${devdata.netdev.name}: xmit dropped: ${why}`);
  return NETDEV_TX_OK;
}

/** The skb: linear data at some offset in guest memory, zero padded to 60 bytes. */
function visornic_alloc_xmit_skb(devdata: visornic_devdata, frame: Uint8Array): Skb {
  const k = devdata.dev.kernel;
  const len = Math.max(frame.length, ETH_MIN_PACKET_SIZE);
  const onePage = TX_HEADROOM + len <= PI_PAGE_SIZE;
  const alloc = (onePage ? devdata.pool.pop() : undefined) ?? k.allocDma(TX_HEADROOM + len, PI_PAGE_SIZE);
  const addr = alloc + TX_HEADROOM;
  const data = new Uint8Array(len);
  data.set(frame);
  k.memory.write(addr, data);
  return { cookie: guestOf(devdata.dev).net.allocSkb(), addr, alloc, len, onePage };
}

/** generate_skb_fragsinfo: one phys_info per page piece; false when there are more than MAX_PHYS_INFO. */
function generate_skb_fragsinfo(m: Cmdrsp, skb: Skb): boolean {
  let n = 0;
  for (let a = skb.addr; a < skb.addr + skb.len;) {
    const off = a & PI_PAGE_MASK;
    const piece = Math.min(PI_PAGE_SIZE - off, skb.addr + skb.len - a);
    if (n >= MAX_PHYS_INFO) return false;
    const o = NET.xmt_frags + n * NET.phys_info_size;
    m.setU64(o, Math.floor(a / PI_PAGE_SIZE));
    m.setU16(o + 8, off);
    m.setU16(o + 10, piece);
    n++;
    a += piece;
  }
  m.setI32(NET.xmt_num_frags, n);
  return true;
}

/** visornic_xmit (ndo_start_xmit). Always NETDEV_TX_OK; drops count in busy_cnt. */
export function visornic_xmit(devdata: visornic_devdata, frame: Uint8Array): number {
  const data = devdata.data;
  if (devdata.netdev.queueStopped || data.server_down || data.server_change_state) return visornic_xmit_drop(devdata, 'busy - queue stopped');
  if (frame.length < ETH_HLEN) return visornic_xmit_drop(devdata, 'firstfraglen < ETH_HLEN', 'err');
  if (visornic_outstanding(data) >= data.max_outstanding_net_xmits) {
    data.chstat.reject_count++;
    visornic_stop_queue(devdata);
    return visornic_xmit_drop(devdata, 'too many NET_XMITs queued over to IOVM - need to wait');
  }
  const skb = visornic_alloc_xmit_skb(devdata, frame);
  const m = new Cmdrsp();
  m.cmdtype = CMD.NET;
  m.setU32(NET.type, NET_TYPE.XMIT);
  m.setU64(NET.buf, skb.cookie);
  m.setU8(NET.lincsum_valid, 0);
  m.setI32(NET.xmt_len, skb.len);
  m.set(NET.xmt_ethhdr, frame.subarray(0, ETH_HLEN));
  if (!generate_skb_fragsinfo(m, skb)) {
    visornic_free_skb(devdata, skb);
    return visornic_xmit_drop(devdata, 'generate_skb_fragsinfo failed', 'err');
  }
  if (devdata.dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes)) {
    visornic_stop_queue(devdata);
    visornic_free_skb(devdata, skb);
    return visornic_xmit_drop(devdata, 'signalinsert failed');
  }
  devdata.xmitByCookie.set(skb.cookie, skb);
  devdata.netdev.stats.tx_packets++;
  devdata.netdev.stats.tx_bytes += skb.len;
  data.chstat.sent_xmit++;
  if (visornic_outstanding(data) >= data.upper_threshold_net_xmits) {
    visornic_stop_queue(devdata);
    data.flow_control_upper_hits++;
  }
  visornic_sync_queue_state(devdata);
  return NETDEV_TX_OK;
}
