/**
 * The client information the guest publishes in a bus's vbus channel (reference §5.10):
 * the chipset, bus and per-device records (devtype, driver name, "kernel ver. …") at the
 * offsets the channel's header info gives, and the debugfs `client_bus_info` text that
 * reads them back (§5.9).
 */
import { VBUS } from '../protocol/layout';
import type { BusDevice } from './visordevice';

/** One 256-byte visor_vbus_deviceinfo record. */
function infoRecord(devtype: string, drvname: string, kernelRelease: string): Uint8Array {
  const rec = new Uint8Array(256);
  const put = (s: string, off: number, max: number) => {
    const b = Buffer.from(s, 'latin1').subarray(0, max - 1);
    rec.set(b, off);
  };
  put(devtype, VBUS.deviceinfo.devtype, 16);
  put(drvname, VBUS.deviceinfo.drvname, 16);
  put(`kernel ver. ${kernelRelease}`, VBUS.deviceinfo.infostrs, 96);
  return rec;
}

/** visor_vbus_headerinfo: the record offsets (relative to it) and the device record size. */
function headerInfo(bus: BusDevice): { chp: number; busi: number; dev: number; devBytes: number } | undefined {
  const hi = new Uint8Array(24);
  // The bus channel is a vbus channel without lock; its reads are not driver traffic.
  if (bus.visorchannel.read(VBUS.hdr_info, hi) < 0) return undefined;
  const dv = new DataView(hi.buffer);
  return { devBytes: dv.getUint32(4, true), chp: dv.getUint32(12, true), busi: dv.getUint32(16, true), dev: dv.getUint32(20, true) };
}

/** The chipset and bus records. */
export function publishChipsetAndBus(bus: BusDevice, kernelRelease: string): void {
  const h = headerInfo(bus);
  if (!h) return;
  if (h.chp) bus.visorchannel.write(VBUS.hdr_info + h.chp, infoRecord('chipset', 'visorchipset', kernelRelease));
  if (h.busi) bus.visorchannel.write(VBUS.hdr_info + h.busi, infoRecord('clientbus', 'visorbus', kernelRelease));
}

/** The device's record (after a probe or a resume), with the chipset and bus records again. */
export function publishDeviceInfo(bus: BusDevice, d: BusDevice, kernelRelease: string): void {
  const h = headerInfo(bus);
  if (!h) return;
  publishChipsetAndBus(bus, kernelRelease);
  if (!h.dev) return;
  const devtype = (d.typeName || 'unknownType').slice(0, 15);
  bus.visorchannel.write(VBUS.hdr_info + h.dev + h.devBytes * d.devNo, infoRecord(devtype, d.driver?.name ?? '', kernelRelease));
}

/** debugfs client_bus_info text (§5.9): fixed offsets 256, 512, 768 + 256·n. */
export function clientBusInfo(bus: BusDevice): string {
  const ch = bus.visorchannel;
  const rec = (off: number): string | undefined => {
    const b = new Uint8Array(256);
    if (ch.read(off, b) < 0) return undefined;
    if (b[0] < 0x20 || b[0] > 0x7e) return undefined;
    const str = (o: number, n: number) => {
      const s = b.subarray(o, o + n);
      const z = s.indexOf(0);
      return Buffer.from(z >= 0 ? s.subarray(0, z) : s).toString('latin1');
    };
    return `${str(0, 16).padEnd(16)} ${str(16, 16).padEnd(16)} ${str(32, 96)}`;
  };
  const lines = [`Client device/driver info for ${bus.partitionName ?? ''} partition (vbus #${bus.busNo}):`];
  const c = rec(256);
  if (c) lines.push('   ' + c);
  const b = rec(512);
  if (b) lines.push('   ' + b);
  for (let i = 0, off = 768; off + 256 <= ch.nbytes; i++, off += 256) {
    const r = rec(off);
    if (r) lines.push(`[${i}]${r}`);
  }
  return lines.join('\n') + '\n';
}
