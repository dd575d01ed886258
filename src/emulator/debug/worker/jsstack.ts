/**
 * The JavaScript stack at a stop, as frames in the original sources. Node, with source maps
 * on, formats every frame of a captured stack through the maps (a map search, a URL parse
 * and a string per frame) and we parsed that text back; at a stop that was a good part of
 * the stop's cost, for frames that are mostly the same from one stop to the next. Here the
 * raw call sites are taken from V8 and each frame is mapped the way Node maps it
 * (internal/source_map/prepare_stack_trace: the position through the map, the enclosing
 * function's original name, else the caller's), with the map searches and file names
 * cached. test/unit/jsstack.test.ts checks the frames against Node's own text.
 */
import { fileURLToPath } from 'node:url';
import { findSourceMap, SourceMap } from 'node:module';

export interface JsFrame {
  fn: string;
  file: string;
  line: number;
  column: number;
}

const FRAME_RE = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

export function normFile(f: string): string {
  if (f.startsWith('file://')) {
    try {
      return fileURLToPath(f);
    } catch {
      return f;
    }
  }
  return f;
}

/** Parse V8 stack text ("    at fn (file:line:col)") into frames, innermost first. */
export function parseStack(text: string | undefined): JsFrame[] {
  if (!text) return [];
  const out: JsFrame[] = [];
  for (const line of text.split('\n')) {
    const f = parseFrameLine(line);
    if (f) out.push(f);
  }
  return out;
}

function parseFrameLine(line: string): JsFrame | undefined {
  const m = FRAME_RE.exec(line);
  if (!m) return undefined;
  let fn = m[1] ?? '';
  if (fn.startsWith('async ')) fn = fn.slice(6);
  return { fn, file: normFile(m[2]), line: Number(m[3]), column: Number(m[4]) };
}

type Entry = { originalSource?: string; originalLine?: number; originalColumn?: number; name?: string };

/** Map searches of one source map, by generated position (line * 2^24 + column). */
const entries = new WeakMap<SourceMap, Map<number, Entry>>();
/** Original sources as file paths. */
const paths = new Map<string, string>();
/** Source maps by generated file (null: the file has none). A file on the stack is loaded, so its map is known. */
const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | null {
  let sm = maps.get(file);
  if (sm === undefined) {
    try {
      sm = findSourceMap(file) ?? null;
    } catch {
      sm = null;
    }
    maps.set(file, sm);
  }
  return sm;
}

/** Forget the maps (a restart: user drivers may have been rebuilt and loaded again). */
export function forgetMaps(): void {
  maps.clear();
  paths.clear();
}

function entryAt(sm: SourceMap, line: number, column: number): Entry {
  let m = entries.get(sm);
  if (!m) entries.set(sm, (m = new Map()));
  const key = line * 0x1000000 + column;
  let e = m.get(key);
  if (!e) {
    e = sm.findEntry(line - 1, column - 1) as Entry;
    m.set(key, e);
  }
  return e;
}

function pathOf(source: string): string {
  let p = paths.get(source);
  if (p === undefined) {
    p = normFile(source);
    paths.set(source, p);
  }
  return p;
}

/** Node's getOriginalSymbolName: the enclosing function's original name, else the caller's. */
function originalName(sm: SourceMap, site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string | undefined {
  const enclosing = entryAt(sm, site.getEnclosingLineNumber() ?? 0, site.getEnclosingColumnNumber() ?? 0);
  if (enclosing.name) return enclosing.name;
  if (caller && site.getFileName() === caller.getFileName()) return entryAt(sm, caller.getLineNumber() ?? 0, caller.getColumnNumber() ?? 0).name;
  return undefined;
}

/** One call site as Node would print it with source maps on, as a frame. */
function frameOf(site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): JsFrame | undefined {
  const file = site.getFileName() ?? site.getEvalOrigin();
  const sm = file ? mapOf(file) : undefined;
  if (sm) {
    const e = entryAt(sm, site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0);
    if (e.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
      const name = originalName(sm, site, caller);
      const typeName = site.getTypeName();
      const own = `${typeName !== null && typeName !== 'global' ? `${typeName}.` : ''}${site.getFunctionName() ?? site.getMethodName() ?? '<anonymous>'}`;
      const prefix = !site.isAsync() && site.isConstructor() ? 'new ' : '';
      return { fn: `${prefix}${name && name !== own ? name : own}`, file: pathOf(e.originalSource), line: e.originalLine + 1, column: e.originalColumn + 1 };
    }
  }
  return parseFrameLine(`    at ${String(site)}`);
}

const rawSites = (_e: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] => sites;

/** The current JavaScript stack, innermost first, in the original sources where a source map says. */
export function captureJsStack(): JsFrame[] {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = 2000;
  Error.prepareStackTrace = rawSites;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  let sites: NodeJS.CallSite[];
  try {
    Error.captureStackTrace(holder);
    // Read while rawSites is in place: V8 formats the stack when it is first read.
    sites = holder.stack ?? [];
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
  const out: JsFrame[] = [];
  for (let i = 0; i < sites.length; i++) {
    const f = frameOf(sites[i], sites[i + 1]);
    if (f) out.push(f);
  }
  return out;
}
