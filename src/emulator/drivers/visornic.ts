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
 *
 * Shaped like the kernel module: module-level functions over a `visornic_devdata` per
 * device. This file holds the visor_driver and net_device entry points and the poll
 * timer; visornic/ holds the devdata, receive buffers, enable/disable, rx and tx.
 */
import type { CompleteFunc, VisorDevice, VisorDriver } from '../visorbus/driver';
import { GUIDS } from '../protocol/guid';
import { EINVAL, EIO } from '../protocol/errno';
import {
  CMD,
  Cmdrsp,
  DRAIN_LIMIT,
  IOCHAN_FROM_IOPART,
  IOCHAN_TO_IOPART,
  NET,
  NET_TYPE,
  SIZEOF_CMDRSP,
  VISOR_CHANNEL_IS_POLLING,
  VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING,
  VNIC,
} from './uiscmdrsp';
import { IFF, macText, NetDevice, NetDeviceOps } from '../guest/netdev';
import { guestOf } from '../guest/kernel';
import { visornic_devdata, VisornicData, visornic_get_devdata, visornic_set_devdata, visornic_sync_queue_state } from './visornic/devdata';
import { visornic_free_skb, send_rcv_posts_if_needed } from './visornic/rcvbuf';
import { visornic_disable_done, visornic_disable_with_timeout, visornic_enable_with_timeout } from './visornic/enable';
import { service_resp_queue } from './visornic/rx';
import { visornic_xmit } from './visornic/tx';

export type { VisornicChstat, visornic_devdata, VisornicData } from './visornic/devdata';
export { visornic_rx, service_resp_queue } from './visornic/rx';
export { visornic_xmit } from './visornic/tx';

const NAPI_WEIGHT = 64;

/** visornic_poll (NAPI): re-post missing buffers, then service queue 1 within the budget. */
export function visornic_poll(devdata: visornic_devdata, budget: number): number {
  send_rcv_posts_if_needed(devdata);
  return service_resp_queue(devdata, budget);
}

/** poll_for_irq: the private timer, every jiffy; NAPI runs when queue 1 is not empty and NAPI is on. */
function poll_for_irq(devdata: visornic_devdata): void {
  const dev = devdata.dev;
  devdata.cancelTimer = dev.kernel.setTimer(dev, 1, 'visornic poll', () => {
    devdata.cancelTimer = undefined;
    const data = devdata.data;
    if (data.napi_enabled && !dev.channel.signalEmpty(IOCHAN_FROM_IOPART)) visornic_poll(devdata, NAPI_WEIGHT);
    if (data.wait !== 'idle' && !devdata.waitWarned && dev.kernel.jiffies() - devdata.waitSince >= 5 * dev.kernel.hz) {
      devdata.waitWarned = true;
      dev.warn(
        `${devdata.netdev.name}: still waiting for NET_RCV_ENBDIS_ACK after 5 s (${data.wait === 'opening' ? 'ifup' : 'ifdown'} blocks until the IO partition answers)`,
      );
    }
    poll_for_irq(devdata);
  });
}

function visornic_stop_poll_timer(devdata: visornic_devdata): void {
  devdata.cancelTimer?.();
  devdata.cancelTimer = undefined;
}

/** ndo_open: visornic_open ignores what the enable returns; the interface comes up anyway. */
export function visornic_open(devdata: visornic_devdata): number {
  if (devdata.data.wait === 'closing') visornic_disable_done(devdata);
  visornic_enable_with_timeout(devdata);
  return 0;
}

/** ndo_stop. */
export function visornic_close(devdata: visornic_devdata): number {
  visornic_disable_with_timeout(devdata, true);
  return 0;
}

/** ndo_set_rx_mode: NET_RCV_PROMISC with what the kernel sends as "enable". */
export function visornic_set_multi(devdata: visornic_devdata): void {
  const dev = devdata.dev;
  const netdev = devdata.netdev;
  const on = (netdev.flags & IFF.PROMISC) !== 0;
  const m = new Cmdrsp();
  m.cmdtype = CMD.NET;
  m.setU32(NET.type, NET_TYPE.RCV_PROMISC);
  m.setU64(NET.enbdis_context, devdata.netdevCookie);
  // visornic_set_multi sends netdev->flags & IFF_PROMISC.
  const enable = dev.kernel.kernelBugFixed('promiscEnable') ? (on ? 1 : 0) : netdev.flags & IFF.PROMISC;
  m.setU16(NET.enbdis_enable, enable);
  if (dev.channel.signalInsert(IOCHAN_TO_IOPART, m.bytes) === 0) devdata.data.chstat.sent_promisc++;
  dev.info(`${netdev.name}: NET_RCV_PROMISC enable=0x${enable.toString(16)}`);
}

/** The net_device_ops, bound to one device's devdata. */
function visornic_netdev_ops(devdata: () => visornic_devdata): NetDeviceOps {
  return {
    open: () => visornic_open(devdata()),
    stop: () => visornic_close(devdata()),
    startXmit: (frame) => visornic_xmit(devdata(), frame),
    setRxMode: () => visornic_set_multi(devdata()),
    changeMtu: () => -EINVAL,
  };
}

/** The vnic configuration at channel offset 384: MAC, receive-buffer count and MTU. */
function visornic_read_config(dev: VisorDevice): { mac: Uint8Array; numRcvBufs: number; mtu: number } | undefined {
  const cfg = new Uint8Array(14);
  if (dev.channel.read(VNIC.macaddr, cfg) !== 0) return undefined;
  const v = new DataView(cfg.buffer);
  return { mac: cfg.slice(0, 6), numRcvBufs: v.getUint32(VNIC.num_rcv_bufs - VNIC.macaddr, true), mtu: v.getUint32(VNIC.mtu - VNIC.macaddr, true) };
}

/** max_outstanding_net_xmits = max_t(unsigned long, 3, num_rcv_bufs / 3 - 2). */
function visornic_max_outstanding(dev: VisorDevice, numRcvBufs: number): number {
  // Below 6 buffers the difference is negative, becomes a huge unsigned long, and flow
  // control never stops the queue.
  const realMax = Math.trunc(numRcvBufs / 3) - 2;
  const maxOut = realMax < 0 && !dev.kernel.kernelBugFixed('flowControl') ? 2 ** 64 + realMax : Math.max(3, realMax);
  if (realMax < 0) {
    dev.info(
      `num_rcv_bufs ${numRcvBufs} < 6: max_outstanding_net_xmits ${maxOut > 3 ? `wraps to ${maxOut} (flow control off)` : 'is 3 (fixKernelBugs flowControl)'}`,
    );
  }
  return maxOut;
}

/** devdata_initialize: the debugger's view of a new device. */
function devdata_initialize(netdev: NetDevice, numRcvBufs: number, maxOut: number, jiffies: number): VisornicData {
  return {
    netdev: netdev.name,
    mac: macText(netdev.mac),
    mtu: netdev.mtu,
    num_rcv_bufs: numRcvBufs,
    incarnation_id: String(jiffies),
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
    chstat: {
      got_rcv: 0,
      got_enbdisack: 0,
      got_xmit_done: 0,
      xmit_fail: 0,
      sent_enbdis: 0,
      sent_promisc: 0,
      sent_post: 0,
      sent_post_failed: 0,
      sent_xmit: 0,
      reject_count: 0,
      extra_rcvbufs_sent: 0,
    },
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
}

/** register_netdev: /sys/class/net/ethN with writable flags and mtu. */
function visornic_register_netdev(dev: VisorDevice, netdev: NetDevice): void {
  dev.kernel.addClassDevice(
    {
      cls: 'net',
      name: netdev.name,
      attrs: netdev.attrs(),
      writers: {
        flags: (value: string) => {
          const n = Number(value.trim());
          if (!Number.isInteger(n) || n < 0) throw new Error('EINVAL: flags must be a number such as 0x1003');
          if (n & IFF.UP && !netdev.up) netdev.open();
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
  guestOf(dev).net.devices.set(`${dev.busNo}:${dev.devNo}`, netdev);
}

export function visornic_probe(dev: VisorDevice): number {
  const k = dev.kernel;
  const cfg = visornic_read_config(dev);
  if (!cfg) {
    dev.err('cannot read the vnic configuration from the channel');
    return -EIO;
  }
  // Drain and discard whatever is already in queue 1.
  const junk = new Uint8Array(SIZEOF_CMDRSP);
  let drained = 0;
  while (drained < DRAIN_LIMIT && dev.channel.signalRemove(IOCHAN_FROM_IOPART, junk) === 0) drained++;
  if (drained) dev.info(`discarded ${drained} stale message(s) in queue ${IOCHAN_FROM_IOPART} at probe`);
  const maxOut = visornic_max_outstanding(dev, cfg.numRcvBufs);
  const name = k.nextClassName('net', 'eth');
  const netdevCookie = guestOf(dev).net.allocNetdev();
  // eslint-disable-next-line prefer-const
  let devdata: visornic_devdata;
  const netdev = new NetDevice(
    name,
    `${dev.busNo}:${dev.devNo}`,
    cfg.mac,
    cfg.mtu,
    visornic_netdev_ops(() => devdata),
    (t) => dev.info(t),
  );
  const data = devdata_initialize(netdev, cfg.numRcvBufs, maxOut, k.jiffies());
  dev.driverData = data;
  devdata = { dev, data, netdev, netdevCookie, rcvbuf: [], rcvByCookie: new Map(), xmitByCookie: new Map(), waitSince: 0, waitWarned: false, pool: [] };
  visornic_set_devdata(dev, devdata);
  poll_for_irq(devdata);
  // features |= IS_POLLING | ENHANCED_RCVBUF_CHECKING
  const f = new Uint8Array(8);
  if (dev.channel.read(24, f) === 0) {
    f[0] |= VISOR_CHANNEL_IS_POLLING | VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING;
    dev.channel.write(24, f);
  }
  // This version has no channel_interrupt: the bus answers -ENOENT, which is ignored.
  dev.enableChannelInterrupts();
  visornic_register_netdev(dev, netdev);
  dev.info(`${name}: visornic, MAC ${macText(cfg.mac)}, mtu ${cfg.mtu}, ${cfg.numRcvBufs} receive buffers`);
  return 0;
}

export function visornic_remove(dev: VisorDevice): void {
  const devdata = visornic_get_devdata(dev);
  if (!devdata) return;
  devdata.data.going_away = true;
  visornic_stop_poll_timer(devdata);
  if (devdata.netdev.up) {
    dev.info(
      `${devdata.netdev.name}: closing for removal without waiting for NET_RCV_ENBDIS_ACK (a real visornic would wait forever: its poll timer is already stopped)`,
    );
    devdata.netdev.flags &= ~IFF.UP;
    visornic_disable_with_timeout(devdata, false);
  }
  devdata.netdev.removed = true;
  dev.kernel.removeClassDevice('net', devdata.netdev.name);
  const reg = guestOf(dev).net.devices;
  if (reg.get(`${dev.busNo}:${dev.devNo}`) === devdata.netdev) reg.delete(`${dev.busNo}:${dev.devNo}`);
  for (const skb of [...devdata.rcvByCookie.values(), ...devdata.xmitByCookie.values()]) visornic_free_skb(devdata, skb);
  for (const addr of devdata.pool.splice(0)) dev.kernel.freeDma(addr);
  visornic_set_devdata(dev, undefined);
}

export function visornic_pause(dev: VisorDevice, complete: CompleteFunc): number {
  const devdata = visornic_get_devdata(dev);
  const data = dev.driverData as VisornicData;
  if (!devdata || data.going_away) {
    dev.info('pause: device is being removed; no completion');
    return 0;
  }
  if (data.server_down || data.server_change_state) {
    dev.info('pause: server already down or changing state; nothing to do and no completion (the CP gets no response)');
    return 0;
  }
  data.server_change_state = true;
  visornic_stop_poll_timer(devdata);
  devdata.netdev.close();
  if (data.wait !== 'idle') visornic_disable_done(devdata);
  data.num_rcvbuf_in_iovm = 0;
  data.chstat.sent_xmit = 0;
  data.chstat.got_xmit_done = 0;
  complete(0);
  data.server_down = true;
  data.server_change_state = false;
  visornic_sync_queue_state(devdata);
  return 0;
}

export function visornic_resume(dev: VisorDevice, complete: CompleteFunc): number {
  const devdata = visornic_get_devdata(dev);
  if (!devdata) return -EINVAL;
  const data = devdata.data;
  if (data.server_change_state) return -EINVAL;
  if (!data.server_down) {
    complete(0);
    return 0;
  }
  data.server_change_state = true;
  poll_for_irq(devdata);
  devdata.netdev.open();
  complete(0);
  visornic_sync_queue_state(devdata);
  return 0;
}

/** The visor_driver of the module: what `driver load visornic` registers. */
export function createVisornic(): VisorDriver {
  return {
    name: 'visornic',
    channelTypes: [{ guid: GUIDS.vnic, name: 'ultravnic', minBytes: 128, version: 2 }],
    probe: visornic_probe,
    remove: visornic_remove,
    pause: visornic_pause,
    resume: visornic_resume,
  };
}
