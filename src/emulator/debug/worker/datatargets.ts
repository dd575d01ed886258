/**
 * What a data breakpoint can watch: a channel field named by an expression or picked in
 * the Variables view, or a guest address; and its dataId, which names the field again so
 * the watch follows the field after a restart.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ScenarioRun } from '../../scenario/runner';
import type { Emulator } from '../../emulator';
import type { StackView } from './stackview';
import type { StopState } from './stopstate';
import { channelKind, channelTarget, extraLayout, hexRef, parseDeviceId, queueGeometry } from './decode';
import { CHANNEL_HEADER, SIGNAL_QUEUE_HEADER, StructField } from '../../protocol/layout';
import { Node, parseExpression } from './expr';
import { parseAddress } from './guestmemory';

/** What finding data breakpoint targets needs of the worker: a read view of the model and the stop. */
export interface DataTargetHost {
  readonly emu: Emulator;
  readonly run: ScenarioRun | undefined;
  readonly stop: StopState | undefined;
  readonly stack: Pick<StackView, 'deviceOf' | 'frameById'>;
}

/** A Variables view container, as far as data breakpoints care (header and queue fields can be watched). */
export interface FieldOwner {
  kind: string;
  dev?: string;
  q?: number;
}

export class DataTargets {
  constructor(
    private readonly host: DataTargetHost,
    private readonly owner: (variablesReference: number) => FieldOwner | undefined,
  ) {}

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
    const t = channelTarget(this.host.emu, device);
    if (!t) return `device ${device} has no channel`;
    const hm = /^header\.(\w+)$/.exec(n.path);
    if (hm) {
      const f = CHANNEL_HEADER.fields.find((x) => x.name === hm[1]);
      return f ? { addr: t.physaddr, f, device, field: n.path } : `no channel_header field '${hm[1]}'`;
    }
    const qm = /^queue\[(\d+)\]\.(\w+)$/.exec(n.path);
    if (qm) {
      const g = queueGeometry(this.host.emu.memory, t, Number(qm[1]));
      if (!g) return `queue ${qm[1]} does not exist in the channel of ${device}`;
      const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === qm[2]);
      return f ? { addr: t.physaddr + g.offset, f, device, field: n.path } : `no signal_queue_header field '${qm[2]}'`;
    }
    return `'${n.path}' is not in guest memory (use header.<field> or queue[N].<field>)`;
  }

  info(a: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
    const name = String(a.name ?? '');
    const none = (why: string) => ({ dataId: null, description: why });
    if (!this.host.run) return none('no scenario is loaded');
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
      const c = this.owner(Number(a.variablesReference));
      if (!c) return none('the variable is no longer valid');
      if (c.kind === 'header') {
        const t = channelTarget(this.host.emu, c.dev!);
        const f = CHANNEL_HEADER.fields.find((x) => x.name === name) ?? (t ? extraLayout(channelKind(t.typeGuid)).find((x) => x.name === name) : undefined);
        if (!t || !f) return none(`${name} is not a channel field`);
        loc = { addr: t.physaddr + f.offset, size: f.size, device: c.dev!, field: CHANNEL_HEADER.fields.includes(f) ? `header.${name}` : name };
      } else if (c.kind === 'queue') {
        const t = channelTarget(this.host.emu, c.dev!);
        const g = t && queueGeometry(this.host.emu.memory, t, c.q!);
        const f = SIGNAL_QUEUE_HEADER.fields.find((x) => x.name === name);
        if (!t || !g || !f) return none(`${name} is not a signal queue field`);
        loc = { addr: t.physaddr + g.offset + f.offset, size: f.size, device: c.dev!, field: `queue[${c.q}].${name}` };
      } else return none('data breakpoints can be set on channel header and signal queue fields (guest memory)');
    } else {
      const frame = a.frameId !== undefined ? this.host.stack.frameById(Number(a.frameId)) : undefined;
      const l = this.fieldLocation(name, frame?.device ?? (this.host.stop ? this.host.stack.deviceOf(this.host.stop.frames, this.host.stop.ev) : undefined));
      if (typeof l === 'string') return none(l);
      loc = { addr: l.addr + l.f.offset, size: l.f.size, device: l.device, field: l.field };
    }
    if (loc.size > 16) return none(`${name} is ${loc.size} bytes; data breakpoints watch at most 16`);
    const dataId = `${loc.device ?? 'mem'}|${loc.field ?? ''}|${hexRef(loc.addr)}|${loc.size}`;
    return { dataId, description: dataLabel(loc), accessTypes: ['write'], canPersist: true };
  }

  /** A dataId back to an address (a device's field is looked up again: it may have moved after a restart). */
  resolve(dataId: string): { address: number; size: number; label: string; device?: string; field?: string } | string {
    const m = /^([^|]*)\|([^|]*)\|(0x[0-9a-f]+)\|(\d+)$/i.exec(dataId);
    if (!m) return `'${dataId}' is not a data breakpoint id of this debugger`;
    const device = m[1] === 'mem' ? undefined : m[1];
    const field = m[2] || undefined;
    let address = parseInt(m[3].slice(2), 16);
    let size = Number(m[4]);
    if (device && field && this.host.run) {
      const l = this.fieldLocation(`${device}.${field}`, undefined);
      if (typeof l !== 'string') {
        address = l.addr + l.f.offset;
        size = l.f.size;
      }
    }
    return { address, size, label: dataLabel({ addr: address, size, device, field }), device, field };
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
