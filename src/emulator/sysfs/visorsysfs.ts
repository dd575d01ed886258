/**
 * The visorbus part of sysfs, named as the seed documentation shows users:
 *   /sys/bus/visorbus/devices/<name> -> ../../../devices/visorbus<x>[/vbus<x>:dev<y>]
 *   /sys/devices/visorbus<x>/vbus<x>:dev<y>/{channel/*, driver, subsystem, modalias}
 *   /sys/devices/platform/visorchipset/{install/*, parahotplug/*}
 * (The final kernel puts the channel files directly in the device directory and the
 * chipset attributes on the ACPI PNP0A07 device; the seed's layout is what we publish.)
 */
import { Sysfs, SysfsError } from './sysfs';
import { KstrtoType, kstrto } from './kstrto';
import { BusDevice } from '../visorbus/visordevice';
import { VisorBus } from '../visorbus/visorbus';
import { VisorChipset } from '../visorchipset/visorchipset';
import { readInstallField, writeInstallField } from '../visorchipset/installfields';
import { CONTROLVM_CHANNEL } from '../protocol/layout';

const hex = (n: number) => `0x${n.toString(16)}\n`;

export function addVisorbusRoot(fs: Sysfs): void {
  fs.mkdir('/sys/bus/visorbus/devices');
  fs.mkdir('/sys/bus/visorbus/drivers');
  fs.file('/sys/bus/visorbus/drivers_autoprobe', () => '1\n');
}

export function addDriver(fs: Sysfs, name: string): void {
  fs.mkdir(`/sys/bus/visorbus/drivers/${name}`);
}

export function removeDriver(fs: Sysfs, name: string): void {
  fs.remove(`/sys/bus/visorbus/drivers/${name}`);
}

export function addBusDevice(fs: Sysfs, visorbus: VisorBus, bus: BusDevice): void {
  const dir = bus.sysfsPath;
  const ch = bus.visorchannel;
  fs.mkdir(dir);
  fs.file(`${dir}/partition_handle`, () => hex(ch.partitionHandle));
  fs.file(`${dir}/partition_guid`, () => VisorBus.partitionGuidText(bus) + '\n');
  fs.file(`${dir}/partition_name`, () => `${bus.partitionName ?? '(null)'}\n`);
  fs.file(`${dir}/channel_addr`, () => hex(ch.physaddr));
  fs.file(`${dir}/channel_bytes`, () => hex(ch.nbytes));
  fs.file(`${dir}/channel_id`, () => bus.channelTypeGuid.toUpperCase() + '\n');
  fs.file(`${dir}/modalias`, () => `visorbus:${bus.channelTypeGuid}\n`);
  fs.file(`${dir}/uevent`, () => `MODALIAS=visorbus:${bus.channelTypeGuid}\n`);
  fs.link(`${dir}/subsystem`, '../../bus/visorbus');
  fs.link(`/sys/bus/visorbus/devices/${bus.name}`, `../../../devices/${bus.name}`);
  fs.file(`/sys/kernel/debug/visorbus/${bus.name}/client_bus_info`, () => visorbus.clientBusInfo(bus));
}

export function removeBusDevice(fs: Sysfs, busNo: number, hasChildren: boolean): void {
  const name = `visorbus${busNo}`;
  const dir = `/sys/devices/${name}`;
  fs.remove(`/sys/bus/visorbus/devices/${name}`);
  fs.remove(`/sys/kernel/debug/visorbus/${name}`);
  // Child devices stay (the kernel does not remove them); keep their directories reachable.
  if (!hasChildren) fs.remove(dir);
  else
    for (const f of ['partition_handle', 'partition_guid', 'partition_name', 'channel_addr', 'channel_bytes', 'channel_id', 'modalias', 'uevent', 'subsystem'])
      fs.remove(`${dir}/${f}`);
}

export function addDevice(fs: Sysfs, d: BusDevice): void {
  const dir = d.sysfsPath;
  const ch = d.visorchannel;
  fs.mkdir(dir);
  fs.file(`${dir}/channel/clientpartition`, () => hex(ch.partitionHandle));
  fs.file(`${dir}/channel/nbytes`, () => hex(ch.nbytes));
  fs.file(`${dir}/channel/physaddr`, () => hex(ch.physaddr));
  fs.file(`${dir}/channel/typeguid`, () => d.channelTypeGuid.toUpperCase() + '\n');
  // Empty (0 bytes) until a driver claims the type.
  fs.file(`${dir}/channel/typename`, () => (d.typeName ? d.typeName + '\n' : ''));
  fs.file(`${dir}/channel/zoneguid`, () => ch.zoneGuid.toUpperCase() + '\n');
  fs.file(`${dir}/modalias`, () => `visorbus:${d.channelTypeGuid}\n`);
  // dev_uevent: DRIVER once bound, then visorbus_uevent's MODALIAS.
  fs.file(`${dir}/uevent`, () => `${d.driver ? `DRIVER=${d.driver.name}\n` : ''}MODALIAS=visorbus:${d.channelTypeGuid}\n`);
  fs.link(`${dir}/subsystem`, '../../../bus/visorbus');
  fs.link(`/sys/bus/visorbus/devices/${d.name}`, `../../../devices/visorbus${d.busNo}/${d.name}`);
}

export function removeDevice(fs: Sysfs, busNo: number, devNo: number): void {
  const name = `vbus${busNo}:dev${devNo}`;
  fs.remove(`/sys/bus/visorbus/devices/${name}`);
  fs.remove(`/sys/devices/visorbus${busNo}/${name}`);
  for (const drv of fs.list('/sys/bus/visorbus/drivers', false)) fs.remove(`${drv.path}/${name}`);
}

/** The driver link and the driver's device link follow binding. */
export function syncBinding(fs: Sysfs, d: BusDevice): void {
  const dir = d.sysfsPath;
  for (const drv of fs.list('/sys/bus/visorbus/drivers', false)) fs.remove(`${drv.path}/${d.name}`);
  if (d.driver) {
    fs.link(`${dir}/driver`, `../../../bus/visorbus/drivers/${d.driver.name}`);
    fs.link(`/sys/bus/visorbus/drivers/${d.driver.name}/${d.name}`, `../../../../devices/visorbus${d.busNo}/${d.name}`);
  } else fs.remove(`${dir}/driver`);
}

/** /sys/devices/platform/visorchipset (the seed's ABI document). */
export function addChipset(fs: Sysfs, chipset: VisorChipset): void {
  const dir = '/sys/devices/platform/visorchipset';
  const C = CONTROLVM_CHANNEL;
  const rw = (name: string, off: number, size: number, type: KstrtoType) =>
    fs.file(
      `${dir}/install/${name}`,
      () => `${readInstallField(chipset.controlvm, off, size)}\n`,
      (v) => writeInstallField(chipset.controlvm, off, size, kstrto(`${dir}/install/${name}`, v, type)),
    );
  rw('error', C.installation_error, 4, 'u32');
  rw('textid', C.installation_text_id, 4, 'u32');
  rw('remainingsteps', C.installation_remaining_steps, 2, 'u16');
  rw('toolaction', C.tool_action, 1, 'u8');
  fs.file(
    `${dir}/install/boottotool`,
    () => `${(readInstallField(chipset.controlvm, C.efi_visor_ind, 1) >> 3) & 1}\n`,
    // The kernel writes 8 bytes of which only bit 3 is defined (the rest is stack garbage);
    // we write the other bits as they were.
    (v) => {
      const n = kstrto(`${dir}/install/boottotool`, v, 'int');
      const cur = readInstallField(chipset.controlvm, C.efi_visor_ind, 1);
      writeInstallField(chipset.controlvm, C.efi_visor_ind, 1, (cur & ~8) | ((n & 1) << 3));
    },
  );
  fs.file(`${dir}/parahotplug/devicedisabled`, undefined, (v) => {
    const id = kstrto(`${dir}/parahotplug/devicedisabled`, v, 'u32');
    if (chipset.parahotplug.complete(id, false) < 0)
      throw new SysfsError(`${dir}/parahotplug/devicedisabled`, 'EINVAL', `Invalid argument: no parahotplug request ${id}`);
  });
  fs.file(`${dir}/parahotplug/deviceenabled`, undefined, (v) => {
    const id = kstrto(`${dir}/parahotplug/deviceenabled`, v, 'u32');
    chipset.parahotplug.complete(id, true); // always reports success
  });
  fs.link(`${dir}/subsystem`, '../../../bus/platform');
}
