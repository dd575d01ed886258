/**
 * The guest's network stack around one `net_device` (/sys/class/net/ethN): the
 * interface flags (ifup / ifdown, promiscuous), carrier and operstate, the statistics
 * the driver keeps, a transmit queue discipline in front of the driver (frames wait
 * there while the driver has stopped its queue, and are counted when the qdisc itself
 * has to drop), and a log of the frames the stack received.
 *
 * The driver supplies `NetDeviceOps` (ndo_open / ndo_stop / ndo_start_xmit /
 * ndo_set_rx_mode / ndo_change_mtu). A back-end command that stands for a guest user
 * (`net 2:1 xmit "…"`, `net 2:1 open`) finds the netdev through the run's `NetCore`.
 */

export const IFF = { UP: 0x1, BROADCAST: 0x2, PROMISC: 0x100, MULTICAST: 0x1000 } as const;

/** What ndo_start_xmit returned. */
export const NETDEV_TX_OK = 0;
export const NETDEV_TX_BUSY = 0x10;

/** struct rtnl_link_stats64, the fields sysfs shows under statistics/. */
export interface NetStats {
  rx_packets: number;
  tx_packets: number;
  rx_bytes: number;
  tx_bytes: number;
  rx_errors: number;
  tx_errors: number;
  rx_dropped: number;
  tx_dropped: number;
  multicast: number;
  collisions: number;
}

export interface NetDeviceOps {
  open(): number;
  stop(): number;
  startXmit(frame: Uint8Array): number;
  setRxMode?(): void;
  changeMtu?(mtu: number): number;
}

export type PacketType = 'host' | 'broadcast' | 'multicast' | 'otherhost';

/** eth_type_trans's classification of a received frame. */
export function packetType(frame: Uint8Array, mac: Uint8Array): PacketType {
  const dst = frame.subarray(0, 6);
  if (dst.every((b) => b === 0xff)) return 'broadcast';
  if (dst[0] & 1) return 'multicast';
  for (let i = 0; i < 6; i++) if (dst[i] !== mac[i]) return 'otherhost';
  return 'host';
}

export function macText(mac: Uint8Array): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(text);
  if (!m) return undefined;
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export interface RxRecord {
  jiffies: number;
  frame: Uint8Array;
  type: PacketType;
}

/** pfifo_fast's default queue length. */
const TX_QUEUE_LEN = 1000;

export class NetDevice {
  flags: number = IFF.BROADCAST | IFF.MULTICAST;
  carrier = true;
  queueStopped = true;
  readonly stats: NetStats = {
    rx_packets: 0,
    tx_packets: 0,
    rx_bytes: 0,
    tx_bytes: 0,
    rx_errors: 0,
    tx_errors: 0,
    rx_dropped: 0,
    tx_dropped: 0,
    multicast: 0,
    collisions: 0,
  };
  /** Frames the stack received (the last 256). */
  readonly rx: RxRecord[] = [];
  rxDelivered = 0;
  /** Frames waiting in the qdisc for the driver's queue to wake. */
  readonly qdisc: Uint8Array[] = [];
  qdiscDrops = 0;
  /** Frames handed to ndo_start_xmit. */
  xmitCalls = 0;
  /** Transmits refused because the interface is down (-ENETDOWN to the sender). */
  downDrops = 0;
  readonly multicastList: Uint8Array[] = [];
  removed = false;

  constructor(
    readonly name: string,
    /** The visor device, "2:1". */
    readonly owner: string,
    public mac: Uint8Array,
    public mtu: number,
    private readonly ops: NetDeviceOps,
    private readonly log: (text: string) => void,
  ) {}

  get up(): boolean {
    return (this.flags & IFF.UP) !== 0;
  }

  get operstate(): string {
    if (!this.up) return 'down';
    return this.carrier ? 'up' : 'down';
  }

  /** `ip link set ethN up` (dev_open). */
  open(): number {
    if (this.up) return 0;
    const rc = this.ops.open();
    if (rc < 0) {
      this.log(`${this.name}: open failed (${rc})`);
      return rc;
    }
    this.flags |= IFF.UP;
    return 0;
  }

  /** `ip link set ethN down` (dev_close): the qdisc is flushed (frames counted as dropped there). */
  close(): number {
    if (!this.up) return 0;
    this.flags &= ~IFF.UP;
    this.ops.stop();
    if (this.qdisc.length) {
      this.qdiscDrops += this.qdisc.length;
      this.log(`${this.name}: ${this.qdisc.length} queued frame(s) dropped by the qdisc on ifdown`);
      this.qdisc.length = 0;
    }
    return 0;
  }

  /** `ip link set ethN promisc on|off`. */
  setPromisc(on: boolean): void {
    const was = (this.flags & IFF.PROMISC) !== 0;
    if (was === on) return;
    if (on) this.flags |= IFF.PROMISC;
    else this.flags &= ~IFF.PROMISC;
    this.log(`device ${this.name} ${on ? 'entered' : 'left'} promiscuous mode`);
    this.ops.setRxMode?.();
  }

  /** `ip link set ethN mtu N`: 0 or the driver's negative errno. */
  setMtu(mtu: number): number {
    if (!this.ops.changeMtu) return -95;
    const rc = this.ops.changeMtu(mtu);
    if (rc === 0) this.mtu = mtu;
    return rc;
  }

  /**
   * A user sends a frame (dev_queue_xmit). Returns 'sent' (given to the driver),
   * 'queued' (waiting in the qdisc), or 'dropped' (interface down or qdisc full).
   */
  transmit(frame: Uint8Array): 'sent' | 'queued' | 'dropped' {
    if (!this.up) {
      this.downDrops++;
      return 'dropped';
    }
    if (this.queueStopped || this.qdisc.length) {
      if (this.qdisc.length >= TX_QUEUE_LEN) {
        this.qdiscDrops++;
        return 'dropped';
      }
      this.qdisc.push(frame);
      return 'queued';
    }
    this.xmitCalls++;
    const rc = this.ops.startXmit(frame);
    if (rc === NETDEV_TX_BUSY) {
      this.qdisc.unshift(frame);
      return 'queued';
    }
    return 'sent';
  }

  /** netif_stop_queue. */
  stopQueue(): void {
    this.queueStopped = true;
  }

  /** netif_start_queue / netif_wake_queue: the qdisc drains into the driver. */
  wakeQueue(): void {
    this.queueStopped = false;
    while (this.up && !this.queueStopped && this.qdisc.length) {
      const f = this.qdisc.shift()!;
      this.xmitCalls++;
      if (this.ops.startXmit(f) === NETDEV_TX_BUSY) {
        this.qdisc.unshift(f);
        break;
      }
    }
  }

  carrierOn(): void {
    if (!this.carrier) this.log(`${this.name}: link becomes ready`);
    this.carrier = true;
  }

  carrierOff(): void {
    if (this.carrier) this.log(`${this.name}: link is down`);
    this.carrier = false;
  }

  /** netif_receive_skb: the stack takes the frame. */
  receive(frame: Uint8Array, jiffies: number): void {
    const type = packetType(frame, this.mac);
    this.rxDelivered++;
    this.rx.push({ jiffies, frame, type });
    if (this.rx.length > 256) this.rx.shift();
  }

  /** sysfs attributes of /sys/class/net/ethN. */
  attrs(): Record<string, () => string> {
    const a: Record<string, () => string> = {
      address: () => `${macText(this.mac)}\n`,
      broadcast: () => 'ff:ff:ff:ff:ff:ff\n',
      mtu: () => `${this.mtu}\n`,
      // carrier_show answers only while the interface is running (netif_running): else -EINVAL.
      carrier: () => {
        if (!this.up) throw new Error('EINVAL: Invalid argument (the interface is down)');
        return this.carrier ? '1\n' : '0\n';
      },
      operstate: () => `${this.operstate}\n`,
      flags: () => `0x${this.flags.toString(16)}\n`,
      type: () => '1\n',
      addr_len: () => '6\n',
      tx_queue_len: () => `${TX_QUEUE_LEN}\n`,
    };
    for (const k of Object.keys(this.stats) as (keyof NetStats)[]) a[`statistics/${k}`] = () => `${this.stats[k]}\n`;
    return a;
  }
}

/**
 * The network core of one run: its net devices by visor device ("2:1"), and the kernel
 * addresses of the sk_buffs and net_devices drivers allocate (what the IO partition
 * sees as opaque cookies), numbered per run so a run is deterministic.
 */
export class NetCore {
  readonly devices = new Map<string, NetDevice>();
  private skbs = 0n;
  private netdevs = 0n;

  /** The address of a fresh sk_buff. */
  allocSkb(): bigint {
    this.skbs += 1n;
    return 0xffff888000000000n + (this.skbs << 8n);
  }

  /** The address of a fresh net_device. */
  allocNetdev(): bigint {
    this.netdevs += 1n;
    return 0xffff888100000000n + this.netdevs * 0x1000n;
  }
}
