/**
 * Scopes, variables and setVariable for a stopped model, and the requests whose own parts
 * live beside it: datatargets.ts (data breakpoint targets), guestmemory.ts (readMemory,
 * writeMemory), jsvars.ts (a driver's JavaScript values). Everything is read from guest
 * memory directly (no model events); every change goes through the controller's journal
 * so replays repeat it.
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
import { FieldSource } from './expr';
import { encodeValue } from './valuetext';
import { DataTargets } from './datatargets';
import { GuestMemory } from './guestmemory';
import { JsVars, ro, Var } from './jsvars';
import { busVars, chipsetVars, num, VarHandle } from './modelvars';

export type { Var } from './jsvars';

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

  private readonly targets: DataTargets;
  private readonly memory: GuestMemory;
  private readonly js = new JsVars((value) => this.handle({ kind: 'js', value }));
  private readonly varHandle: VarHandle = (c) => this.handle(c);

  constructor(private readonly ctl: InspectHost) {
    this.targets = new DataTargets(ctl, (ref) => this.handles.get(ref));
    this.memory = new GuestMemory(ctl);
  }

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
    const add = (name: string, c: Container, hint?: string) =>
      scopes.push({ name, variablesReference: this.handle(c), expensive: false, ...(hint ? { presentationHint: hint } : {}) });
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

  private fieldVar(f: Field, t: ChannelTarget, evaluateBase: string | undefined, hex: boolean): Var {
    let value = f.display;
    if (hex && f.layout && ['u8', 'u16', 'u32', 'u64'].includes(f.layout.type) && /^\d+$/.test(f.value))
      value = `0x${BigInt(f.value).toString(16)}${f.display.includes('(') && !/^\d/.test(f.display) ? ` ${f.display}` : ''}`;
    const v: Var = {
      name: f.name,
      value,
      variablesReference: 0,
      type: f.layout
        ? `${f.layout.type}${f.layout.type === 'bytes' || f.layout.type === 'char' ? `[${f.size}]` : ''} @+0x${f.offset.toString(16)}`
        : `@+0x${f.offset.toString(16)}`,
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
        return busVars(this.emu, c.bus, hex, this.varHandle, this.ctl.journal.passively.bind(this.ctl.journal));
      case 'chipset':
        return chipsetVars(this.emu, hex, this.varHandle);
      case 'run':
        return this.runVars();
      case 'object':
        return c.entries();
      case 'js':
        return this.js.children(c.value);
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
      s('channel type', `${d.channelTypeGuid}${GUID_DESCRIPTIONS[d.channelTypeGuid] ? ` (${GUID_DESCRIPTIONS[d.channelTypeGuid]})` : ''}`, {
        evaluateName: `${dev}.typeguid`,
      }),
      s('instance', d.instGuid),
      s('zone', ch.zoneGuid),
      s('channel', `${hexRef(ch.physaddr)} +${num(ch.nbytes, hex)} bytes`, { memoryReference: hexRef(ch.physaddr), evaluateName: `${dev}.physaddr` }),
      s('nbytes', num(ch.nbytes, hex), { evaluateName: `${dev}.nbytes` }),
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
    vars.push(this.js.variable('driverData', d.driverData));
    return vars;
  }

  private runVars(): Var[] {
    const run = this.ctl.run!;
    const e = run.emu.engine;
    const failed = run.expects.filter((r) => !r.pass);
    const counters = run.allCounters();
    const vars: Var[] = [
      ro({
        name: 'time',
        value: `${e.clock.jiffiesToMs(e.jiffies)} ms (${e.jiffies} jiffies at HZ ${e.clock.hz})`,
        variablesReference: 0,
        evaluateName: 'jiffies',
      }),
      ro({ name: 'event', value: String(e.log.count), variablesReference: 0, evaluateName: 'event' }),
      ro({ name: 'scenario', value: `${path.basename(run.scenario.file)}: ${run.index} of ${run.scenario.steps.length} lines started`, variablesReference: 0 }),
      ro({
        name: 'expect',
        value: `${run.expects.length - failed.length} passed, ${failed.length} failed`,
        variablesReference: run.expects.length
          ? this.handle({
              kind: 'object',
              label: 'expect',
              entries: () =>
                run.expects.map((r) =>
                  ro({
                    name: `line ${r.line}`,
                    value: `${r.pass ? 'ok' : 'FAILED'}: ${r.subject} ${r.op} ${r.expected} (actual: ${r.actual})`,
                    variablesReference: 0,
                  }),
                ),
            })
          : 0,
      }),
      ro({ name: 'errors', value: run.errors.length ? run.errors.map((x) => `line ${x.line}: ${x.message}`).join('; ') : '(none)', variablesReference: 0 }),
      ro({
        name: 'counters',
        value: `${Object.keys(counters).length} counter(s)`,
        variablesReference: this.handle({
          kind: 'object',
          label: 'counters',
          entries: () => Object.entries(counters).map(([k, v]) => ro({ name: k, value: String(v), variablesReference: 0 })),
        }),
      }),
      ro({ name: 'trace checksum', value: `0x${e.log.checksum.toString(16).padStart(8, '0')}`, variablesReference: 0 }),
    ];
    return vars;
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
        if (f)
          fieldInfo = {
            addr: t.physaddr,
            f: {
              name: f.name,
              offset: f.offset,
              size: f.size,
              type: /^\d+$/.test(f.value) && f.size <= 8 ? (['u8', 'u16', 'u16', 'u32', 'u32', 'u64', 'u64', 'u64', 'u64'] as const)[f.size] : 'bytes',
              writable: true,
            },
          };
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

  // ---- data breakpoints and guest memory (datatargets.ts, guestmemory.ts) ----------------------

  /** Where a field expression (`2:0.queue[0].head`, `header.size` with a default device) lives in memory. */
  fieldLocation(expr: string, defaultDevice: string | undefined): { addr: number; f: StructField; device: string; field: string } | string {
    return this.targets.fieldLocation(expr, defaultDevice);
  }

  dataBreakpointInfo(a: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
    return this.targets.info(a);
  }

  resolveDataId(dataId: string): { address: number; size: number; label: string; device?: string; field?: string } | string {
    return this.targets.resolve(dataId);
  }

  readMemory(a: DebugProtocol.ReadMemoryArguments): DebugProtocol.ReadMemoryResponse['body'] {
    return this.memory.read(a);
  }

  writeMemory(a: DebugProtocol.WriteMemoryArguments): DebugProtocol.WriteMemoryResponse['body'] {
    return this.memory.write(a);
  }
}
