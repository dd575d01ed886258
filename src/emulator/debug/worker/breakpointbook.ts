/**
 * The breakpoints of a session and their evaluation: line breakpoints in the scenario,
 * function breakpoints on driver callbacks, exception filters and data breakpoints, as the
 * client set them; whether an event or a memory write hits one (conditions, hit counts,
 * log messages); and the stop that a hit means. Parsing and matching helpers live in
 * breakpoints.ts.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import type { Scenario } from '../../scenario/ast';
import type { EmuEvent, Frame } from '../../engine/events';
import { EXCEPTION_FILTERS, ExceptionFilterId } from '../workerlink';
import type { Link } from './link';
import type { Output } from './output';
import { ExprContext, FieldSource, Node, evaluate, formatValue, modelContext, truthy } from './expr';
import {
  DataBp,
  ExceptionBp,
  FunctionBp,
  LineBp,
  LogPart,
  exceptionFiltersOf,
  filterLabel,
  functionBpMatches,
  hitMatches,
  parseFunctionName,
  parseOptions,
} from './breakpoints';
import { Loc, innermostDriver, throwLocation } from './stack';
import { isBuiltinDriverName } from '../../drivers/names';
import type { StopInfo } from './stopstate';

/** What the breakpoints need to know about the session (the controller). */
export interface BookHost extends FieldSource {
  readonly link: Link;
  readonly scenario: Scenario | undefined;
  readonly inspector: { resolveDataId(dataId: string): { address: number; size: number; label: string; device?: string; field?: string } | string };
  /** The event number of the latest scenario line (one exception stop per filter, device and line). */
  lastStepN(): number | undefined;
}

export class BreakpointBook {
  lineBps: LineBp[] = [];
  functionBps: FunctionBp[] = [];
  exceptionBps: ExceptionBp[] = EXCEPTION_FILTERS.filter((f) => f.default).map((f) => ({ filter: f.filter, hits: 0 }));
  dataBps: DataBp[] = [];
  private nextBpId = 1;
  /** Conditions that failed to evaluate, reported once each. */
  private readonly warned = new Set<string>();
  /** What a driver callback threw last (its stack locates the exception stop). */
  private lastThrow: { error: unknown; stack?: string } | undefined;

  constructor(
    private readonly host: BookHost,
    private readonly out: Output,
    private readonly devices: { deviceOf(frames: readonly Frame[], ev?: EmuEvent): string | undefined },
  ) {}

  /** A new run: hit counts start again. */
  newRun(): void {
    for (const bp of [...this.lineBps, ...this.functionBps, ...this.dataBps]) bp.hits = 0;
    for (const bp of this.exceptionBps) bp.hits = 0;
  }

  /** The values data breakpoints compare against (at the start of a run). */
  readDataValues(): void {
    for (const bp of this.dataBps) bp.last = this.readData(bp);
  }

  /** The client detached: no breakpoint applies any more. */
  clear(): void {
    this.lineBps = [];
    this.functionBps = [];
    this.exceptionBps = [];
    this.dataBps = [];
  }

  noteThrow(e: unknown): void {
    this.lastThrow = { error: e, stack: e instanceof Error ? e.stack : undefined };
  }

  /** Condition, hit count and log message of a breakpoint; true when it stops. */
  private evalBp(
    bp: { id?: number; condition?: Node; conditionText?: string; hit?: { op: '==' | '>=' | '>' | '<' | '<=' | '%'; n: number }; log?: LogPart[]; hits: number },
    ctx: ExprContext,
    silent: boolean,
    line?: number,
  ): boolean {
    if (bp.condition) {
      try {
        if (!truthy(evaluate(bp.condition, ctx))) return false;
      } catch (e) {
        const key = `${bp.id ?? 'x'}:${bp.conditionText}`;
        if (!silent && !this.warned.has(key)) {
          this.warned.add(key);
          this.out.output('stderr', `Breakpoint condition '${bp.conditionText}' could not be evaluated here (${(e as Error).message}); it counts as false.\n`);
        }
        return false;
      }
    }
    bp.hits++;
    if (bp.hit && !hitMatches(bp.hit, bp.hits)) return false;
    if (bp.log) {
      if (!silent) {
        const text = bp.log
          .map((p) => {
            if (typeof p === 'string') return p;
            try {
              const v = evaluate(p.expr, ctx);
              return typeof v === 'string' ? v : formatValue(v);
            } catch (e) {
              return `<${p.text}: ${(e as Error).message}>`;
            }
          })
          .join('');
        this.out.output('console', text + '\n', line);
      }
      return false;
    }
    return true;
  }

  /** Line, function and exception breakpoints at an event. */
  checkBreakpoints(ev: EmuEvent, frames: readonly Frame[], silent: boolean): StopInfo | undefined {
    let ctx: ExprContext | undefined;
    const context = () => (ctx ??= modelContext(this.host, this.devices.deviceOf(frames, ev), ev, frames));
    if (ev.kind === 'step' && this.lineBps.length) {
      const line = Number(ev.data?.line);
      const ids: number[] = [];
      for (const bp of this.lineBps) if (bp.verified && bp.line === line && this.evalBp(bp, context(), silent, line)) ids.push(bp.id);
      if (ids.length) return { reason: 'breakpoint', description: `Breakpoint at line ${line}: ${ev.text.replace(/^line \d+: /, '')}`, hitBreakpointIds: ids };
    }
    if (ev.kind === 'call' && this.functionBps.length) {
      const ids: number[] = [];
      let name = '';
      for (const bp of this.functionBps) {
        if (bp.verified && functionBpMatches(bp, ev) && this.evalBp(bp, context(), silent)) {
          ids.push(bp.id);
          name ||= bp.name;
        }
      }
      if (ids.length) return { reason: 'function breakpoint', description: `Function breakpoint ${name}: ${ev.text}`, hitBreakpointIds: ids };
    }
    if (this.exceptionBps.length && (ev.kind === 'error' || ev.kind === 'return' || ev.kind === 'complete' || ev.kind === 'channel' || ev.kind === 'log')) {
      const filters = exceptionFiltersOf(ev, frames);
      for (const f of filters) {
        const bp = this.exceptionBps.find((b) => b.filter === f);
        if (!bp) continue;
        // Each failure is one event here (a throw's failed return is not a second one), so
        // every failure stops, even several on one scenario line.
        if (!this.evalBp(bp, context(), silent)) continue;
        return this.exceptionStop(f, ev);
      }
    }
    return undefined;
  }

  private exceptionStop(f: ExceptionFilterId, ev: EmuEvent): StopInfo {
    const label = filterLabel(f);
    let message = ev.text;
    let typeName: string = f;
    let stack: string | undefined;
    let throwLoc: Loc | undefined;
    if (ev.kind === 'error' && ev.data?.category === 'exception' && this.lastThrow) {
      const t = this.lastThrow;
      this.lastThrow = undefined;
      const err = t.error;
      message = err instanceof Error ? err.message : String(err);
      typeName = err instanceof Error ? err.name : typeof err;
      stack = t.stack;
      throwLoc = throwLocation(t.stack);
    } else if (ev.kind === 'return') message = `${ev.text} (${ev.data?.callback} failed)`;
    else if (ev.data?.category === 'oops') {
      // The oops report (faulting access, queue header values) is the exception's details.
      typeName = 'kernel oops';
      stack = String(ev.data.report);
    }
    const description = `${label}: ${ev.text}`;
    return { reason: 'exception', description, text: message, exception: { id: f, description, message, typeName, stack, throwLoc } };
  }

  private readData(bp: DataBp): bigint | undefined {
    const mem = this.host.run?.emu.memory;
    if (!mem || !mem.isMapped(bp.address, bp.size)) return undefined;
    const b = mem.read(bp.address, bp.size);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }

  checkDataBps(addr: number, len: number, silent: boolean): StopInfo | undefined {
    let info: StopInfo | undefined;
    for (const bp of this.dataBps) {
      if (!bp.verified || addr >= bp.address + bp.size || addr + len <= bp.address) continue;
      const v = this.readData(bp);
      const old = bp.last;
      bp.last = v;
      if (old === undefined || v === undefined || v === old) continue;
      const frames = this.host.run!.emu.engine.log.frames;
      if (!this.evalBp(bp, modelContext(this.host, bp.device ?? this.devices.deviceOf(frames), undefined, frames), silent)) continue;
      if (info) {
        info.hitBreakpointIds!.push(bp.id);
        continue;
      }
      const drv = innermostDriver(frames);
      const by = drv ? drv.name : frames.length ? frames[frames.length - 1].name : 'the scenario';
      const text = `${bp.label}: ${old} → ${v}`;
      info = { reason: 'data breakpoint', description: `Data breakpoint ${text} (written by ${by})`, text, hitBreakpointIds: [bp.id] };
    }
    return info;
  }

  setBreakpoints(a: DebugProtocol.SetBreakpointsArguments): DebugProtocol.SetBreakpointsResponse['body'] {
    const source = (a.source ?? {}) as { path?: string; name?: string };
    // One answer per requested breakpoint, in order, whatever the client sent in each entry.
    const reqs = (Array.isArray(a.breakpoints) ? a.breakpoints : Array.isArray(a.lines) ? (a.lines as number[]).map((line) => ({ line })) : []).map(
      (r: unknown) => (r && typeof r === 'object' ? r : {}),
    ) as {
      line: number;
      condition?: string;
      hitCondition?: string;
      logMessage?: string;
    }[];
    const file = typeof source.path === 'string' && source.path ? path.resolve(source.path) : undefined;
    const ours = !!file && !!this.host.scenario && samePath(file, this.host.scenario.file);
    const created: LineBp[] = [];
    const out = reqs.map((r) => {
      const id = this.nextBpId++;
      if (!ours) {
        const why = !this.host.scenario
          ? 'no scenario is loaded yet'
          : /\.visor$/i.test(file ?? source.name ?? '')
            ? `this is not the scenario being debugged (${path.basename(this.host.scenario.file)})`
            : 'line breakpoints work in the scenario (.visor) only; to stop in a driver use a function breakpoint such as probe or visorhba.probe';
        return { id, verified: false, line: r.line, message: why };
      }
      const bp: LineBp = { id, requestedLine: r.line, line: r.line, hits: 0, verified: false };
      try {
        Object.assign(bp, parseOptions(r));
      } catch (e) {
        bp.message = (e as Error).message;
        created.push(bp);
        return { id, verified: false, line: r.line, message: bp.message };
      }
      created.push(bp);
      this.verifyLineBp(bp);
      return this.lineBpBody(bp);
    });
    if (ours) this.lineBps = created;
    return { breakpoints: out };
  }

  private lineBpBody(bp: LineBp): DebugProtocol.Breakpoint {
    return {
      id: bp.id,
      verified: bp.verified,
      line: bp.line,
      ...(bp.message ? { message: bp.message } : {}),
      ...(this.host.scenario ? { source: { name: path.basename(this.host.scenario.file), path: this.host.scenario.file } } : {}),
    };
  }

  private verifyLineBp(bp: LineBp): void {
    if (bp.condition === undefined && bp.message && bp.message.startsWith('condition')) return;
    const steps = this.host.scenario!.steps;
    const next = steps.find((s) => s.loc.line >= bp.requestedLine);
    if (!next) {
      bp.verified = false;
      bp.line = bp.requestedLine;
      bp.message = steps.length
        ? `line ${bp.requestedLine} is past the last command of the scenario (line ${steps[steps.length - 1].loc.line})`
        : 'the scenario has no commands';
      return;
    }
    bp.verified = true;
    bp.line = next.loc.line;
    bp.message = undefined;
  }

  /** After a restart the scenario may have changed: re-place the line breakpoints and tell the client. */
  verifyLineBps(announce: boolean): void {
    for (const bp of this.lineBps) {
      const before = `${bp.verified}:${bp.line}`;
      if (bp.message?.startsWith('condition') || bp.message?.startsWith('log message') || bp.message?.startsWith('hit count')) continue;
      this.verifyLineBp(bp);
      if (announce && before !== `${bp.verified}:${bp.line}`) this.host.link.event('breakpoint', { reason: 'changed', breakpoint: this.lineBpBody(bp) });
    }
  }

  breakpointLocations(a: DebugProtocol.BreakpointLocationsArguments): DebugProtocol.BreakpointLocationsResponse['body'] {
    const source = (a.source ?? {}) as { path?: string };
    const line = Number(a.line);
    const endLine = a.endLine === undefined ? line : Number(a.endLine);
    if (!this.host.scenario || typeof source.path !== 'string' || !source.path || !samePath(path.resolve(source.path), this.host.scenario.file))
      return { breakpoints: [] };
    return {
      breakpoints: this.host.scenario.steps.filter((s) => s.loc.line >= line && s.loc.line <= endLine).map((s) => ({ line: s.loc.line, column: s.loc.column })),
    };
  }

  setFunctionBreakpoints(a: DebugProtocol.SetFunctionBreakpointsArguments): DebugProtocol.SetFunctionBreakpointsResponse['body'] {
    const reqs = (Array.isArray(a.breakpoints) ? a.breakpoints : []) as { name: string; condition?: string; hitCondition?: string }[];
    const list: FunctionBp[] = [];
    const out = reqs.map((r) => {
      const id = this.nextBpId++;
      const parsed = parseFunctionName(String(r.name ?? ''));
      if (typeof parsed === 'string') return { id, verified: false, message: parsed };
      const bp: FunctionBp = { id, name: String(r.name).trim(), ...parsed, hits: 0, verified: true };
      try {
        Object.assign(bp, parseOptions(r));
      } catch (e) {
        return { id, verified: false, message: (e as Error).message };
      }
      if (bp.driver && this.host.run && !this.knownDriver(bp.driver))
        bp.message = `no driver named '${bp.driver}' is loaded yet; the breakpoint applies when it is`;
      list.push(bp);
      return { id, verified: true, ...(bp.message ? { message: bp.message } : {}) };
    });
    this.functionBps = list;
    return { breakpoints: out };
  }

  private knownDriver(name: string): boolean {
    const emu = this.host.run?.emu;
    if (emu?.bus.drivers.has(name)) return true;
    if (isBuiltinDriverName(name)) return true;
    return !!this.host.scenario?.steps.some(
      (s) => s.command.kind === 'driverLoad' && (s.command.name === name || path.basename(s.command.name).replace(/\.[jt]s$/, '') === name),
    );
  }

  setExceptionBreakpoints(a: DebugProtocol.SetExceptionBreakpointsArguments): DebugProtocol.SetExceptionBreakpointsResponse['body'] {
    const filters = (Array.isArray(a.filters) ? a.filters : []) as string[];
    const options = (Array.isArray(a.filterOptions) ? a.filterOptions : []) as { filterId: string; condition?: string }[];
    const known = new Set<string>(EXCEPTION_FILTERS.map((f) => f.filter));
    const list: ExceptionBp[] = [];
    const out: { verified: boolean; message?: string }[] = [];
    for (const f of filters) {
      if (!known.has(f)) {
        out.push({ verified: false, message: `unknown exception filter '${f}'` });
        continue;
      }
      list.push({ filter: f as ExceptionFilterId, hits: 0 });
      out.push({ verified: true });
    }
    for (const o of options) {
      if (!known.has(o.filterId)) {
        out.push({ verified: false, message: `unknown exception filter '${o.filterId}'` });
        continue;
      }
      const bp: ExceptionBp = { filter: o.filterId as ExceptionFilterId, hits: 0 };
      try {
        Object.assign(bp, parseOptions({ condition: o.condition }));
        out.push({ verified: true });
      } catch (e) {
        out.push({ verified: false, message: (e as Error).message });
        continue;
      }
      const i = list.findIndex((b) => b.filter === bp.filter);
      if (i >= 0) list[i] = bp;
      else list.push(bp);
    }
    this.exceptionBps = list;
    return { breakpoints: out };
  }

  setDataBreakpoints(a: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.SetDataBreakpointsResponse['body'] {
    const reqs = (Array.isArray(a.breakpoints) ? a.breakpoints : []) as { dataId: string; accessType?: string; condition?: string; hitCondition?: string }[];
    const list: DataBp[] = [];
    const out = reqs.map((r) => {
      const id = this.nextBpId++;
      if (r.accessType && r.accessType !== 'write') return { id, verified: false, message: `only write data breakpoints are supported (not ${r.accessType})` };
      const target = this.host.inspector.resolveDataId(String(r.dataId ?? ''));
      if (typeof target === 'string') return { id, verified: false, message: target };
      const bp: DataBp = { id, dataId: r.dataId, ...target, hits: 0, verified: true };
      try {
        Object.assign(bp, parseOptions(r));
      } catch (e) {
        return { id, verified: false, message: (e as Error).message };
      }
      bp.last = this.readData(bp);
      list.push(bp);
      return { id, verified: true, description: bp.label };
    });
    this.dataBps = list;
    return { breakpoints: out };
  }
}

function samePath(a: string, b: string): boolean {
  return process.platform === 'win32' || process.platform === 'darwin' ? a.toLowerCase() === b.toLowerCase() : a === b;
}
