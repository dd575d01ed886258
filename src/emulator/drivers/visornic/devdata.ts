/**
 * visornic's per-device state (struct visornic_devdata), its skb model and the
 * transmit-queue helpers every part of the driver shares.
 */
import type { VisorDevice } from '../../visorbus/driver';
import type { Cmdrsp } from '../uiscmdrsp';
import type { CompleteFunc } from '../../visorbus/driver';
import type { NetDevice } from '../../guest/netdev';

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

/** struct sk_buff as far as the driver and the IO partition see it. */
export interface Skb {
  cookie: bigint;
  /** Guest-physical address of the data. */
  addr: number;
  /** DMA allocation to free. */
  alloc: number;
  /** Whether `alloc` is one page (recycled through the pool). */
  onePage: boolean;
  len: number;
}

/** struct visornic_devdata: one per visor device. */
export interface visornic_devdata {
  dev: VisorDevice;
  /** The state the debugger shows (dev.driverData). */
  data: VisornicData;
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

/** dev_get_drvdata: the devdata of a bound device (driverData stays the debugger's view). */
const drvdata = new WeakMap<VisorDevice, visornic_devdata>();

export function visornic_get_devdata(dev: VisorDevice): visornic_devdata | undefined {
  return drvdata.get(dev);
}

export function visornic_set_devdata(dev: VisorDevice, devdata: visornic_devdata | undefined): void {
  if (devdata) drvdata.set(dev, devdata);
  else drvdata.delete(dev);
}

/** NET_XMITs sent and not yet completed. */
export function visornic_outstanding(data: VisornicData): number {
  return data.chstat.sent_xmit - data.chstat.got_xmit_done;
}

/** Copy the netdev's queue and carrier state into the debugger's view. */
export function visornic_sync_queue_state(devdata: visornic_devdata): void {
  const data = devdata.data;
  data.queue_stopped = devdata.netdev.queueStopped;
  data.carrier = devdata.netdev.carrier;
  data.xmits_in_flight = devdata.xmitByCookie.size;
}

/** netif_stop_queue. */
export function visornic_stop_queue(devdata: visornic_devdata): void {
  devdata.netdev.stopQueue();
  visornic_sync_queue_state(devdata);
}

/** netif_wake_queue. */
export function visornic_wake_queue(devdata: visornic_devdata): void {
  devdata.netdev.wakeQueue();
  visornic_sync_queue_state(devdata);
}
