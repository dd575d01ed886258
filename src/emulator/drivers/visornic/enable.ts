/**
 * visornic_enable_with_timeout / visornic_disable_with_timeout. The kernel blocks
 * (unbounded) for NET_RCV_ENBDIS_ACK; here each wait is a state ('opening',
 * 'closing') that ends when the ACK arrives, or at once when the server is down or
 * changing state.
 */
import { EIO } from '../../protocol/errno';
import { visornic_devdata, visornic_stop_queue, visornic_sync_queue_state, visornic_wake_queue } from './devdata';
import { init_rcv_bufs, send_enbdis, visornic_free_skb } from './rcvbuf';

/** visornic_enable_with_timeout, up to the wait for the ACK. */
export function visornic_enable_with_timeout(devdata: visornic_devdata): number {
  const data = devdata.data;
  data.napi_enabled = true;
  const rc0 = init_rcv_bufs(devdata);
  if (rc0) return rc0;
  data.enabled = 1;
  data.enab_dis_acked = 0;
  const rc = send_enbdis(devdata, 1);
  if (rc) return rc;
  if (data.server_down || data.server_change_state) {
    visornic_enable_done(devdata, false);
    return -EIO;
  }
  data.wait = 'opening';
  devdata.waitSince = devdata.dev.kernel.jiffies();
  devdata.waitWarned = false;
  return 0;
}

/** The wait for the enable ACK ended: start the transmit queue. */
export function visornic_enable_done(devdata: visornic_devdata, acked: boolean): void {
  devdata.data.wait = 'idle';
  if (!acked) devdata.dev.info(`${devdata.netdev.name}: enable not acknowledged (server down or changing state); open reports -EIO but the interface stays up`);
  visornic_wake_queue(devdata);
}

/** visornic_disable_with_timeout, up to the wait for the ACK. */
export function visornic_disable_with_timeout(devdata: visornic_devdata, waitForAck: boolean): void {
  const data = devdata.data;
  data.enabled = 0;
  data.enab_dis_acked = 0;
  const rc = send_enbdis(devdata, 0);
  if (rc || !waitForAck || data.server_down || data.server_change_state) {
    visornic_disable_done(devdata);
    return;
  }
  data.wait = 'closing';
  devdata.waitSince = devdata.dev.kernel.jiffies();
  devdata.waitWarned = false;
}

/** The wait for the disable ACK ended: stop the queue, NAPI off, drop in-flight transmits, free the buffers. */
export function visornic_disable_done(devdata: visornic_devdata): void {
  const data = devdata.data;
  data.wait = 'idle';
  visornic_stop_queue(devdata);
  data.napi_enabled = false;
  if (devdata.xmitByCookie.size)
    devdata.dev.info(`${devdata.netdev.name}: ${devdata.xmitByCookie.size} transmit(s) still in flight are forgotten (their NET_XMIT_DONE will be ignored)`);
  for (const skb of [...devdata.xmitByCookie.values()]) visornic_free_skb(devdata, skb);
  devdata.xmitByCookie.clear();
  // The other end unposts the receive buffers when it gets the disable.
  for (const skb of devdata.rcvbuf) if (skb) visornic_free_skb(devdata, skb);
  devdata.rcvbuf = [];
  data.rcvbufs_allocated = 0;
  visornic_sync_queue_state(devdata);
}
