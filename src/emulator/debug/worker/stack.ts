/**
 * Real source locations for the model's frames. At a stop the worker captures the
 * JavaScript stack (source maps are on in the worker, so positions are already in the
 * TypeScript sources of the emulator and in users' own sources), splits it at every
 * `EventLog.within` call — one per model frame — and picks, for each model frame, the
 * innermost interesting JavaScript frame of its part: the driver's own line for a
 * driver frame, the emulator's handler line for chipset/bus frames, the VisorChannel
 * operation for a channel frame. Sources that are not on disk are served from the
 * source maps' sourcesContent through a sourceReference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findSourceMap } from 'node:module';
import type { Frame } from '../../engine/events';
import { captureJsStack, forgetMaps, JsFrame, normFile, parseStack } from './jsstack';

export interface Loc {
  file: string;
  line: number;
  column: number;
  fn?: string;
}

/** Where the emulator's own sources are (…/src/emulator/), found from this file's own mapped position. */
let emulatorRoot: string | undefined;
function rootOfEmulator(): string {
  if (emulatorRoot !== undefined) return emulatorRoot;
  const self = captureJsStack().find((f) => /[\\/]src[\\/]emulator[\\/]/.test(f.file));
  const m = self ? /^(.*[\\/]src[\\/]emulator[\\/])/.exec(self.file) : null;
  emulatorRoot = m ? m[1] : '\0';
  return emulatorRoot;
}

export type JsClass = 'internal' | 'debugger' | 'plumbing' | 'engine' | 'driver';

export function classify(f: JsFrame): JsClass {
  const file = f.file;
  if (!path.isAbsolute(file) || file.startsWith('node:') || file.includes('/node_modules/') || file.includes('\\node_modules\\')) return 'internal';
  if (file === selfFile) {
    // The bundle without its source map (positions not mapped): tell the parts apart by name.
    if (
      /^(Controller|EventHook|Stops|Inspector|DataTargets|GuestMemory|JsVars|Views|ReplConsole|Link|Sources|Output|StackView|BreakpointBook|Journal)\.|^(captureJsStack|workerMain)$/.test(
        f.fn,
      ) ||
      f.fn === ''
    )
      return f.fn === '' ? 'engine' : 'debugger';
    if (/^(EventLog|Engine)\./.test(f.fn)) return 'plumbing';
    return 'engine';
  }
  const root = rootOfEmulator();
  if (file.startsWith(root)) {
    const rel = file.slice(root.length).replace(/\\/g, '/');
    if (rel.startsWith('debug/') || rel === 'host/worker.ts') return 'debugger';
    if (rel === 'engine/events.ts' || rel === 'engine/engine.ts') return 'plumbing';
    if (rel.startsWith('drivers/')) return 'driver';
    return 'engine';
  }
  return 'driver';
}

const OWN_FILE: Partial<Record<Frame['kind'], RegExp>> = {
  chipset: /[\\/]visorchipset[\\/]/,
  bus: /[\\/]visorbus[\\/]visorbus\.ts$/,
  backend: /[\\/](backend|scenario)[\\/]/,
};

function isWithin(f: JsFrame): boolean {
  if (f.file === selfFile) return f.fn === 'EventLog.within';
  return /[\\/]engine[\\/]events\.ts$/.test(f.file) && /(^|\.)within$/.test(f.fn);
}

/**
 * For each model frame, the JavaScript location that represents it (undefined when the
 * JavaScript stack does not show one, e.g. a driver frame at its `call` event).
 */
export function locateModelFrames(js: JsFrame[], model: readonly Frame[]): (Loc | undefined)[] {
  // Everything inside the model's emit (or memory write) is the debugger's own machinery.
  const cut = js.findIndex((f) => /^(EventLog\.emit|GuestMemory\.(write\w*|notifyWrite))$/.test(f.fn));
  // A copy: the caller's stack stays innermost first.
  const outer = (cut >= 0 ? js.slice(cut + 1) : [...js]).reverse();
  const segments: JsFrame[][] = [[]];
  for (const f of outer) {
    if (isWithin(f)) segments.push([]);
    else segments[segments.length - 1].push(f);
  }
  // Segment k+1 runs inside model frame k. Align from the innermost end if counts differ.
  const shift = segments.length - 1 - model.length;
  const out: (Loc | undefined)[] = [];
  for (let k = 0; k < model.length; k++) {
    const si = k + 1 + shift;
    const seg = si >= 1 && si < segments.length ? segments[si] : [];
    const prev = si - 1 >= 0 && si - 1 < segments.length ? segments[si - 1] : [];
    const mf = model[k];
    let pick: JsFrame | undefined;
    const innermost = (s: JsFrame[], pred: (f: JsFrame) => boolean) => {
      for (let i = s.length - 1; i >= 0; i--) if (pred(s[i])) return s[i];
      return undefined;
    };
    if (mf.kind === 'driver') pick = innermost(seg, (f) => classify(f) === 'driver');
    else if (mf.kind === 'channel') {
      pick = innermost(prev, (f) => /[\\/]visorchannel[\\/]visorchannel\.ts$/.test(f.file) && classify(f) === 'engine');
      pick ??= innermost(seg, (f) => classify(f) === 'engine');
    } else if (mf.kind !== 'scenario') {
      // The handler's own file first: visorchipset for chipset frames, the bus core for bus frames.
      const own = OWN_FILE[mf.kind];
      if (own) pick = innermost(seg, (f) => classify(f) === 'engine' && own.test(f.file));
      pick ??= innermost(seg, (f) => classify(f) === 'engine');
    }
    out.push(pick ? { file: pick.file, line: pick.line, column: pick.column, fn: pick.fn } : undefined);
  }
  return out;
}

/** The innermost driver-class frame of an error's stack: where a driver threw. */
export function throwLocation(stack: string | undefined): Loc | undefined {
  const f = parseStack(stack).find((x) => classify(x) === 'driver');
  return f ? { file: f.file, line: f.line, column: f.column, fn: f.fn } : undefined;
}

// ---- function locations (a driver frame at its `call` event) -------------------------

const fileText = new Map<string, string | null>();
function readText(file: string): string | undefined {
  if (!fileText.has(file)) {
    try {
      fileText.set(file, fs.readFileSync(file, 'utf8'));
    } catch {
      fileText.set(file, null);
    }
  }
  return fileText.get(file) ?? undefined;
}

/** Forget cached file contents (restart: user drivers may have been rebuilt). */
export function forgetFiles(): void {
  fileText.clear();
  fnLocs.clear();
  forgetMaps();
}

const fnLocs = new Map<string, Loc | null>();

/** The bundle (or module) file that holds the emulator's own code. */
export const selfFile: string = typeof __filename === 'string' ? __filename : '';

/**
 * Where a function is defined, found by looking for its source text in the candidate
 * generated files and mapping that position through the file's source map.
 */
export function functionLocation(fn: (...a: never[]) => unknown, candidates: string[]): Loc | undefined {
  let text: string;
  try {
    text = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  if (text.length < 8 || text.includes('[native code]')) return undefined;
  for (const file of candidates) {
    const key = `${file}\0${text}`;
    if (fnLocs.has(key)) {
      const l = fnLocs.get(key);
      if (l) return l;
      continue;
    }
    const content = readText(file);
    const idx = content ? content.indexOf(text) : -1;
    if (!content || idx < 0) {
      fnLocs.set(key, null);
      continue;
    }
    const before = content.slice(0, idx);
    const line0 = before.split('\n').length - 1;
    const col0 = idx - (before.lastIndexOf('\n') + 1);
    let loc: Loc = { file, line: line0 + 1, column: col0 + 1 };
    const map = findSourceMap(file);
    if (map) {
      const e = map.findEntry(line0, col0) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (e && e.originalSource !== undefined && e.originalLine !== undefined) {
        let src = normFile(e.originalSource);
        if (!path.isAbsolute(src)) src = path.resolve(path.dirname(file), src);
        loc = { file: src, line: e.originalLine + 1, column: (e.originalColumn ?? 0) + 1 };
      }
    }
    fnLocs.set(key, loc);
    return loc;
  }
  return undefined;
}

// ---- sources ------------------------------------------------------------------------------

export interface SourceRef {
  name: string;
  path?: string;
  sourceReference?: number;
  presentationHint?: 'normal' | 'emphasize' | 'deemphasize';
}

/** Serves sources that are not on disk from the source maps' sourcesContent. */
export class Sources {
  private readonly byFile = new Map<string, number>();
  private readonly byRef = new Map<number, { file: string; content: string }>();
  private nextRef = 1000;
  /** Generated files whose source maps may hold sourcesContent (the worker bundle, user driver modules). */
  readonly generated = new Set<string>();

  constructor() {
    if (selfFile) this.generated.add(selfFile);
  }

  /** A DAP source for a file: its path when it exists, else a reference into sourcesContent. */
  sourceFor(file: string, hint?: SourceRef['presentationHint']): SourceRef | undefined {
    const name = path.basename(file);
    if (fs.existsSync(file)) return { name, path: file, ...(hint ? { presentationHint: hint } : {}) };
    let ref = this.byFile.get(file);
    if (ref === undefined) {
      const content = this.contentFromMaps(file);
      if (content === undefined) return undefined;
      ref = this.nextRef++;
      this.byFile.set(file, ref);
      this.byRef.set(ref, { file, content });
    }
    return { name, sourceReference: ref, ...(hint ? { presentationHint: hint } : {}) };
  }

  content(ref: number): { file: string; content: string } | undefined {
    return this.byRef.get(ref);
  }

  private contentFromMaps(file: string): string | undefined {
    for (const gen of this.generated) {
      const map = findSourceMap(gen);
      const payload = map?.payload as { sources?: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string } | undefined;
      if (!payload?.sources || !payload.sourcesContent) continue;
      for (let i = 0; i < payload.sources.length; i++) {
        let src = normFile(payload.sources[i]);
        if (!path.isAbsolute(src)) src = path.resolve(path.dirname(gen), payload.sourceRoot ?? '', src);
        if (src === file && typeof payload.sourcesContent[i] === 'string') return payload.sourcesContent[i] as string;
      }
    }
    return undefined;
  }
}

// ---- model frames and driver callbacks ------------------------------------------------

export function innermostDriverIndex(frames: readonly Frame[]): number {
  for (let i = frames.length - 1; i >= 0; i--) if (frames[i].kind === 'driver') return i;
  return -1;
}

export function innermostDriver(frames: readonly Frame[]): Frame | undefined {
  const i = innermostDriverIndex(frames);
  return i >= 0 ? frames[i] : undefined;
}

const WRAPPED = Symbol('visorbus.debug.wrapped');
const CALLBACK_METHODS = ['probe', 'remove', 'pause', 'resume', 'channelInterrupt'] as const;

/** Wrap a driver's callbacks so that `note` sees what they throw (its stack shows the throwing line); the model itself catches it. */
export function wrapCallbacks(drv: object, note: (e: unknown) => void): void {
  const rec = drv as unknown as Record<string, unknown>;
  for (const m of CALLBACK_METHODS) {
    const orig = rec[m];
    if (typeof orig !== 'function' || (orig as unknown as Record<symbol, unknown>)[WRAPPED]) continue;
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      try {
        return (orig as (...a: unknown[]) => unknown).apply(this, args);
      } catch (e) {
        note(e);
        throw e;
      }
    };
    (wrapper as unknown as Record<symbol, unknown>)[WRAPPED] = orig;
    try {
      rec[m] = wrapper;
    } catch {
      /* a frozen driver object: its throws are located at the callback instead */
    }
  }
}

/** A driver's own callback function (not our wrapper), for its source location. */
export function callbackFunction(drv: object | undefined, callback: string): ((...a: never[]) => unknown) | undefined {
  const m = callback === 'channel_interrupt' ? 'channelInterrupt' : callback;
  let fn = (drv as Record<string, unknown> | undefined)?.[m] as ((...a: never[]) => unknown) | undefined;
  const orig = fn && (fn as unknown as Record<symbol, unknown>)[WRAPPED];
  if (typeof orig === 'function') fn = orig as (...a: never[]) => unknown;
  return fn;
}
