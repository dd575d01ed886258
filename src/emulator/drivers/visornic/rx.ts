/**
 * visornic's receive side: service_resp_queue drains queue 1 (NET_RCV,
 * NET_XMIT_DONE, NET_RCV_ENBDIS_ACK, NET_CONNECT_STATUS) within the NAPI budget, and
 * visornic_rx hands a received frame to the stack. rx_packets / rx_bytes count every
 * NET_RCV that names a posted buffer, before the driver decides to drop it; filtered
 * receives count in n_rcv_packets_not_accepted.
 */
import { Cmdrsp, hexCookie, IOCHAN_FROM_IOPART, MAX_NET_RCV_CHAIN, NET, NET_TYPE, NET_TYPE_NAMES, RCVPOST_BUF_SIZE, SIZEOF_CMDRSP } from '../uiscmdrsp';
import { IFF, macText, packetType } from '../../guest/netdev';
import { Skb, visornic_devdata, visornic_outstanding, visornic_stop_queue, visornic_sync_queue_state, visornic_wake_queue } from './devdata';
import { repost_return, visornic_free_skb } from './rcvbuf';
import { visornic_disable_done, visornic_enable_done } from './enable';

function visornic_rcv_cookies(m: Cmdrsp, n: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < Math.min(n, MAX_NET_RCV_CHAIN); i++) out.push(m.u64(NET.rcv_rcvbuf + i * 8));
  return out;
}

/** Whether the receive filter lets the frame in (promiscuous, broadcast, listed multicast, ours). */
function visornic_rx_accepts(devdata: visornic_devdata, frame: Uint8Array): boolean {
  const nd = devdata.netdev;
  const type = packetType(frame, nd.mac);
  if (nd.flags & IFF.PROMISC) return true;
  if (type === 'broadcast') return (nd.flags & IFF.BROADCAST) !== 0;
  if (type === 'multicast') return (nd.flags & IFF.MULTICAST) !== 0 && nd.multicastList.some((a) => a.every((x, i) => x === frame[i]));
  if (type === 'host') return true;
  devdata.dev.err(`**** FAILED to deliver rcv packet to OS; name:${nd.name} Dest:${macText(frame)} VNIC:${macText(nd.mac)}`);
  return false;
}

/** copy_rcv_data: the frame from the first buffer and the chained ones; undefined (logged) when it cannot be gathered. */
function copy_rcv_data(devdata: visornic_devdata, cookies: bigint[], len: number): Uint8Array | undefined {
  const name = devdata.netdev.name;
  const frame = new Uint8Array(len);
  let off = 0;
  for (let cc = 0; cc < cookies.length && off < len; cc++) {
    const b = devdata.rcvByCookie.get(cookies[cc]);
    if (!b || !devdata.rcvbuf.includes(b)) {
      devdata.dev.err(`${name}: NET_RCV chains unknown buffer ${hexCookie(cookies[cc])}; dropped`);
      devdata.data.unknown_cookies++;
      return undefined;
    }
    const n = Math.min(RCVPOST_BUF_SIZE, len - off);
    devdata.dev.kernel.memory.readInto(b.addr, frame, off, n);
    off += n;
  }
  if (off !== len) {
    devdata.dev.err(`${name}: something wrong; skb->len:${len} != off:${off}; dropped`);
    return undefined;
  }
  return frame;
}

/** Whether the NET_RCV's shape is one the driver takes: enabled, a sane chain that holds the length. */
function visornic_rx_shape_ok(devdata: visornic_devdata, cookie: bigint, cookies: bigint[], numrcvbufs: number, len: number): boolean {
  const data = devdata.data;
  if (!(data.enabled && data.enab_dis_acked)) {
    data.rx_dropped_not_enabled++;
    return false;
  }
  if (len > RCVPOST_BUF_SIZE ? numrcvbufs < 2 : numrcvbufs !== 1) return false;
  if (cookies[0] !== cookie) return false;
  if (len > cookies.length * RCVPOST_BUF_SIZE) {
    devdata.dev.err(`${devdata.netdev.name}: something wrong; rcv_done_len ${len} does not fit in ${cookies.length} receive buffer(s); dropped`);
    return false;
  }
  return true;
}

/** visornic_rx: 1 when the packet went up the stack, else 0. */
export function visornic_rx(devdata: visornic_devdata, m: Cmdrsp): number {
  const data = devdata.data;
  const cookie = m.u64(NET.buf);
  const numrcvbufs = m.u8(NET.rcv_numrcvbufs);
  const cookies = visornic_rcv_cookies(m, numrcvbufs);
  const skb: Skb | undefined = devdata.rcvByCookie.get(cookie);
  if (!skb || !devdata.rcvbuf.includes(skb)) {
    data.unknown_cookies++;
    devdata.dev.err(
      `${devdata.netdev.name}: NET_RCV names buffer ${hexCookie(cookie)}, which is not a posted receive buffer (a real guest would dereference it); dropped`,
    );
    repost_return(devdata, cookies, undefined);
    return 0;
  }
  data.num_rcvbuf_in_iovm = Math.max(0, data.num_rcvbuf_in_iovm - 1);
  const len = m.u32(NET.rcv_done_len);
  devdata.netdev.stats.rx_packets++;
  devdata.netdev.stats.rx_bytes += len;
  const frame = visornic_rx_shape_ok(devdata, cookie, cookies, numrcvbufs, len) ? copy_rcv_data(devdata, cookies, len) : undefined;
  if (!frame) {
    repost_return(devdata, cookies, skb);
    return 0;
  }
  if (!visornic_rx_accepts(devdata, frame)) {
    data.n_rcv_packets_not_accepted++;
    repost_return(devdata, cookies, skb);
    return 0;
  }
  devdata.netdev.receive(frame, devdata.dev.kernel.jiffies());
  repost_return(devdata, cookies, skb);
  return 1;
}

/** NET_XMIT_DONE: the skb is freed; the queue wakes once few enough are outstanding. */
function visornic_xmit_done(devdata: visornic_devdata, m: Cmdrsp): void {
  const data = devdata.data;
  data.chstat.got_xmit_done++;
  if (m.u32(NET.xmtdone_result)) data.chstat.xmit_fail++;
  const cookie = m.u64(NET.buf);
  const skb = devdata.xmitByCookie.get(cookie);
  if (!skb) {
    data.unknown_cookies++;
    devdata.dev.warn(`${devdata.netdev.name}: NET_XMIT_DONE for ${hexCookie(cookie)}, which is not an in-flight transmit; ignored`);
    return;
  }
  if (devdata.netdev.queueStopped && visornic_outstanding(data) <= data.lower_threshold_net_xmits) {
    visornic_wake_queue(devdata);
    data.flow_control_lower_hits++;
  }
  visornic_free_skb(devdata, skb);
}

/** NET_RCV_ENBDIS_ACK: ends a resume, an open's or a close's wait. */
function visornic_enbdis_ack(devdata: visornic_devdata, m: Cmdrsp): void {
  const data = devdata.data;
  data.chstat.got_enbdisack++;
  const ctx = m.u64(NET.enbdis_context);
  if (ctx !== devdata.netdevCookie)
    devdata.dev.warn(`${devdata.netdev.name}: NET_RCV_ENBDIS_ACK context ${hexCookie(ctx)} is not this netdev (${hexCookie(devdata.netdevCookie)})`);
  data.enab_dis_acked = 1;
  if (data.server_down && data.server_change_state) {
    data.server_down = false;
    data.server_change_state = false;
    visornic_wake_queue(devdata);
    devdata.netdev.carrierOn();
    devdata.dev.info(`${devdata.netdev.name}: resumed (NET_RCV_ENBDIS_ACK)`);
  }
  if (data.wait === 'opening') visornic_enable_done(devdata, true);
  else if (data.wait === 'closing') visornic_disable_done(devdata);
}

/** NET_CONNECT_STATUS: carrier and queue follow the link. */
function visornic_connect_status(devdata: visornic_devdata, m: Cmdrsp): void {
  const en = m.u16(NET.enbdis_enable);
  if (en === 1) {
    devdata.data.enabled = 1;
    visornic_wake_queue(devdata);
    devdata.netdev.carrierOn();
  } else {
    visornic_stop_queue(devdata);
    devdata.netdev.carrierOff();
    devdata.data.enabled = en;
  }
}

/** service_resp_queue: drain queue 1 until empty or the budget is used. */
export function service_resp_queue(devdata: visornic_devdata, budget: number): number {
  let work = 0;
  const m = new Cmdrsp(new Uint8Array(SIZEOF_CMDRSP));
  while (work < budget) {
    if (devdata.dev.channel.signalRemove(IOCHAN_FROM_IOPART, m.bytes) !== 0) break;
    const type = m.u32(NET.type);
    if (type === NET_TYPE.RCV) {
      devdata.data.chstat.got_rcv++;
      work += visornic_rx(devdata, m);
    } else if (type === NET_TYPE.XMIT_DONE) visornic_xmit_done(devdata, m);
    else if (type === NET_TYPE.RCV_ENBDIS_ACK) visornic_enbdis_ack(devdata, m);
    else if (type === NET_TYPE.CONNECT_STATUS) visornic_connect_status(devdata, m);
    else devdata.dev.info(`ignoring ${NET_TYPE_NAMES[type] ?? `net type ${type}`} on queue ${IOCHAN_FROM_IOPART}`);
  }
  visornic_sync_queue_state(devdata);
  return work;
}
