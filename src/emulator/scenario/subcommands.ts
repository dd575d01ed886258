/**
 * The grammar of the commands with subcommands: chipset, driver, bus, device,
 * partition, controlvm, signal and memory (`bus create 2`, `memory write 2:0+0x40 u32 7`).
 */

import type { Command, DeviceRef } from './ast';
import { BUILTIN_DRIVERS, SEGMENT_STATES } from './catalogue';
import { resolveGuid } from '../protocol/guid';
import { compact, type Handler, num, type OptKind, str } from './linecontext';
import { fail, failAt, q } from './lineerror';
import { DATA_FORMS, DEVREF_RE, devText, isNumberText, parseData, parseDevice, parseDeviceText, parseNumberAt, parseTarget, SAFE, U16 } from './numbers';
import { suggest } from './suggest';

const BUS_OPTS: Record<string, OptKind> = { name: 'string', bytes: 'size', addr: 'num', handle: 'num', guid: 'guid', devcount: 'u32' };
const BUS_CONF_OPTS: Record<string, OptKind> = { handle: 'num', name: 'string', guid: 'guid' };
const DEVICE_OPTS: Record<string, OptKind> = {
  type: 'guid',
  bytes: 'size',
  addr: 'num',
  zone: 'guid',
  partition: 'num',
  version: 'u32',
  chtype: 'guid',
  inst: 'guid',
};
const CONTROLVM_OPTS: Record<string, OptKind> = {
  id: 'u32',
  bus: 'u32',
  dev: 'u32',
  flags: 'u32',
  status: 'u32',
  handle: 'num',
  state: 'u16',
  size: 'u32',
  payload: 'hex',
  payload_bytes: 'u32',
};

function simpleDevice(kind: 'deviceDestroy' | 'devicePause' | 'deviceResume' | 'deviceConfigure'): Handler {
  return (c) => {
    c.positionals(1, 1, ['device BUS:DEV']);
    c.noOptions();
    return { kind, device: parseDevice(c.pos[0]) };
  };
}

function noArgs(cmd: Command): Handler {
  return (c) => {
    c.positionals(0, 0, []);
    c.noOptions();
    return cmd;
  };
}

export const GROUPS: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  chipset: {
    init: (c) => {
      c.positionals(0, 0, []);
      const o = c.options({ options: { features: 'u32' } });
      return { kind: 'chipsetInit', features: num(o, 'features') ?? 0 };
    },
    ready: noArgs({ kind: 'chipsetReady' }),
    selftest: noArgs({ kind: 'chipsetSelftest' }),
    stop: noArgs({ kind: 'chipsetStop' }),
  },
  driver: {
    load: (c) => {
      c.positionals(1, 1, ['driver name or path']);
      c.noOptions();
      const t = c.pos[0];
      const name = t.value;
      if (name === '') failAt(t, 'empty driver name');
      const isPath = /[/\\]/.test(name) || /\.(js|ts|mjs|cjs)$/.test(name);
      if (!isPath && !BUILTIN_DRIVERS.includes(name)) {
        failAt(t, `unknown driver ${q(name)} (built-in drivers: ${BUILTIN_DRIVERS.join(', ')}; give a path like ./my-driver.js for your own)`);
      }
      return { kind: 'driverLoad', name, isPath };
    },
    unload: (c) => {
      c.positionals(1, 1, ['driver name']);
      c.noOptions();
      const t = c.pos[0];
      if (t.value === '') failAt(t, 'empty driver name');
      return { kind: 'driverUnload', name: t.value };
    },
  },
  bus: {
    create: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      c.buses.add(bus); // declared even if an option below is wrong: avoids follow-on errors
      const o = c.options({ options: BUS_OPTS });
      return compact({
        kind: 'busCreate' as const,
        bus,
        name: str(o, 'name'),
        bytes: num(o, 'bytes'),
        addr: num(o, 'addr'),
        handle: num(o, 'handle'),
        partitionGuid: str(o, 'guid'),
        devCount: num(o, 'devcount'),
      });
    },
    configure: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      const o = c.options({ options: BUS_CONF_OPTS });
      return compact({ kind: 'busConfigure' as const, bus, handle: num(o, 'handle'), name: str(o, 'name'), partitionGuid: str(o, 'guid') });
    },
    destroy: (c) => {
      c.positionals(1, 1, ['bus number']);
      const bus = c.bus(c.pos[0]);
      c.noOptions();
      c.buses.delete(bus);
      return { kind: 'busDestroy', bus };
    },
  },
  device: {
    create: (c) => {
      if (c.pos.length > 1) {
        const t = c.pos[1];
        if (t.kind === 'word' && resolveGuid(t.text) !== undefined) {
          failAt(t, `unexpected argument ${q(t.text)} for 'device create' (did you mean type=${t.text}?)`);
        }
      }
      c.positionals(1, 1, ['device BUS:DEV']);
      const device = parseDevice(c.pos[0]);
      if (!c.buses.has(device.bus)) {
        failAt(c.pos[0], `device ${devText(device)} is on bus ${device.bus}, which no earlier 'bus create ${device.bus}' declares`);
      }
      const o = c.options({ options: DEVICE_OPTS, required: ['type'] });
      return compact({
        kind: 'deviceCreate' as const,
        device,
        typeGuid: str(o, 'type') ?? '',
        bytes: num(o, 'bytes'),
        addr: num(o, 'addr'),
        zoneGuid: str(o, 'zone'),
        partition: num(o, 'partition'),
        version: num(o, 'version'),
        headerTypeGuid: str(o, 'chtype'),
        instanceGuid: str(o, 'inst'),
      });
    },
    destroy: simpleDevice('deviceDestroy'),
    pause: simpleDevice('devicePause'),
    resume: simpleDevice('deviceResume'),
    configure: simpleDevice('deviceConfigure'),
    state: (c) => {
      c.positionals(2, 2, ['device BUS:DEV', 'state (running, standby, paused or a number)']);
      c.noOptions();
      const device = parseDevice(c.pos[0]);
      const t = c.pos[1];
      let state: number;
      if (t.kind === 'word' && Object.prototype.hasOwnProperty.call(SEGMENT_STATES, t.text)) state = SEGMENT_STATES[t.text];
      else if (t.kind === 'word' && isNumberText(t.text)) state = parseNumberAt(t.text, t.start, t.end, U16, 'segment state');
      else {
        const names = Object.keys(SEGMENT_STATES);
        const s = suggest(t.text, names);
        const hint = s === undefined ? '' : `did you mean '${s}'? `;
        failAt(t, `unknown device state ${q(t.text)} (${hint}use running, standby, paused or a number like 0x77)`);
      }
      return { kind: 'deviceState', device, state };
    },
  },
  partition: {
    recover: (c) => {
      c.positionals(1, 1, ['bus number']);
      c.noOptions();
      return { kind: 'partitionRecover', bus: c.bus(c.pos[0]) };
    },
  },
  controlvm: {
    send: (c) => {
      c.positionals(0, 0, []);
      const o = c.options({ options: CONTROLVM_OPTS, required: ['id'] });
      const id = num(o, 'id') ?? 0;
      const fields: Record<string, number | string> = {};
      for (const [k, v] of Object.entries(o)) if (k !== 'id') fields[k] = v;
      return { kind: 'controlvmSend', id, fields };
    },
  },
  signal: {
    insert: (c) => {
      c.positionals(2, 2, ['target (BUS:DEV or controlvm)', `data (${DATA_FORMS})`]);
      const device = parseTarget(c.pos[0]);
      const o = c.options({ options: { queue: 'u32' }, required: ['queue'] });
      const data = parseData(c.pos[1], DATA_FORMS);
      return { kind: 'signalInsert', device, queue: num(o, 'queue') ?? 0, data };
    },
    remove: (c) => {
      c.positionals(1, 1, ['target (BUS:DEV or controlvm)']);
      const device = parseTarget(c.pos[0]);
      const o = c.options({ options: { queue: 'u32' }, required: ['queue'] });
      return { kind: 'signalRemove', device, queue: num(o, 'queue') ?? 0 };
    },
  },
  memory: {
    write: (c) => {
      const memForms = 'hex:0011aa..., a "quoted string", or u8/u16/u32/u64 N';
      c.positionals(2, 3, ['address (ADDR, BUS:DEV+OFFSET or controlvm+OFFSET)', `data (${memForms})`]);
      c.noOptions();
      const at = c.pos[0];
      let target: { device: DeviceRef | 'controlvm'; offset: number } | { address: number };
      const plus = at.kind === 'word' ? at.text.indexOf('+') : -1;
      if (at.kind !== 'word') failAt(at, `bad address ${q(at.text)} (use a number, BUS:DEV+OFFSET or controlvm+OFFSET)`);
      if (plus >= 0) {
        const left = at.text.slice(0, plus);
        const right = at.text.slice(plus + 1);
        const device: DeviceRef | 'controlvm' = left === 'controlvm' ? 'controlvm' : parseDeviceText(left, at.start, at.start + plus);
        const offset = parseNumberAt(right, at.start + plus + 1, at.end, SAFE, 'offset');
        target = { device, offset };
      } else if (isNumberText(at.text)) {
        target = { address: parseNumberAt(at.text, at.start, at.end, SAFE, 'address') };
      } else if (at.text === 'controlvm' || DEVREF_RE.test(at.text)) {
        failAt(at, `missing offset in ${q(at.text)} (write ${at.text}+OFFSET, e.g. ${at.text}+0x40)`);
      } else {
        failAt(at, `bad address ${q(at.text)} (use a number, BUS:DEV+OFFSET or controlvm+OFFSET)`);
      }
      const d = c.pos[1];
      const widths: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };
      let data: Uint8Array;
      if (d.kind === 'word' && Object.prototype.hasOwnProperty.call(widths, d.text)) {
        const width = widths[d.text];
        if (c.pos.length < 3) fail(d.start, d.end, `missing value after '${d.text}' (e.g. ${d.text} 7)`);
        const vt = c.pos[2];
        if (vt.kind !== 'word' || !isNumberText(vt.text)) failAt(vt, `bad number ${q(vt.text)}`);
        const big = BigInt(vt.text);
        const limit = (1n << BigInt(width * 8)) - 1n;
        if (big > limit) failAt(vt, `value ${q(vt.text)} does not fit in ${d.text} (at most 0x${limit.toString(16)})`);
        data = new Uint8Array(width);
        let x = big;
        for (let i = 0; i < width; i++) {
          data[i] = Number(x & 0xffn);
          x >>= 8n;
        }
      } else {
        if (c.pos.length > 2) {
          const t = c.pos[2];
          failAt(t, `unexpected argument ${q(t.text)} for 'memory write' (syntax: ${c.syntax})`);
        }
        data = parseData(d, memForms);
      }
      return { kind: 'memoryWrite', target, data };
    },
  },
};
