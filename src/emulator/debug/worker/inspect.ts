/**
 * Scopes, variables, setVariable, data breakpoint targets and guest-memory access for a
 * stopped model. Everything is read from guest memory directly (no model events); every
 * change goes through the controller's journal so replays repeat it.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import { StopState, UserError } from './stopstate';
import type { WorkerState } from '../workerlink';
import type { Journal } from './journal';
import type { StackView } from './stackview';
import {
  ChannelTarget,
  Field,
  channelKind,
  channelTarget,
  decodeChannel,
  decodeQueue,
  extraLayout,
  fieldAt,
  hexRef,
  parseDeviceId,
  queueGeometry,
  queuesOf,
} from './decode';
import { CHANNEL_HEADER, SIGNAL_QUEUE_HEADER, StructField } from '../../protocol/layout';
import { GUID_DESCRIPTIONS } from '../../protocol/guid';
import { deviceState } from '../../inspect/fields';
import { Emulator } from '../../emulator';
import { FieldSource, Node, parseExpression } from './expr';
import { bytesGuid, encodeValue, preview, typeName } from './valuetext';

type Container =
  | { kind: 'device'; dev: string }
  | { kind: 'header'; dev: string }
  | { kind: 'queues'; dev: string }
  | { kind: 'queue'; dev: string; q: number }
  | { kind: 'pending'; dev: string; q: number }
  | { kind: 'signal'; dev: string; q: number; slot: number }
  | { kind: 'driver'; dev: string }
  | { kind: 'bus'; bus: number }
  | { kind: 'chipset' }
  | { kind: 'run' }
  | { kind: 'object'; label: string; entries: () => Var[] }
  | { kind: 'js'; value: object };

export interface Var {
  name: string;
  value: string;
  variablesReference: number;
  type?: string;
  evaluateName?: string;
  memoryReference?: string;
  indexedVariables?: number;
  namedVariables?: number;
  presentationHint?: { kind?: string; attributes?: string[] };
}

function ro(v: Var): Var {
  v.presentationHint = { ...(v.presentationHint ?? {}), attributes: [...(v.presentationHint?.attributes ?? []), 'readOnly'] };
  return v;
}

/** Parse a memoryReference / address: "0x10000000" or decimal. */
export function parseAddress(text: unknown, what = 'memoryReference'): number {
  if (typeof text !== 'string' && typeof text !== 'number') throw new UserError(`${what} is missing`);
  const t = String(text).trim();
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^\d+$/.test(t)) v = Number(t);
  else throw new UserError(`bad ${what} '${t}': expected a guest-physical address such as 0x10000000`);
  if (!Number.isSafeInteger(v)) throw new UserError(`${what} '${t}' is out of range`);
  return v;
}

/** What the Variables view, memory and data breakpoints need of the worker: a read view of the model and the stop, and the journal for writes. */
export interface InspectHost extends FieldSource {
  readonly state: WorkerState;
  readonly stop: StopState | undefined;
  readonly journal: Pick<Journal, 'intervene' | 'passively'>;
  readonly stack: Pick<StackView, 'deviceOf' | 'frameById'>;
}

export class Inspector {
  private handles = new Map<number, Container>();
  private nextHandle = 1;

  constructor(private readonly ctl: InspectHost) {}

  reset(): void {
    this.handles.clear();
    this.nextHandle = 1;
  }

  private get emu(): Emulator {
    return this.ctl.emu;
  }

  handle(c: Container): number {
    const h = this.nextHandle++;
    this.handles.set(h, c);
    return h;
  }

  private needStop(): void {
    if (!this.ctl.stop) throw new UserError(this.ctl.state === 'running' ? 'the scenario is running: pause it to inspect variables' : 'not stopped');
  }

  // ---- scopes ------------------------------------------------------------------------------

  scopes(a: DebugProtocol.ScopesArguments): DebugProtocol.ScopesResponse['body'] {
    this.needStop();
    const f = this.ctl.stack.frameById(Number(a.frameId));
    if (!f) throw new UserError(`unknown frame ${String(a.frameId)} (frames are valid until the session resumes)`);
    const emu = this.emu;
    const scopes: { name: string; variablesReference: number; expensive: boolean; presentationHint?: string; namedVariables?: number }[] = [];
    const add = (name: string, c: Container, hint?: string) => scopes.push({ name, variablesReference: this.handle(c), expensive: false, ...(hint ? { presentationHint: hint } : {}) });
    const dev = f.device;
    const p = dev ? parseDeviceId(dev) : undefined;
    if (p && p !== 'controlvm' && p.dev !== undefined) {
      const id = `${p.bus}:${p.dev}`;
      const d = emu.device(p.bus, p.dev);
      const t = channelTarget(emu, id);
      if (d) add(`Device ${d.name}`, { kind: 'device', dev: id }, 'locals');
      if (t) {
        add('Channel header', { kind: 'header', dev: id }, 'registers');
        if (queuesOf(emu.memory, t).length) add('Signal queues', { kind: 'queues', dev: id });
      }
      if (d?.driver) add(`Driver ${d.driver.name}`, { kind: 'driver', dev: id });
      if (emu.busDevice(p.bus)) add(`Bus visorbus${p.bus}`, { kind: 'bus', bus: p.bus });
    } else if (p === 'controlvm') {
      add('Channel header (controlvm)', { kind: 'header', dev: 'controlvm' }, 'registers');
      add('Signal queues (controlvm)', { kind: 'queues', dev: 'controlvm' });
    } else if (p) {
      if (emu.busDevice(p.bus)) {
        add(`Bus visorbus${p.bus}`, { kind: 'bus', bus: p.bus });
        add('Channel header (vbus)', { kind: 'header', dev: `${p.bus}` }, 'registers');
      }
    }
    add('Chipset', { kind: 'chipset' });
    add('Emulator', { kind: 'run' });
    return { scopes };
  }

  // ---- variables -----------------------------------------------------------------------------

  variables(a: DebugProtocol.VariablesArguments): DebugProtocol.VariablesResponse['body'] {
    const ref = Number(a.variablesReference);
    const c = this.handles.get(ref);
    if (!c) throw new UserError(this.ctl.stop ? `unknown variablesReference ${ref} (variables are valid until the session resumes)` : 'not stopped');
    const hex = !!(a.format as { hex?: boolean } | undefined)?.hex;
    let vars = this.contents(c, hex);
    const filter = a.filter;
    if (filter === 'indexed' || filter === 'named') {
      const isIndexed = (v: Var) => /^\[\d+\]$/.test(v.name);
      vars = vars.filter((v) => (filter === 'indexed') === isIndexed(v));
    }
    const start = Number(a.start ?? 0) || 0;
    const count = Number(a.count ?? 0) || 0;
    if (start || count) vars = vars.slice(start, count ? start + count : undefined);
    return { variables: vars };
  }

  private num(v: number | bigint, hex: boolean): string {
    return hex ? `0x${v.toString(16)}` : String(v);
  }

  private fieldVar(f: Field, t: ChannelTarget, evaluateBase: string | undefined, hex: boolean): Var {
    let value = f.display;
    if (hex && f.layout && ['u8', 'u16', 'u32', 'u64'].includes(f.layout.type) && /^\d+$/.test(f.value)) value = `0x${BigInt(f.value).toString(16)}${f.display.includes('(') && !/^\d/.test(f.display) ? ` ${f.display}` : ''}`;
    const v: Var = {
      name: f.name,
      value,
      variablesReference: 0,
      type: f.layout ? `${f.layout.type}${f.layout.type === 'bytes' || f.layout.type === 'char' ? `[${f.size}]` : ''} @+0x${f.offset.toString(16)}` : `@+0x${f.offset.toString(16)}`,
      memoryReference: hexRef(t.physaddr + f.offset),
      ...(evaluateBase ? { evaluateName: `${evaluateBase}.${f.name}` } : {}),
    };
    return f.writable ? v : ro(v);
  }

  private target(dev: string): ChannelTarget {
    const t = channelTarget(this.emu, dev);
    if (!t) throw new UserError(`device ${dev} has no channel any more`);
    return t;
  }

  private contents(c: Container, hex: boolean): Var[] {
    const emu = this.emu;
    const mem = emu.memory;
    switch (c.kind) {
      case 'device':
        return this.deviceVars(c.dev, hex);
      case 'header': {
        const t = this.target(c.dev);
        const view = decodeChannel(emu, t, 0);
        const evalBase = c.dev === 'controlvm' || c.dev.includes(':') ? `${c.dev}.header` : undefined;
        const vars = view.header.map((f) => this.fieldVar(f, t, evalBase, hex));
        for (const f of view.extra) vars.push(this.fieldVar(f, t, undefined, hex));
        return vars;
      }
      case 'queues': {
        const t = this.target(c.dev);
        const kind = channelKind(t.typeGuid);
        return queuesOf(mem, t).map((g) => {
          const name = decodeQueue(mem, t, g, 0).name;
          return ro({
            name: `queue[${g.index}]`,
            value: `${name}: head ${g.head}, tail ${g.tail}, ${g.pending} pending of ${Math.max(0, g.maxSlots - 1)} (${g.signalSize}-byte signals${kind === 'generic' ? '' : `, ${kind}`})`,
            variablesReference: this.handle({ kind: 'queue', dev: c.dev, q: g.index }),
            memoryReference: hexRef(t.physaddr + g.offset),
            evaluateName: `${c.dev}.queue[${g.index}].pending`,
          });
        });
      }
      case 'queue': {
        const t = this.target(c.dev);
        const g = queueGeometry(mem, t, c.q);
        if (!g) return [];
        const qv = decodeQueue(mem, t, g, 0);
        const vars = qv.fields.map((f) => this.fieldVar(f, t, `${c.dev}.queue[${c.q}]`, hex));
        vars.push(
          ro({
            name: 'pending',
            value: `${g.pending} signal(s)`,
            variablesReference: g.pending ? this.handle({ kind: 'pending', dev: c.dev, q: c.q }) : 0,
            evaluateName: `${c.dev}.queue[${c.q}].pending`,
            indexedVariables: g.pending ? Math.min(g.pending, 256) : undefined,
          }),
        );
        return vars;
      }
      case 'pending': {
        const t = this.target(c.dev);
        const g = queueGeometry(mem, t, c.q);
        if (!g) return [];
        const qv = decodeQueue(mem, t, g, 256);
        const vars = qv.pending.map((s, i) =>
          ro({
            name: `[${i}]`,
            value: `slot ${s.slot}: ${s.summary}`,
            variablesReference: this.handle({ kind: 'signal', dev: c.dev, q: c.q, slot: s.slot }),
            memoryReference: hexRef(t.physaddr + s.offset),
          }),
        );
        if (g.pending > 256) vars.push(ro({ name: '…', value: `${g.pending - 256} more`, variablesReference: 0 }));
        return vars;
      }
      case 'signal': {
        const s = this.signal(c.dev, c.q, c.slot);
        const t = this.target(c.dev);
        return s.fields.map((f) => this.fieldVar(f, t, undefined, hex));
      }
      case 'driver':
        return this.driverVars(c.dev);
      case 'bus':
        return this.busVars(c.bus, hex);
      case 'chipset':
        return this.chipsetVars(hex);
      case 'run':
        return this.runVars();
      case 'object':
        return c.entries();
      case 'js':
        return this.jsVars(c.value);
    }
  }

  private signal(dev: string, q: number, slot: number) {
    const t = this.target(dev);
    const g = queueGeometry(this.emu.memory, t, q);
    const s = g && decodeQueue(this.emu.memory, t, g, 4096).pending.find((x) => x.slot === slot);
    if (!s) throw new UserError(`slot ${slot} of queue ${q} is no longer pending`);
    return s;
  }

  private deviceVars(dev: string, hex: boolean): Var[] {
    const emu = this.emu;
    const p = parseDeviceId(dev);
    if (!p || p === 'controlvm' || p.dev === undefined) return [];
    const d = emu.device(p.bus, p.dev);
    if (!d) return [ro({ name: 'state', value: 'destroyed', variablesReference: 0 })];
    const ch = d.visorchannel;
    const s = (name: string, value: string, extra: Partial<Var> = {}) => ro({ name, value, variablesReference: 0, ...extra });
    const vars = [
      s('name', d.name, { evaluateName: `${dev}.name` }),
      s('id', d.id),
      s('state', deviceState(d), { evaluateName: `${dev}.state` }),
      s('driver', d.driver?.name ?? '(none)', { evaluateName: `${dev}.driver` }),
      s('typename', d.typeName || '""', { evaluateName: `${dev}.typename` }),
      s('channel type', `${d.channelTypeGuid}${GUID_DESCRIPTIONS[d.channelTypeGuid] ? ` (${GUID_DESCRIPTIONS[d.channelTypeGuid]})` : ''}`, { evaluateName: `${dev}.typeguid` }),
      s('instance', d.instGuid),
      s('zone', ch.zoneGuid),
      s('channel', `${hexRef(ch.physaddr)} +${this.num(ch.nbytes, hex)} bytes`, { memoryReference: hexRef(ch.physaddr), evaluateName: `${dev}.physaddr` }),
      s('nbytes', this.num(ch.nbytes, hex), { evaluateName: `${dev}.nbytes` }),
      s('sysfs', d.sysfsPath),
      s('polling', d.timerActive ? `every ${emu.bus.pollJiffies} jiffies (channel_interrupt)` : 'off'),
      s('paused', String(d.paused)),
      s('pausing', String(d.pausing)),
      s('resuming', String(d.resuming)),
      s('pending controlvm message', d.pendingMsgHdr ? d.pendingMsgHdr.describe() : '(none)'),
    ];
    return vars;
  }

  private driverVars(dev: string): Var[] {
    const p = parseDeviceId(dev);
    if (!p || p === 'controlvm' || p.dev === undefined) return [];
    const d = this.emu.device(p.bus, p.dev);
    const drv = d?.driver;
    if (!d || !drv) return [ro({ name: 'driver', value: '(none bound)', variablesReference: 0 })];
    const file = this.emu.driverFiles.get(drv.name);
    const types = drv.channelTypes.map((t) => `${t.name} ${t.guid} (min ${t.minBytes} bytes, version ${t.version})`);
    const vars: Var[] = [
      ro({ name: 'name', value: drv.name, variablesReference: 0 }),
      ro({ name: 'kind', value: this.emu.bus.builtinNames.has(drv.name) ? 'built-in' : 'user module', variablesReference: 0 }),
    ];
    if (file) vars.push(ro({ name: 'module', value: file, variablesReference: 0 }));
    vars.push(ro({ name: 'channel types', value: types.join('; '), variablesReference: 0 }));
    vars.push(this.jsVar('driverData', d.driverData));
    return vars;
  }

  private busVars(bus: number, hex: boolean): Var[] {
    const emu = this.emu;
    const b = emu.busDevice(bus);
    if (!b) return [ro({ name: 'state', value: 'destroyed', variablesReference: 0 })];
    const ch = b.visorchannel;
    const devs = emu.bus.devicesOn(bus);
    return [
      ro({ name: 'name', value: b.name, variablesReference: 0 }),
      ro({ name: 'partition name', value: b.partitionName ?? '(null)', variablesReference: 0 }),
      ro({ name: 'partition guid', value: bytesGuid(b.partitionGuidRaw), variablesReference: 0 }),
      ro({ name: 'partition handle', value: this.num(ch.partitionHandle, true), variablesReference: 0 }),
      ro({ name: 'channel', value: `${hexRef(ch.physaddr)} +${this.num(ch.nbytes, hex)} bytes`, variablesReference: 0, memoryReference: hexRef(ch.physaddr) }),
      ro({
        name: 'devices',
        value: `${devs.length}: ${devs.slice(0, 8).map((d) => d.name).join(', ')}${devs.length > 8 ? ', …' : ''}`,
        variablesReference: devs.length
          ? this.handle({
              kind: 'object',
              label: 'devices',
              entries: () => devs.map((d) => ro({ name: d.name, value: `${deviceState(d)}${d.driver ? `, ${d.driver.name}` : ''}`, variablesReference: this.handle({ kind: 'device', dev: d.id }) })),
            })
          : 0,
      }),
      ro({ name: 'client_bus_info', value: this.ctl.journal.passively(() => emu.bus.clientBusInfo(b)).trim(), variablesReference: 0 }),
    ];
  }

  private chipsetVars(hex: boolean): Var[] {
    const emu = this.emu;
    const c = emu.chipset;
    const feats = [c.features & 1 ? 'REPLY' : '', c.features & 2 ? 'PARA_HOTPLUG' : ''].filter(Boolean).join(' | ') || '0';
    const stats = c.stats as unknown as Record<string, number>;
    const cps = emu.cp.stats as unknown as Record<string, number>;
    const pend = c.parahotplug.pending;
    return [
      ro({ name: 'initialized', value: String(c.initialized), variablesReference: 0 }),
      ro({ name: 'features', value: `0x${c.features.toString(16)} (${feats})`, variablesReference: 0 }),
      ro({ name: 'polling', value: c.polling ? 'armed' : 'not armed', variablesReference: 0 }),
      ro({ name: 'controlvm channel', value: `${hexRef(c.controlvm.physaddr)} +${c.controlvm.nbytes} bytes`, variablesReference: 0, memoryReference: hexRef(c.controlvm.physaddr) }),
      ro({
        name: 'stats',
        value: Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', '),
        variablesReference: this.handle({ kind: 'object', label: 'stats', entries: () => Object.entries(stats).map(([k, v]) => ro({ name: k, value: this.num(v, hex), variablesReference: 0 })) }),
      }),
      ro({
        name: 'command partition',
        value: Object.entries(cps).map(([k, v]) => `${k} ${v}`).join(', '),
        variablesReference: this.handle({ kind: 'object', label: 'cp', entries: () => Object.entries(cps).map(([k, v]) => ro({ name: k, value: this.num(v, hex), variablesReference: 0 })) }),
      }),
      ro({
        name: 'parahotplug pending',
        value: pend.length ? pend.map((r) => `#${r.id} ${r.msg.describe()}`).join('; ') : '(none)',
        variablesReference: pend.length
          ? this.handle({ kind: 'object', label: 'parahotplug', entries: () => pend.map((r) => ro({ name: `request ${r.id}`, value: `${r.msg.describe()}, expires at jiffy ${r.expiration}`, variablesReference: 0 })) })
          : 0,
      }),
    ];
  }

  private runVars(): Var[] {
    const run = this.ctl.run!;
    const e = run.emu.engine;
    const failed = run.expects.filter((r) => !r.pass);
    const counters = run.allCounters();
    const vars: Var[] = [
      ro({ name: 'time', value: `${e.clock.jiffiesToMs(e.jiffies)} ms (${e.jiffies} jiffies at HZ ${e.clock.hz})`, variablesReference: 0, evaluateName: 'jiffies' }),
      ro({ name: 'event', value: String(e.log.count), variablesReference: 0, evaluateName: 'event' }),
      ro({ name: 'scenario', value: `${path.basename(run.scenario.file)}: ${run.index} of ${run.scenario.steps.length} lines started`, variablesReference: 0 }),
      ro({
        name: 'expect',
        value: `${run.expects.length - failed.length} passed, ${failed.length} failed`,
        variablesReference: run.expects.length
          ? this.handle({ kind: 'object', label: 'expect', entries: () => run.expects.map((r) => ro({ name: `line ${r.line}`, value: `${r.pass ? 'ok' : 'FAILED'}: ${r.subject} ${r.op} ${r.expected} (actual: ${r.actual})`, variablesReference: 0 })) })
          : 0,
      }),
      ro({ name: 'errors', value: run.errors.length ? run.errors.map((x) => `line ${x.line}: ${x.message}`).join('; ') : '(none)', variablesReference: 0 }),
      ro({
        name: 'counters',
        value: `${Object.keys(counters).length} counter(s)`,
        variablesReference: this.handle({ kind: 'object', label: 'counters', entries: () => Object.entries(counters).map(([k, v]) => ro({ name: k, value: String(v), variablesReference: 0 })) }),
      }),
      ro({ name: 'trace checksum', value: `0x${e.log.checksum.toString(16).padStart(8, '0')}`, variablesReference: 0 }),
    ];
    return vars;
  }

  // ---- JavaScript values (a driver's own state) ---------------------------------------------------

  private jsVar(name: string, value: unknown): Var {
    const v: Var = { name, value: preview(value), variablesReference: 0, type: typeName(value) };
    if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value !== 'function') {
      v.variablesReference = this.handle({ kind: 'js', value: value as object });
      if (Array.isArray(value)) v.indexedVariables = value.length;
    }
    return ro(v);
  }

  private jsVars(obj: object): Var[] {
    const out: Var[] = [];
    const limit = 1000;
    try {
      if (obj instanceof Map) {
        let i = 0;
        for (const [k, v] of obj) {
          if (i++ >= limit) break;
          out.push(this.jsVar(`[${preview(k)}]`, v));
        }
      } else if (obj instanceof Set) {
        let i = 0;
        for (const v of obj) {
          if (i >= limit) break;
          out.push(this.jsVar(`[${i++}]`, v));
        }
      } else if (ArrayBuffer.isView(obj)) {
        const b = new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength);
        for (let i = 0; i < Math.min(b.length, 4096); i += 16) {
          out.push(ro({ name: `[${i}]`, value: Buffer.from(b.subarray(i, Math.min(i + 16, b.length))).toString('hex').replace(/(..)/g, '$1 ').trim(), variablesReference: 0 }));
        }
      } else if (Array.isArray(obj)) {
        for (let i = 0; i < Math.min(obj.length, limit); i++) out.push(this.jsVar(`[${i}]`, obj[i]));
      } else {
        for (const k of Object.keys(obj).slice(0, limit)) {
          let v: unknown;
          try {
            v = (obj as Record<string, unknown>)[k];
          } catch (e) {
            v = `<${(e as Error).message}>`;
          }
          out.push(this.jsVar(k, v));
        }
      }
    } catch (e) {
      out.push(ro({ name: '<error>', value: (e as Error).message, variablesReference: 0 }));
    }
    return out;
  }

  // ---- changing memory ----------------------------------------------------------------------------

  setVariable(a: DebugProtocol.SetVariableArguments): DebugProtocol.SetVariableResponse['body'] {
    this.needStop();
    const c = this.handles.get(Number(a.variablesReference));
    if (!c) throw new UserError(`unknown variablesReference ${String(a.variablesReference)}`);
    const name = String(a.name ?? '');
    const value = String(a.value ?? '');
    let t: ChannelTarget;
    let fieldInfo: { addr: number; f: StructField } | undefined;
    switch (c.kind) {
      case 'header': {
        t = this.target(c.dev);
        const f = CHANNEL_HEADER.fields.find((x) => x.name === name) ?? extraLayout(channelKind(t.typeGuid)).find((x) => x.name === name);
        if (f) fieldInfo = { addr: t.physaddr, f };
        break;
      }
      case 'queue': {
        t = this.target(c.dev);
        const g = queueGeometry(this.emu.memory, t, c.q);
        const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === name);
        if (g && f) fieldInfo = { addr: t.physaddr + g.offset, f };
        break;
      }
      case 'signal': {
        t = this.target(c.dev);
        const s = this.signal(c.dev, c.q, c.slot);
        const f = s.fields.find((x) => x.name === name);
        if (f) fieldInfo = { addr: t.physaddr, f: { name: f.name, offset: f.offset, size: f.size, type: /^\d+$/.test(f.value) && f.size <= 8 ? (['u8', 'u16', 'u16', 'u32', 'u32', 'u64', 'u64', 'u64', 'u64'] as const)[f.size] : 'bytes', writable: true } };
        break;
      }
      default:
        throw new UserError(`${name} is read-only: only channel header, signal queue and signal fields can be changed (they are guest memory)`);
    }
    if (!fieldInfo) throw new UserError(`${name} is not a field that can be changed here`);
    const { addr, f } = fieldInfo;
    if (f.writable === false) throw new UserError(`${name} is read-only`);
    const bytes = encodeValue(f, value);
    const at = addr + f.offset;
    if (!this.emu.memory.isMapped(at, bytes.length)) throw new UserError(`${name} at ${hexRef(at)} is not mapped guest memory`);
    this.ctl.journal.intervene({ kind: 'mem', pos: { n: 0, w: 0 }, addr: at, bytes: Uint8Array.from(bytes) });
    const shown = fieldAt(this.emu.memory, addr, addr, f);
    return { value: shown.display, type: f.type, variablesReference: 0, memoryReference: hexRef(at) };
  }

  setExpression(a: DebugProtocol.SetExpressionArguments): DebugProtocol.SetExpressionResponse['body'] {
    this.needStop();
    const frame = a.frameId !== undefined ? this.ctl.stack.frameById(Number(a.frameId)) : undefined;
    const loc = this.fieldLocation(String(a.expression ?? ''), frame?.device ?? this.ctl.stack.deviceOf(this.ctl.stop!.frames, this.ctl.stop!.ev));
    if (typeof loc === 'string') throw new UserError(loc);
    const bytes = encodeValue(loc.f, String(a.value ?? ''));
    this.ctl.journal.intervene({ kind: 'mem', pos: { n: 0, w: 0 }, addr: loc.addr + loc.f.offset, bytes: Uint8Array.from(bytes) });
    return { value: fieldAt(this.emu.memory, loc.addr, loc.addr, loc.f).display };
  }

  /** Where a field expression (`2:0.queue[0].head`, `header.size` with a default device) lives in memory. */
  fieldLocation(expr: string, defaultDevice: string | undefined): { addr: number; f: StructField; device: string; field: string } | string {
    let n: Node;
    try {
      n = parseExpression(expr);
    } catch (e) {
      return (e as Error).message;
    }
    if (n.k !== 'ref') return `'${expr}' is not a channel field`;
    const device = n.device ?? defaultDevice;
    if (!device) return `'${expr}' needs a device: write it as BUS:DEV.${n.path}`;
    const t = channelTarget(this.emu, device);
    if (!t) return `device ${device} has no channel`;
    const hm = /^header\.(\w+)$/.exec(n.path);
    if (hm) {
      const f = CHANNEL_HEADER.fields.find((x) => x.name === hm[1]);
      return f ? { addr: t.physaddr, f, device, field: n.path } : `no channel_header field '${hm[1]}'`;
    }
    const qm = /^queue\[(\d+)\]\.(\w+)$/.exec(n.path);
    if (qm) {
      const g = queueGeometry(this.emu.memory, t, Number(qm[1]));
      if (!g) return `queue ${qm[1]} does not exist in the channel of ${device}`;
      const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === qm[2]);
      return f ? { addr: t.physaddr + g.offset, f, device, field: n.path } : `no signal_queue_header field '${qm[2]}'`;
    }
    return `'${n.path}' is not in guest memory (use header.<field> or queue[N].<field>)`;
  }

  // ---- data breakpoints ------------------------------------------------------------------------

  dataBreakpointInfo(a: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
    const name = String(a.name ?? '');
    const none = (why: string) => ({ dataId: null, description: why });
    if (!this.ctl.run) return none('no scenario is loaded');
    let loc: { addr: number; size: number; device?: string; field?: string } | undefined;
    if (a.asAddress) {
      let addr: number;
      try {
        addr = parseAddress(name, 'address');
      } catch (e) {
        return none((e as Error).message);
      }
      const size = Number(a.bytes ?? 4);
      if (!(size >= 1 && size <= 16)) return none('data breakpoints watch 1 to 16 bytes');
      loc = { addr, size };
    } else if (a.variablesReference !== undefined && a.variablesReference !== 0) {
      const c = this.handles.get(Number(a.variablesReference));
      if (!c) return none('the variable is no longer valid');
      if (c.kind === 'header') {
        const t = channelTarget(this.emu, c.dev);
        const f = CHANNEL_HEADER.fields.find((x) => x.name === name) ?? (t ? extraLayout(channelKind(t.typeGuid)).find((x) => x.name === name) : undefined);
        if (!t || !f) return none(`${name} is not a channel field`);
        loc = { addr: t.physaddr + f.offset, size: f.size, device: c.dev, field: CHANNEL_HEADER.fields.includes(f) ? `header.${name}` : name };
      } else if (c.kind === 'queue') {
        const t = channelTarget(this.emu, c.dev);
        const g = t && queueGeometry(this.emu.memory, t, c.q);
        const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === name);
        if (!t || !g || !f) return none(`${name} is not a signal queue field`);
        loc = { addr: t.physaddr + g.offset + f.offset, size: f.size, device: c.dev, field: `queue[${c.q}].${name}` };
      } else return none('data breakpoints can be set on channel header and signal queue fields (guest memory)');
    } else {
      const frame = a.frameId !== undefined ? this.ctl.stack.frameById(Number(a.frameId)) : undefined;
      const l = this.fieldLocation(name, frame?.device ?? (this.ctl.stop ? this.ctl.stack.deviceOf(this.ctl.stop.frames, this.ctl.stop.ev) : undefined));
      if (typeof l === 'string') return none(l);
      loc = { addr: l.addr + l.f.offset, size: l.f.size, device: l.device, field: l.field };
    }
    if (loc.size > 16) return none(`${name} is ${loc.size} bytes; data breakpoints watch at most 16`);
    const dataId = `${loc.device ?? 'mem'}|${loc.field ?? ''}|${hexRef(loc.addr)}|${loc.size}`;
    return { dataId, description: dataLabel(loc), accessTypes: ['write'], canPersist: true };
  }

  /** A dataId back to an address (a device's field is looked up again: it may have moved after a restart). */
  resolveDataId(dataId: string): { address: number; size: number; label: string; device?: string; field?: string } | string {
    const m = /^([^|]*)\|([^|]*)\|(0x[0-9a-f]+)\|(\d+)$/i.exec(dataId);
    if (!m) return `'${dataId}' is not a data breakpoint id of this debugger`;
    const device = m[1] === 'mem' ? undefined : m[1];
    const field = m[2] || undefined;
    let address = parseInt(m[3].slice(2), 16);
    let size = Number(m[4]);
    if (device && field && this.ctl.run) {
      const l = this.fieldLocation(`${device}.${field}`, undefined);
      if (typeof l !== 'string') {
        address = l.addr + l.f.offset;
        size = l.f.size;
      }
    }
    return { address, size, label: dataLabel({ addr: address, size, device, field }), device, field };
  }

  // ---- readMemory / writeMemory ----------------------------------------------------------------

  readMemory(a: DebugProtocol.ReadMemoryArguments): DebugProtocol.ReadMemoryResponse['body'] {
    const base = parseAddress(a.memoryReference);
    const offset = Number(a.offset ?? 0);
    const count = Number(a.count ?? 0);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || count < 0) throw new UserError('readMemory: offset and count must be integers, count >= 0');
    const addr = base + offset;
    if (addr < 0) throw new UserError(`readMemory: address ${addr} is negative`);
    const want = Math.min(count, 1 << 20);
    const mem = this.emu.memory;
    const regions = mem.listRegions();
    const r = regions.find((x) => addr >= x.base && addr < x.base + x.size);
    if (!r) {
      const next = regions.find((x) => x.base > addr);
      const gap = next ? next.base - addr : want;
      return { address: hexRef(addr), unreadableBytes: Math.min(want, gap) };
    }
    const n = Math.min(want, r.base + r.size - addr);
    const data = Buffer.from(mem.read(addr, n)).toString('base64');
    let unreadable = 0;
    if (n < want) {
      const after = addr + n;
      const next = regions.find((x) => x.base >= after);
      unreadable = Math.min(want - n, next ? next.base - after : want - n);
    }
    return { address: hexRef(addr), data, ...(unreadable ? { unreadableBytes: unreadable } : {}) };
  }

  writeMemory(a: DebugProtocol.WriteMemoryArguments): DebugProtocol.WriteMemoryResponse['body'] {
    const base = parseAddress(a.memoryReference);
    const offset = Number(a.offset ?? 0);
    if (!Number.isSafeInteger(offset)) throw new UserError('writeMemory: offset must be an integer');
    const text = String(a.data ?? '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s/g, ''))) throw new UserError('writeMemory: data is not base64');
    const bytes = Buffer.from(text, 'base64');
    const addr = base + offset;
    const mem = this.emu.memory;
    if (bytes.length === 0) return { bytesWritten: 0 };
    let n = bytes.length;
    if (!mem.isMapped(addr, n)) {
      const r = mem.listRegions().find((x) => addr >= x.base && addr < x.base + x.size);
      const avail = r ? r.base + r.size - addr : 0;
      if (!a.allowPartial || avail === 0) throw new UserError(`writeMemory: ${hexRef(addr)} +${bytes.length} is not mapped guest memory${avail ? ` (only ${avail} bytes are; set allowPartial)` : ''}`);
      n = avail;
    }
    this.ctl.journal.intervene({ kind: 'mem', pos: { n: 0, w: 0 }, addr, bytes: Uint8Array.from(bytes.subarray(0, n)) });
    return { bytesWritten: n };
  }
}

function dataLabel(l: { addr: number; size: number; device?: string; field?: string }): string {
  if (l.device && l.field) {
    const p = parseDeviceId(l.device);
    const name = p && p !== 'controlvm' && p.dev !== undefined ? `vbus${p.bus}:dev${p.dev}` : l.device;
    return `${name} ${l.field}`;
  }
  return `${hexRef(l.addr)} (${l.size} bytes)`;
}
