/**
 * visornic's receive buffers: 4032-byte skbs in one DMA page each, posted to the IO
 * partition with NET_RCV_POST and replaced after every NET_RCV (repost_return). Also
 * NET_RCV_ENBDIS, which shares the posts' message buffer.
 */
import { EINVAL, ENOMEM } from '../../protocol/errno';
import { guestOf } from '../../guest/kernel';
import { CMD, Cmdrsp, IOCHAN_TO_IOPART, NET, NET_TYPE, PI_PAGE_MASK, PI_PAGE_SIZE, RCVPOST_BUF_SIZE } from '../uiscmdrsp';
import { Skb, visornic_devdata, VisornicData } from './devdata';

/** alloc_rcv_buf: a fresh receive skb (a pooled page first); undefined when DMA memory runs out. */
export function alloc_rcv_buf(devdata: visornic_devdata): Skb | undefined {
  const k = devdata.dev.kernel;
  let alloc: number;
  try {
    alloc = devdata.pool.pop() ?? k.allocDma(PI_PAGE_SIZE, PI_PAGE_SIZE);
  } catch {
    return undefined;
  }
  const skb: Skb = { cookie: guestOf(devdata.dev).net.allocSkb(), addr: alloc, alloc, len: RCVPOST_BUF_SIZE, onePage: true };
  devdata.rcvByCookie.set(skb.cookie, skb);
  return skb;
}

/** kfree_skb: forget the skb; a one-page buffer goes back to the pool while the device stays. */
export function visornic_free_skb(devdata: visornic_devdata, skb: Skb): void {
  if (devdata.rcvByCookie.get(skb.cookie) === skb) devdata.rcvByCookie.delete(skb.cookie);
  if (devdata.xmitByCookie.get(skb.cookie) === skb) devdata.xmitByCookie.delete(skb.cookie);
  if (skb.onePage && !devdata.data.going_away && devdata.pool.length < 2 * devdata.rcvbuf.length + 16) {
    devdata.pool.push(skb.alloc);
    return;
  }
  try {
    devdata.dev.kernel.freeDma(skb.alloc);
  } catch {
    // already gone
  }
}

/** The message buffer of NET_RCV_POST / NET_RCV_ENBDIS: the device's shared one, or a cleared one when corrected. */
function visornic_rcv_cmdrsp(devdata: visornic_devdata): Cmdrsp {
  if (devdata.dev.kernel.kernelBugFixed('staleCmdrsp')) return new Cmdrsp();
  return (devdata.cmdrspRcv ??= new Cmdrsp());
}

/** post_skb: NET_RCV_POST one receive buffer. 0, -EINVAL (crosses a page) or the insert error. */
export function post_skb(devdata: visornic_devdata, skb: Skb): number {
  const data = devdata.data;
  const off = skb.addr & PI_PAGE_MASK;
  if (off + skb.len > PI_PAGE_SIZE) return -EINVAL;
  const m = visornic_rcv_cmdrsp(devdata);
  m.cmdtype = CMD.NET;
  m.setU32(NET.type, NET_TYPE.RCV_POST);
  m.setU64(NET.buf, skb.cookie);
  m.setU64(NET.rcvpost_pi_pfn, Math.floor(skb.addr / PI_PAGE_SIZE));
  m.setU16(NET.rcvpost_pi_off, off);
  m.setU16(NET.rcvpost_pi_len, skb.len);
  m.setU64(NET.rcvpost_unique_num, BigInt(data.incarnation_id));
  const rc = devdata.dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes);
  if (rc) {
    data.chstat.sent_post_failed++;
    return rc;
  }
  data.num_rcvbuf_in_iovm++;
  data.chstat.sent_post++;
  return 0;
}

/** send_enbdis: NET_RCV_ENBDIS(enable) with the netdev as context. */
export function send_enbdis(devdata: visornic_devdata, enable: number): number {
  const m = visornic_rcv_cmdrsp(devdata);
  m.cmdtype = CMD.NET;
  m.setU32(NET.type, NET_TYPE.RCV_ENBDIS);
  m.setU64(NET.enbdis_context, devdata.netdevCookie);
  m.setU16(NET.enbdis_enable, enable);
  const rc = devdata.dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes);
  if (rc) {
    devdata.dev.err(`${devdata.netdev.name}: NET_RCV_ENBDIS(${enable}) could not be queued (${rc})`);
    return rc;
  }
  devdata.data.chstat.sent_enbdis++;
  return 0;
}

function visornic_count_rcv_shape(data: VisornicData, n: number): void {
  if (n === 0) data.n_rcv0++;
  else if (n === 1) data.n_rcv1++;
  else if (n === 2) data.n_rcv2++;
  else data.n_rcvx++;
}

/** Replace the buffer in slot i with a fresh posted one; 0 or why it could not. */
function visornic_replace_rcvbuf(devdata: visornic_devdata, i: number): number {
  const fresh = alloc_rcv_buf(devdata);
  devdata.rcvbuf[i] = fresh;
  if (!fresh) {
    devdata.data.num_rcv_bufs_could_not_alloc++;
    return -ENOMEM;
  }
  const rc = post_skb(devdata, fresh);
  if (rc) {
    visornic_free_skb(devdata, fresh);
    devdata.rcvbuf[i] = undefined;
  }
  return rc;
}

/**
 * repost_return: every buffer listed in the NET_RCV is replaced by a fresh one and
 * posted again; `skb` (the buffer the message names) is freed if it was among them.
 */
export function repost_return(devdata: visornic_devdata, rcvbufs: bigint[], skb: Skb | undefined): number {
  const data = devdata.data;
  visornic_count_rcv_shape(data, rcvbufs.length);
  let reposted = 0;
  let foundSkb = false;
  let status = 0;
  for (const c of rcvbufs) {
    const i = devdata.rcvbuf.findIndex((b) => b?.cookie === c);
    if (i < 0) continue;
    const old = devdata.rcvbuf[i]!;
    if (skb && old === skb) {
      data.found_repost_rcvbuf_cnt++;
      data.repost_found_skb_cnt++;
      foundSkb = true;
    }
    visornic_free_skb(devdata, old);
    const rc = visornic_replace_rcvbuf(devdata, i);
    if (rc) status = rc;
    else reposted++;
  }
  if (reposted !== rcvbufs.length) {
    data.n_repost_deficit++;
    status = -EINVAL;
  }
  if (skb && !foundSkb) {
    data.bad_rcv_buf++;
    status = -EINVAL;
  }
  data.rcvbufs_allocated = devdata.rcvbuf.filter((b) => b).length;
  return status;
}

/** send_rcv_posts_if_needed: re-post slots whose buffer could not be (re)allocated or posted. */
export function send_rcv_posts_if_needed(devdata: visornic_devdata): void {
  const data = devdata.data;
  if (!(data.enabled && data.enab_dis_acked)) return;
  for (let i = 0; i < devdata.rcvbuf.length; i++) {
    if (devdata.rcvbuf[i]) continue;
    const skb = alloc_rcv_buf(devdata);
    if (!skb) {
      data.num_rcv_bufs_could_not_alloc++;
      break;
    }
    if (post_skb(devdata, skb)) {
      visornic_free_skb(devdata, skb);
      break;
    }
    devdata.rcvbuf[i] = skb;
    data.chstat.extra_rcvbufs_sent++;
  }
  data.rcvbufs_allocated = devdata.rcvbuf.filter((b) => b).length;
}

/** init_rcv_bufs: allocate num_rcv_bufs buffers (at least 2/3 must succeed) and post them. */
export function init_rcv_bufs(devdata: visornic_devdata): number {
  const data = devdata.data;
  devdata.rcvbuf = new Array<Skb | undefined>(data.num_rcv_bufs).fill(undefined);
  let allocated = 0;
  for (let i = 0; i < data.num_rcv_bufs; i++) {
    const skb = alloc_rcv_buf(devdata);
    if (!skb) break;
    devdata.rcvbuf[i] = skb;
    allocated++;
  }
  if (allocated < Math.ceil((data.num_rcv_bufs * 2) / 3)) {
    for (const b of devdata.rcvbuf) if (b) visornic_free_skb(devdata, b);
    devdata.rcvbuf.fill(undefined);
    // The enable fails: NAPI, switched on just before, goes off again.
    data.napi_enabled = false;
    devdata.dev.err(`${devdata.netdev.name}: could only allocate ${allocated} of ${data.num_rcv_bufs} receive buffers`);
    return -ENOMEM;
  }
  data.num_rcv_bufs_could_not_alloc += data.num_rcv_bufs - allocated;
  for (let i = 0; i < devdata.rcvbuf.length; i++) {
    const skb = devdata.rcvbuf[i];
    if (!skb) continue;
    if (post_skb(devdata, skb)) {
      visornic_free_skb(devdata, skb);
      devdata.rcvbuf[i] = undefined;
    }
  }
  data.rcvbufs_allocated = devdata.rcvbuf.filter((b) => b).length;
  return 0;
}
