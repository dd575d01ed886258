/**
 * The bus and visorchipset as the Variables view shows them while stopped: read from the model,
 * nothing written (client_bus_info is read through the journal's passive guard).
 */
import { deviceState } from '../../inspect/fields';
import { Emulator } from '../../emulator';
import { hexRef } from './decode';
import { bytesGuid } from './valuetext';
import { ro, Var } from './jsvars';

/** Gives an expandable value its variablesReference. */
export type VarHandle = (c: { kind: 'object'; label: string; entries: () => Var[] } | { kind: 'device'; dev: string }) => number;

/** A number in decimal, or in hex when the Variables view asks for hex. */
export function num(v: number | bigint, hex: boolean): string {
  return hex ? `0x${v.toString(16)}` : String(v);
}

/** A bus as the Variables view shows it: its channel, its devices (expandable) and client_bus_info. */
export function busVars(emu: Emulator, bus: number, hex: boolean, handle: VarHandle, passively: <T>(fn: () => T) => T): Var[] {
  const b = emu.busDevice(bus);
  if (!b) return [ro({ name: 'state', value: 'destroyed', variablesReference: 0 })];
  const ch = b.visorchannel;
  const devs = emu.bus.devicesOn(bus);
  return [
    ro({ name: 'name', value: b.name, variablesReference: 0 }),
    ro({ name: 'partition name', value: b.partitionName ?? '(null)', variablesReference: 0 }),
    ro({ name: 'partition guid', value: bytesGuid(b.partitionGuidRaw), variablesReference: 0 }),
    ro({ name: 'partition handle', value: num(ch.partitionHandle, true), variablesReference: 0 }),
    ro({ name: 'channel', value: `${hexRef(ch.physaddr)} +${num(ch.nbytes, hex)} bytes`, variablesReference: 0, memoryReference: hexRef(ch.physaddr) }),
    ro({
      name: 'devices',
      value: `${devs.length}: ${devs
        .slice(0, 8)
        .map((d) => d.name)
        .join(', ')}${devs.length > 8 ? ', …' : ''}`,
      variablesReference: devs.length
        ? handle({
            kind: 'object',
            label: 'devices',
            entries: () =>
              devs.map((d) =>
                ro({
                  name: d.name,
                  value: `${deviceState(d)}${d.driver ? `, ${d.driver.name}` : ''}`,
                  variablesReference: handle({ kind: 'device', dev: d.id }),
                }),
              ),
          })
        : 0,
    }),
    ro({ name: 'client_bus_info', value: passively(() => emu.bus.clientBusInfo(b)).trim(), variablesReference: 0 }),
  ];
}

/** visorchipset as the Variables view shows it: features, polling, the controlvm channel, statistics, parahotplug requests. */
export function chipsetVars(emu: Emulator, hex: boolean, handle: VarHandle): Var[] {
  const c = emu.chipset;
  const feats = [c.features & 1 ? 'REPLY' : '', c.features & 2 ? 'PARA_HOTPLUG' : ''].filter(Boolean).join(' | ') || '0';
  const stats = c.stats as unknown as Record<string, number>;
  const cps = emu.cp.stats as unknown as Record<string, number>;
  const pend = c.parahotplug.pending;
  return [
    ro({ name: 'initialized', value: String(c.initialized), variablesReference: 0 }),
    ro({ name: 'features', value: `0x${c.features.toString(16)} (${feats})`, variablesReference: 0 }),
    ro({ name: 'polling', value: c.polling ? 'armed' : 'not armed', variablesReference: 0 }),
    ro({
      name: 'controlvm channel',
      value: `${hexRef(c.controlvm.physaddr)} +${c.controlvm.nbytes} bytes`,
      variablesReference: 0,
      memoryReference: hexRef(c.controlvm.physaddr),
    }),
    ro({
      name: 'stats',
      value: Object.entries(stats)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      variablesReference: handle({
        kind: 'object',
        label: 'stats',
        entries: () => Object.entries(stats).map(([k, v]) => ro({ name: k, value: num(v, hex), variablesReference: 0 })),
      }),
    }),
    ro({
      name: 'command partition',
      value: Object.entries(cps)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      variablesReference: handle({
        kind: 'object',
        label: 'cp',
        entries: () => Object.entries(cps).map(([k, v]) => ro({ name: k, value: num(v, hex), variablesReference: 0 })),
      }),
    }),
    ro({
      name: 'parahotplug pending',
      value: pend.length ? pend.map((r) => `#${r.id} ${r.msg.describe()}`).join('; ') : '(none)',
      variablesReference: pend.length
        ? handle({
            kind: 'object',
            label: 'parahotplug',
            entries: () =>
              pend.map((r) => ro({ name: `request ${r.id}`, value: `${r.msg.describe()}, expires at jiffy ${r.expiration}`, variablesReference: 0 })),
          })
        : 0,
    }),
  ];
}
