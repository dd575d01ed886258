/**
 * Breakpoints of every kind, with their conditions, hit counts and log messages:
 * scenario-line breakpoints, function breakpoints on driver callbacks, exception
 * filters over the model's error events, and data breakpoints on guest memory.
 */
import type { EmuEvent, Frame } from '../../engine/events';
import { EXCEPTION_FILTERS, ExceptionFilterId } from '../workerlink';
import { ExprError, Node, parseExpression } from './expr';

export const CALLBACKS = ['probe', 'remove', 'pause', 'resume', 'channel_interrupt'] as const;

/** `== N`, `>= N`, `% N` ... over the hit count. */
export interface HitCondition {
  op: '==' | '>=' | '>' | '<' | '<=' | '%';
  n: number;
}

export function parseHitCondition(text: string): HitCondition {
  const m = /^\s*(==|=|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ExprError(`hit count '${text}' is not understood (use N, == N, >= N, > N, < N, <= N or % N)`);
  const op = (m[1] === '=' || !m[1] ? '==' : m[1]) as HitCondition['op'];
  const n = Number(m[2]);
  if (op === '%' && n === 0) throw new ExprError('% 0 is not a hit count');
  return { op, n };
}

export function hitMatches(h: HitCondition, hits: number): boolean {
  switch (h.op) {
    case '==':
      return hits === h.n;
    case '>=':
      return hits >= h.n;
    case '>':
      return hits > h.n;
    case '<':
      return hits < h.n;
    case '<=':
      return hits <= h.n;
    case '%':
      return hits % h.n === 0;
  }
}

/** The parts of a log message: text, and `{expression}` holes. */
export type LogPart = string | { expr: Node; text: string };

export function parseLogMessage(msg: string): LogPart[] {
  const out: LogPart[] = [];
  let i = 0;
  let lit = '';
  while (i < msg.length) {
    const c = msg[i];
    if (c === '{' && msg[i + 1] === '{') {
      lit += '{';
      i += 2;
    } else if (c === '}' && msg[i + 1] === '}') {
      lit += '}';
      i += 2;
    } else if (c === '{') {
      const end = msg.indexOf('}', i);
      if (end < 0) throw new ExprError(`log message: '{' at ${i + 1} is not closed`);
      if (lit) out.push(lit);
      lit = '';
      const text = msg.slice(i + 1, end);
      out.push({ expr: parseExpression(text), text });
      i = end + 1;
    } else {
      lit += c;
      i++;
    }
  }
  if (lit) out.push(lit);
  return out;
}

/** What every breakpoint kind shares. */
export interface BpBase {
  id: number;
  condition?: Node;
  conditionText?: string;
  hit?: HitCondition;
  log?: LogPart[];
  hits: number;
  verified: boolean;
  message?: string;
}

export interface LineBp extends BpBase {
  requestedLine: number;
  line: number;
}

export interface FunctionBp extends BpBase {
  name: string;
  callback: string;
  driver?: string;
  /** "2:0" */
  device?: string;
}

export interface ExceptionBp {
  filter: ExceptionFilterId;
  condition?: Node;
  conditionText?: string;
  hits: number;
}

export interface DataBp extends BpBase {
  dataId: string;
  address: number;
  size: number;
  label: string;
  device?: string;
  field?: string;
  /** Last value seen at the address (undefined: not mapped yet). */
  last?: bigint;
}

/** Common option parsing; throws ExprError with a user-facing message. */
export function parseOptions(o: {
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}): Pick<BpBase, 'condition' | 'conditionText' | 'hit' | 'log'> {
  const out: Pick<BpBase, 'condition' | 'conditionText' | 'hit' | 'log'> = {};
  if (o.condition && o.condition.trim()) {
    try {
      out.condition = parseExpression(o.condition);
    } catch (e) {
      throw new ExprError(`condition: ${(e as Error).message}`);
    }
    out.conditionText = o.condition;
  }
  if (o.hitCondition && o.hitCondition.trim()) out.hit = parseHitCondition(o.hitCondition);
  if (o.logMessage !== undefined && o.logMessage !== '') {
    try {
      out.log = parseLogMessage(o.logMessage);
    } catch (e) {
      throw new ExprError(`log message: ${(e as Error).message}`);
    }
  }
  return out;
}

/** `probe`, `visorhba.probe`, `vbus2:dev0.probe`, `2:0.channel_interrupt`. */
export function parseFunctionName(name: string): { callback: string; driver?: string; device?: string } | string {
  const t = name.trim();
  const m = /^(?:(.+)\.)?([A-Za-z_]+)$/.exec(t);
  const cbRaw = m?.[2];
  const cb = cbRaw === 'channelInterrupt' ? 'channel_interrupt' : cbRaw;
  if (!m || !cb || !(CALLBACKS as readonly string[]).includes(cb)) {
    return `'${t}' is not a driver callback; use one of ${CALLBACKS.join(', ')}, optionally qualified by a driver (visorhba.probe) or a device (vbus2:dev0.probe)`;
  }
  const q = m[1];
  if (q === undefined) return { callback: cb };
  const dm = /^vbus(\d+):dev(\d+)$/.exec(q) ?? /^(\d+):(\d+)$/.exec(q);
  if (dm) return { callback: cb, device: `${Number(dm[1])}:${Number(dm[2])}` };
  if (/^[A-Za-z_][\w-]*$/.test(q)) return { callback: cb, driver: q };
  return `'${q}' is neither a driver name nor a device (vbusB:devD or B:D)`;
}

export function functionBpMatches(bp: FunctionBp, ev: EmuEvent): boolean {
  if (ev.kind !== 'call' || !ev.data) return false;
  if (ev.data.callback !== bp.callback) return false;
  if (bp.driver !== undefined && ev.data.driver !== bp.driver) return false;
  if (bp.device !== undefined && ev.data.device !== bp.device) return false;
  return true;
}

function innermostDriver(frames: readonly Frame[]): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) if (frames[i].kind === 'driver') return frames[i];
  return undefined;
}

const EAGAIN = 11;

/** Ordinary events belong to no filter: one shared empty list (this runs at every event). */
const NONE: readonly ExceptionFilterId[] = Object.freeze([]);

/** The innermost frame is a driver callback other than pause() and resume(). */
function notPauseResume(frames: readonly Frame[]): boolean {
  const top = frames[frames.length - 1];
  return top !== undefined && top.kind === 'driver' && top.callback !== 'pause' && top.callback !== 'resume';
}

/** The last event asked about and its answer: the timeline and the breakpoint book ask about the same event. */
let lastEvent: EmuEvent | undefined;
let lastFilters: readonly ExceptionFilterId[] = NONE;

/** Which exception filters an event belongs to (empty for ordinary events). */
export function exceptionFiltersOf(ev: EmuEvent, frames: readonly Frame[]): readonly ExceptionFilterId[] {
  if (ev !== lastEvent) {
    lastFilters = filtersOf(ev, frames);
    lastEvent = ev;
  }
  return lastFilters;
}

function filtersOf(ev: EmuEvent, frames: readonly Frame[]): readonly ExceptionFilterId[] {
  const d = ev.data;
  switch (ev.kind) {
    case 'error': {
      const cat = d?.category;
      if (cat === 'probe') return ['probe'];
      if (cat === 'controlvm') return ['controlvm'];
      if (cat === 'overflow') return ['overflow'];
      if (cat === 'expect') return ['expect'];
      if (cat === 'oops') return ['kernelOops'];
      if (cat === 'exception') {
        const cb = d?.callback;
        const out: ExceptionFilterId[] = ['driverError'];
        if (cb === 'probe') out.push('probe');
        else if (cb === 'pause' || cb === 'resume') out.push('pauseResume');
        else if (cb === 'channel_interrupt') out.push('channelInterrupt');
        return out;
      }
      if (cat === 'driver') {
        const out: ExceptionFilterId[] = ['driverError'];
        if (innermostDriver(frames)?.callback === 'channel_interrupt') out.push('channelInterrupt');
        return out;
      }
      return NONE;
    }
    case 'log':
      return d?.category === 'pausedAccess' ? ['pausedAccess'] : NONE;
    case 'return':
      // Only pause() and resume() can fail here. The returning driver's frame is the innermost
      // (drivercall.ts, channelinterrupt.ts): a poll's return is known without its data.
      if (notPauseResume(frames)) return NONE;
      // A return after a throw: the exception event is that failure's report.
      if (d?.threw) return NONE;
      if ((d?.callback === 'pause' || d?.callback === 'resume') && typeof d.result === 'number' && d.result < 0) return ['pauseResume'];
      return NONE;
    case 'complete':
      if (typeof d?.status === 'number' && d.status < 0) return ['pauseResume'];
      return NONE;
    case 'channel':
      if (typeof d?.result === 'number' && d.result < 0 && d.result !== -EAGAIN && innermostDriver(frames)?.callback === 'channel_interrupt')
        return ['channelInterrupt'];
      return NONE;
    default:
      return NONE;
  }
}

export function filterLabel(id: string): string {
  return EXCEPTION_FILTERS.find((f) => f.filter === id)?.label ?? id;
}
