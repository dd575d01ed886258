/**
 * The IO partition's network back-end for vnic channels (reference §7.1, §7.2, §7.4):
 * the other end of visornic.
 *
 * At device creation it writes the vnic configuration the guest reads at probe: MAC
 * 02:53:50:BB:DD:DD (locally administered; bus and device number in the last bytes),
 * num_rcv_bufs 32 and MTU 1500. Then, polling queue 0 every jiffy on its back-end thread:
 * - NET_RCV_POST: keeps the guest's empty receive buffer (pfn, offset, length, cookie);
 * - NET_XMIT: gathers the frame from the guest's fragments, puts it "on the wire"
 *   (the wire log), and answers NET_XMIT_DONE with the cookie;
 * - NET_RCV_ENBDIS: enables / disables reception and answers NET_RCV_ENBDIS_ACK; a
 *   disable unposts every buffer it holds;
 * - NET_RCV_PROMISC: records the mode.
 * Answers that find queue 1 full wait in an outbox and go out on later polls.
 *
 * Scenario commands (`net B:D ...`):
 *   send DATA   a frame from the outside world: a "quoted string" is a payload the
 *               back-end wraps in an Ethernet header to the guest's MAC (ethertype
 *               0x88B5); hex:… of 14 bytes or more is a complete raw frame. It goes into
 *               posted buffers (chained for frames over 4032 bytes, at most 5) as
 *               NET_RCV. A frame that cannot be delivered — link down, reception not
 *               enabled, no buffer posted, queue 1 full, too big, an injected drop — is
 *               counted under `net B:D dropped_<why>` and reported to the guest in the
 *               next NET_RCV's rcvs_dropped_delta.
 *   xmit DATA   the guest transmits (a user-space sender on the guest's netdev).
 *   link up|down  NET_CONNECT_STATUS.
 *   open|close  ifup / ifdown in the guest.
 * Faults (`fault B:D KIND [count=N] [dir=rx|tx] [duration=MS]`): drop-frame, lost-response
 * (NET_XMIT_DONE never sent), queue-full (queue 0 not read for `duration` ms).
 */
import { BusPoller } from './buspoller';
import type { BackendCommand, BackendDevice, BackendHost, ServiceBackend } from './servicepartition';
import { VisorChannel } from '../visorchannel/visorchannel';
import { GUIDS } from '../protocol/guid';
import { UnmappedError } from '../memory/guestmemory';
import { CMD, Cmdrsp, ETH_HLEN, IOCHAN_TO_IOPART, NET, NET_TYPE, VNIC } from '../drivers/uiscmdrsp';
import { macText } from '../guest/netdev';
import { bytesText, devId, hexText, numOpt, payloadBytes, requireType, strOpt, unknownVerb } from './iopartition-cmdargs';
import { type NetDev, NetWire } from './iopartition-netwire';

/** Defaults the back-end writes into a new vnic channel. */
export const VNIC_DEFAULTS = { numRcvBufs: 32, mtu: 1500 } as const;
/** The EtherType of frames built from a payload (IEEE 802 local experimental 1). */
export const PAYLOAD_ETHERTYPE = 0x88b5;

export class IoPartitionNetwork implements ServiceBackend {
  readonly families = ['net', 'fault'] as const;
  readonly typeGuids = [GUIDS.vnic] as const;
  private host: BackendHost | undefined;
  private readonly devices = new Map<string, NetDev>();
  /** Every jiffy, on each bus's back-end thread, serve the bus's devices. */
  private readonly poller = new BusPoller<NetDev>(
    (bus, fn) => this.h.schedule(bus, 1, `iopart net bus ${bus} poll`, fn),
    (d) => this.wire.service(d),
  );
  /** Frames to and from the guest, and the poll of queue 0. */
  private readonly wire = new NetWire(
    () => this.h,
    (subject, text) => this.event(subject, text),
  );

  attach(host: BackendHost): void {
    this.host = host;
  }

  private get h(): BackendHost {
    if (!this.host) throw new Error('network back-end is not attached');
    return this.host;
  }

  deviceCreated(dev: BackendDevice): void {
    const m = this.h.memory;
    const mac = Uint8Array.of(0x02, 0x53, 0x50, dev.bus & 0xff, (dev.dev >> 8) & 0xff, dev.dev & 0xff);
    try {
      m.write(dev.physaddr + VNIC.macaddr, mac);
      m.writeU32(dev.physaddr + VNIC.num_rcv_bufs, VNIC_DEFAULTS.numRcvBufs);
      m.writeU32(dev.physaddr + VNIC.mtu, VNIC_DEFAULTS.mtu);
    } catch (e) {
      if (!(e instanceof UnmappedError)) throw e;
      this.event(dev.id, `cannot write the vnic configuration of ${dev.id}: ${e.message}`);
      return;
    }
    const ch = VisorChannel.create(m, dev.physaddr, dev.typeGuid, `iopart net ${dev.id}`);
    if (typeof ch === 'string') {
      this.event(dev.id, `cannot map the channel of ${dev.id}: ${ch}`);
      return;
    }
    const nd: NetDev = {
      dev,
      channel: ch,
      q0: dev.physaddr + ch.queueOffset(IOCHAN_TO_IOPART),
      mac,
      peerMac: Uint8Array.of(0x02, 0x53, 0x50, 0x41, 0x52, 0x01),
      posted: [],
      rcvEnabled: false,
      promisc: false,
      link: true,
      outbox: [],
      dropDelta: 0,
      delivered: 0,
      dropped: { no_buffer: 0, queue_full: 0, link_down: 0, disabled: 0, too_big: 0, fault: 0 },
      wire: [],
      wireTx: 0,
      wireTxBytes: 0,
      xmitDone: 0,
      xmitFailed: 0,
      lostResponses: 0,
      posts: 0,
      badPosts: 0,
      faults: { dropRx: 0, dropTx: 0, lostResponse: 0, stallUntil: 0 },
    };
    this.devices.set(devId(dev), nd);
    this.poller.add(dev.bus, nd);
  }

  deviceDestroyed(dev: BackendDevice): void {
    const n = this.devices.get(devId(dev));
    if (!n) return;
    if (n.posted.length || n.outbox.length)
      this.event(dev.id, `device destroyed: ${n.posted.length} posted buffer(s) released, ${n.outbox.length} undelivered answer(s) discarded with the channel`);
    this.devices.delete(devId(dev));
    this.poller.remove(dev.bus, n);
  }

  /**
   * `partition recover`: the IO partition restarts. It first finishes what the guest
   * already queued (transmits go out and are answered, the disable the paused guest
   * sent is acknowledged), then starts clean: no posted buffers (the paused guest freed
   * them), no injected faults. Answers still waiting are delivered after the resume.
   */
  recover(bus: number): void {
    for (const n of this.devices.values()) {
      if (n.dev.bus !== bus) continue;
      n.faults = { dropRx: 0, dropTx: 0, lostResponse: 0, stallUntil: 0 };
      this.wire.service(n);
      const released = n.posted.length;
      n.posted = [];
      this.event(
        n.dev.id,
        `network back-end recovered: ${released} posted receive buffer(s) forgotten, faults cleared, ${n.outbox.length} answer(s) waiting for the guest`,
      );
    }
  }

  shutdown(): void {
    this.poller.stopAll();
  }

  counters(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const guest = this.host?.guest;
    for (const n of this.devices.values()) {
      const p = `net ${n.dev.id}`;
      out[`${p} delivered`] = n.delivered;
      let total = 0;
      for (const [k, v] of Object.entries(n.dropped)) {
        out[`${p} dropped_${k}`] = v;
        total += v;
      }
      out[`${p} dropped`] = total;
      out[`${p} posted`] = n.posted.length;
      out[`${p} posts`] = n.posts;
      out[`${p} wire_tx`] = n.wireTx;
      out[`${p} wire_tx_bytes`] = n.wireTxBytes;
      const last = n.wire[n.wire.length - 1]?.frame;
      out[`${p} lasttx`] = last ? bytesText(last.subarray(ETH_HLEN)) : '';
      out[`${p} lasttx_hex`] = hexText(last);
      out[`${p} lasttx_len`] = last?.length ?? 0;
      out[`${p} xmit_done`] = n.xmitDone;
      out[`${p} xmit_failed`] = n.xmitFailed;
      out[`${p} lost_responses`] = n.lostResponses;
      out[`${p} link`] = n.link ? 'up' : 'down';
      out[`${p} rx_enabled`] = n.rcvEnabled ? 1 : 0;
      out[`${p} promisc`] = n.promisc ? 1 : 0;
      out[`${p} mac`] = macText(n.mac);
      const nd = guest?.net.devices.get(n.dev.id);
      if (nd) {
        const rx = nd.rx[nd.rx.length - 1]?.frame;
        out[`${p} rx_frames`] = nd.rxDelivered;
        out[`${p} lastrx`] = rx ? bytesText(rx.subarray(ETH_HLEN)) : '';
        out[`${p} lastrx_hex`] = hexText(rx);
        out[`${p} lastrx_len`] = rx?.length ?? 0;
        out[`${p} qdisc_drops`] = nd.qdiscDrops;
        out[`${p} enetdown`] = nd.downDrops;
        out[`${p} netdev`] = nd.name;
      }
    }
    return out;
  }

  command(cmd: BackendCommand): void {
    requireType(cmd, this.typeGuids, 'a vnic device');
    const n = this.devices.get(devId(cmd.device));
    if (!n) throw new Error(`${cmd.family} ${cmd.verb}: device ${cmd.device.id} has no usable channel`);
    if (cmd.family === 'fault') return this.fault(cmd, n);
    const data = cmd.data;
    switch (cmd.verb) {
      case 'send': {
        const frame = this.frameFrom(cmd, data, n.mac, n.peerMac);
        this.wire.service(n); // take in the buffers the guest already posted
        this.wire.deliver(n, frame);
        return;
      }
      case 'xmit': {
        const nd = this.h.guest.net.devices.get(n.dev.id);
        if (!nd) throw new Error(`net xmit: the guest has no netdev for ${n.dev.id} (is visornic loaded and bound to it?)`);
        const frame = this.frameFrom(cmd, data, n.peerMac, nd.mac);
        if (frame.length > nd.mtu + ETH_HLEN)
          throw new Error(
            `net xmit: a ${frame.length}-byte frame is larger than ${nd.name}'s MTU ${nd.mtu} + 14 (the guest's socket refuses it with EMSGSIZE)`,
          );
        const r = nd.transmit(frame);
        this.event(
          n.dev.id,
          `guest transmits ${frame.length} bytes on ${nd.name}: ${r === 'dropped' ? (nd.up ? 'dropped by the qdisc (queue full)' : `dropped: ${nd.name} is down (ENETDOWN)`) : r}`,
        );
        return;
      }
      case 'link': {
        const up = String(cmd.positional[0] ?? '').toLowerCase();
        if (up !== 'up' && up !== 'down') throw new Error(`net link: expected up or down, got '${cmd.positional[0] ?? ''}'`);
        n.link = up === 'up';
        const m = new Cmdrsp();
        m.cmdtype = CMD.NET;
        m.setU32(NET.type, NET_TYPE.CONNECT_STATUS);
        m.setU16(NET.enbdis_enable, n.link ? 1 : 0);
        this.wire.answer(n, m);
        this.event(n.dev.id, `link ${up}: NET_CONNECT_STATUS enable=${n.link ? 1 : 0}`);
        return;
      }
      case 'open':
      case 'close': {
        const nd = this.h.guest.net.devices.get(n.dev.id);
        if (!nd) throw new Error(`net ${cmd.verb}: the guest has no netdev for ${n.dev.id} (is visornic loaded and bound to it?)`);
        const rc = cmd.verb === 'open' ? nd.open() : nd.close();
        if (rc < 0) throw new Error(`net ${cmd.verb}: ip link set ${nd.name} ${cmd.verb === 'open' ? 'up' : 'down'} failed (${rc})`);
        this.event(n.dev.id, `ip link set ${nd.name} ${cmd.verb === 'open' ? 'up' : 'down'}`);
        return;
      }
      default:
        throw unknownVerb(cmd, ['send', 'xmit', 'link', 'open', 'close']);
    }
  }

  private fault(cmd: BackendCommand, n: NetDev): void {
    const count = numOpt(cmd, 'count', 1);
    switch (cmd.verb) {
      case 'drop-frame': {
        const dir = (strOpt(cmd, 'dir') ?? 'rx').toLowerCase();
        if (dir === 'rx') n.faults.dropRx += count;
        else if (dir === 'tx') n.faults.dropTx += count;
        else throw new Error(`fault drop-frame: dir must be rx or tx, got '${dir}'`);
        this.event(
          n.dev.id,
          `fault: the next ${count} ${dir === 'rx' ? 'frame(s) to the guest are dropped' : 'transmit(s) of the guest fail (xmt_done_result 1)'}`,
        );
        return;
      }
      case 'lost-response':
        n.faults.lostResponse += count;
        this.event(n.dev.id, `fault: the next ${count} NET_XMIT(s) get no NET_XMIT_DONE`);
        return;
      case 'queue-full': {
        const ms = numOpt(cmd, 'duration', 100);
        const j = Math.max(1, Math.ceil((ms * this.h.engine.clock.hz) / 1000));
        n.faults.stallUntil = this.h.engine.jiffies + j;
        this.event(n.dev.id, `fault: queue 0 is not read for ${ms} ms; the guest's inserts fail once it is full`);
        return;
      }
      default:
        throw new Error(`fault ${cmd.verb} is not supported on a vnic device (use drop-frame, lost-response or queue-full)`);
    }
  }

  /** The frame of a send / xmit: hex of ≥ 14 bytes is raw; anything else is a payload. */
  private frameFrom(cmd: BackendCommand, data: Uint8Array | undefined, dst: Uint8Array, src: Uint8Array): Uint8Array {
    const raw = String(cmd.positional[0] ?? '');
    const bytes = data ?? payloadBytes(cmd.positional[0], `net ${cmd.verb} data`);
    if (/^hex:/i.test(raw)) {
      if (bytes.length < ETH_HLEN) throw new Error(`net ${cmd.verb}: a raw hex frame needs at least 14 bytes (destination, source, type); got ${bytes.length}`);
      return bytes;
    }
    const f = new Uint8Array(ETH_HLEN + bytes.length);
    f.set(dst, 0);
    f.set(src, 6);
    f[12] = PAYLOAD_ETHERTYPE >> 8;
    f[13] = PAYLOAD_ETHERTYPE & 0xff;
    f.set(bytes, ETH_HLEN);
    return f;
  }

  /** Frames the guest put on the wire (for tests and tools). */
  wireFrames(id: string): Uint8Array[] {
    return this.devices.get(id)?.wire.map((w) => w.frame) ?? [];
  }

  private event(subject: string, text: string): void {
    this.host?.engine.emit('backend', subject, `IO partition (net): ${text}`);
  }
}
