/**
 * The stopped model as the client sees it: threads, the presented frames of a stop (model
 * frames with their real source locations, a label for threads that are idle), exception
 * details, and the sources behind the frames. Also which device a frame or event is about,
 * the default for conditions, the Variables view and the Debug Console.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ScenarioRun } from '../../scenario/runner';
import type { Scenario } from '../../scenario/ast';
import { EmuEvent, Frame, THREAD } from '../../engine/events';
import type { WorkerState } from '../workerlink';
import type { Link } from './link';
import { Loc, Sources, callbackFunction, classify, functionLocation, innermostDriver, locateModelFrames, selfFile } from './stack';
import { StopState, UserError } from './stopstate';
import { ThreadList } from './threadlist';
import { MAX_SOURCE_BYTES } from '../../limits';

/** A source file's text: a regular file only (a FIFO or device is refused without blocking), at most MAX_SOURCE_BYTES. */
function readSourceFile(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UserError(`source: ${file} is not a regular file`);
    if (st.size > MAX_SOURCE_BYTES) throw new UserError(`source: ${file} is ${st.size} bytes, more than the ${MAX_SOURCE_BYTES >> 20} MiB a source may have`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = fs.readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A frame as the client sees it. */
export interface PFrame {
  id: number;
  name: string;
  thread: number;
  model?: Frame;
  /** The device this frame acts on ("2:0", "2", "controlvm"). */
  device?: string;
  loc?: Loc;
  scenarioLine?: number;
  label?: boolean;
}

/** What the stack view needs to know about the session (the controller). */
export interface StackHost {
  readonly link: Link;
  readonly detached: boolean;
  readonly run: ScenarioRun | undefined;
  readonly scenario: Scenario | undefined;
  readonly state: WorkerState;
  readonly stop: StopState | undefined;
}

export class StackView {
  readonly sources = new Sources();
  private sentThreads = new Set<number>();

  constructor(private readonly host: StackHost) {}

  /** The device an event is about, for conditions and the Variables view. */
  deviceOf(frames: readonly Frame[], ev?: EmuEvent): string | undefined {
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (f.device) return f.device;
      if (f.kind === 'scenario' && f.line !== undefined) {
        const d = this.stepDevice(f.line);
        if (d) return d;
      }
    }
    if (ev) {
      const m = /^vbus(\d+):dev(\d+)$/.exec(ev.subject);
      if (m) return `${m[1]}:${m[2]}`;
      if (ev.subject === 'controlvm') return 'controlvm';
    }
    return undefined;
  }

  /** The device a scenario line's command names. */
  stepDevice(line: number): string | undefined {
    const step = this.host.scenario?.steps.find((s) => s.loc.line === line);
    if (!step) return undefined;
    const c = step.command as unknown as Record<string, unknown>;
    const d = (c.device ?? (c.target as Record<string, unknown> | undefined)?.device) as { bus: number; dev: number } | 'controlvm' | undefined;
    if (d === 'controlvm') return 'controlvm';
    if (d && typeof d === 'object') return `${d.bus}:${d.dev}`;
    if (typeof c.bus === 'number') return `${c.bus}`;
    return undefined;
  }

  /** The driver's own callback function (unwrapped), for its source location. */
  driverFunction(driver: string | undefined, callback: string | undefined): ((...a: never[]) => unknown) | undefined {
    const run = this.host.run;
    if (!driver || !callback || !run) return undefined;
    return callbackFunction(run.emu.bus.drivers.get(driver), callback);
  }

  private readonly threadList = new ThreadList();

  /** A bus or device came or went: the thread list is found again. */
  topologyChanged(): void {
    this.threadList.topologyChanged();
  }

  threads(): DebugProtocol.Thread[] {
    if (!this.host.run) return [];
    const st = this.host.stop;
    return this.threadList.threads(this.host.run, st ? [st.threadId, ...st.frames.map((f) => f.thread)] : []);
  }

  /** The list the client was last told about (the same array: nothing to tell). */
  private announced: DebugProtocol.Thread[] | undefined;

  announceThreads(): void {
    if (this.host.detached) return;
    const list = this.threads();
    if (list === this.announced) return;
    this.announced = list;
    const now = new Set(list.map((t) => t.id));
    for (const id of now) if (!this.sentThreads.has(id)) this.host.link.event('thread', { reason: 'started', threadId: id });
    for (const id of this.sentThreads) if (!now.has(id)) this.host.link.event('thread', { reason: 'exited', threadId: id });
    this.sentThreads = now;
  }

  private pframes: PFrame[] | undefined;
  private pframesStop = -1;

  /** The presented frames of the current stop (all threads), built once per stop. */
  presentedFrames(): PFrame[] {
    const st = this.host.stop;
    if (!st) return [];
    if (this.pframes && this.pframesStop === st.id) return this.pframes;
    const locs = locateModelFrames(st.js, st.frames);
    const out: PFrame[] = [];
    let id = st.id * 10000;
    for (let i = 0; i < st.frames.length; i++) {
      const f = st.frames[i];
      if (f.kind === 'timer' && i < st.frames.length - 1) continue;
      let loc = locs[i];
      if (f.kind === 'driver') {
        if (st.exception?.throwLoc && innermostDriver(st.frames) === f) loc = st.exception.throwLoc;
        if (!loc) {
          const fn = this.driverFunction(f.driver, f.callback);
          const file = f.driver ? this.host.run?.emu.driverFiles.get(f.driver) : undefined;
          if (fn) loc = functionLocation(fn, file ? [file] : [selfFile]);
        }
      }
      const pf: PFrame = {
        id: ++id,
        name: this.frameName(f),
        thread: f.thread,
        model: f,
        device: f.device ?? (f.kind === 'scenario' && f.line !== undefined ? this.stepDevice(f.line) : undefined),
        loc,
        scenarioLine: f.kind === 'scenario' ? f.line : undefined,
      };
      if (f.kind === 'chipset' && !pf.device && st.ev?.data && typeof st.ev.data.bus === 'number') {
        const d = st.ev.data.dev;
        pf.device = typeof d === 'number' && d !== 0xffffffff ? `${st.ev.data.bus}:${d}` : `${st.ev.data.bus}`;
      }
      out.push(pf);
    }
    if (!st.ev && !st.topLevel) {
      // Stopped at a memory write (data breakpoint): the code that wrote is the top frame.
      const w = st.js.find((j) => {
        const c = classify(j);
        // The memory accessors (guest memory, a queue header's window) are not the writer: their caller is.
        return (c === 'engine' || c === 'driver') && !/[\\/](memory[\\/]guestmemory|visorchannel[\\/]queuewindow)\.ts$/.test(j.file);
      });
      if (w)
        out.push({
          id: ++id,
          name: `write: ${st.text ?? 'guest memory'}`,
          thread: st.threadId,
          device: out[out.length - 1]?.device,
          loc: { file: w.file, line: w.line, column: w.column, fn: w.fn },
        });
    }
    out.reverse();
    this.pframes = out;
    this.pframesStop = st.id;
    return out;
  }

  private frameName(f: Frame): string {
    switch (f.kind) {
      case 'scenario':
        return f.name;
      case 'chipset':
        return `visorchipset: ${f.name}`;
      case 'bus':
        return `visorbus: ${f.name}`;
      case 'timer':
        return `timer: ${f.name}`;
      case 'backend':
        return `back-end: ${f.name}`;
      default:
        return f.name;
    }
  }

  frameById(id: number): PFrame | undefined {
    return this.presentedFrames().find((f) => f.id === id);
  }

  stackTrace(a: DebugProtocol.StackTraceArguments): DebugProtocol.StackTraceResponse['body'] {
    const st = this.host.stop;
    if (!st)
      throw new UserError(this.host.state === 'running' ? 'the scenario is running: pause it to see the stack' : 'not stopped: there is no stack to show');
    const threadId = a.threadId;
    if (typeof threadId !== 'number' || !this.threads().some((t) => t.id === threadId))
      throw new UserError(`stackTrace: unknown thread ${JSON.stringify(threadId) ?? String(threadId)} (see the threads request)`);
    const all = this.presentedFrames();
    let frames = threadId === st.threadId ? all : all.filter((f) => f.thread === threadId);
    if (!frames.length) {
      const label: PFrame = { id: st.id * 10000 + 9000 + (threadId % 1000), name: this.idleText(threadId), thread: threadId, label: true };
      frames = [label];
      this.pframes!.push(label);
    }
    const start = Math.max(0, Number(a.startFrame ?? 0) || 0);
    const levels = Number(a.levels ?? 0) || frames.length;
    const page = frames.slice(start, start + levels);
    return { stackFrames: page.map((f) => this.dapFrame(f)), totalFrames: frames.length };
  }

  private idleText(threadId: number): string {
    const emu = this.host.run?.emu;
    if (!emu) return 'idle';
    if (threadId >= 1000 && threadId < 100000) {
      const bus = threadId - 1000;
      const polling = emu.bus.devicesOn(bus).filter((d) => d.timerActive);
      return polling.length ? `idle: polling ${polling.map((d) => d.name).join(', ')} every ${emu.bus.pollJiffies} jiffies` : 'idle: no device polled';
    }
    if (threadId === THREAD.controlvm) return emu.chipset.polling ? 'idle: waiting for the next controlvm poll' : 'idle';
    if (threadId === THREAD.scenario) return `waiting at line ${this.host.run?.current?.loc.line ?? 'end'}`;
    return 'idle';
  }

  private dapFrame(f: PFrame): DebugProtocol.StackFrame {
    const base: DebugProtocol.StackFrame = { id: f.id, name: f.name, line: 0, column: 0 };
    if (f.label) return { ...base, presentationHint: 'label' };
    if (f.scenarioLine !== undefined && this.host.scenario) {
      const step = this.host.scenario.steps.find((s) => s.loc.line === f.scenarioLine);
      return {
        ...base,
        source: { name: path.basename(this.host.scenario.file), path: this.host.scenario.file },
        line: f.scenarioLine,
        column: step?.loc.column ?? 1,
      };
    }
    if (f.loc) {
      const src = this.sources.sourceFor(f.loc.file, f.model?.kind === 'driver' ? undefined : 'normal');
      if (src?.path) this.shown.add(path.resolve(src.path));
      if (src) return { ...base, source: src, line: f.loc.line, column: f.loc.column };
      return { ...base, name: `${f.name} (${path.basename(f.loc.file)}:${f.loc.line})`, presentationHint: 'subtle' };
    }
    return { ...base, presentationHint: 'subtle' };
  }

  exceptionInfo(): DebugProtocol.ExceptionInfoResponse['body'] {
    const st = this.host.stop;
    if (!st) throw new UserError('not stopped');
    const ex = st.exception;
    if (!ex) throw new UserError(`the session is not stopped on an exception (it stopped: ${st.reason})`);
    return {
      exceptionId: ex.id,
      description: ex.description,
      breakMode: 'always',
      details: { message: ex.message, typeName: ex.typeName, ...(ex.stack ? { stackTrace: ex.stack } : {}) },
    };
  }

  source(a: DebugProtocol.SourceArguments): DebugProtocol.SourceResponse['body'] {
    const ref = Number(a.sourceReference ?? (a.source as Record<string, unknown> | undefined)?.sourceReference ?? 0);
    if (ref > 0) {
      const c = this.sources.content(ref);
      if (!c) throw new UserError(`no source with reference ${ref}`);
      return { content: c.content, mimeType: 'text/x-typescript' };
    }
    const p = (a.source as Record<string, unknown> | undefined)?.path;
    if (typeof p === 'string') {
      if (!this.servable(p))
        throw new UserError(
          `source: ${p} is not a source of this session (only the scenario, its driver modules and the files its stack frames show are served)`,
        );
      return { content: readSourceFile(p) };
    }
    throw new UserError('source: give a sourceReference or a path');
  }

  /** Files the session's stack frames have shown by path. */
  private readonly shown = new Set<string>();

  /** The files `source` serves: the scenario, its user driver modules, and the files frames showed. */
  private servable(file: string): boolean {
    const f = path.resolve(file);
    if (this.host.scenario && path.resolve(this.host.scenario.file) === f) return true;
    for (const d of this.host.run?.emu.driverFiles.values() ?? []) if (path.resolve(d) === f) return true;
    return this.shown.has(f);
  }

  loadedSources(): DebugProtocol.Source[] {
    const out: DebugProtocol.Source[] = [];
    if (this.host.scenario) out.push({ name: path.basename(this.host.scenario.file), path: this.host.scenario.file });
    for (const f of this.host.run?.emu.driverFiles.values() ?? []) out.push({ name: path.basename(f), path: f });
    return out;
  }
}
