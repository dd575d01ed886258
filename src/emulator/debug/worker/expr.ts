/**
 * A small, safe expression language for breakpoint conditions, logpoints, watch and
 * hover: `bus == 2 && queue[0].num_sent > 3`, `2:0.queue[0].head`, `state != "paused"`.
 *
 *   expr    := or
 *   or      := and ('||' and)*
 *   and     := eq ('&&' eq)*
 *   eq      := rel (('==' | '!=') rel)*
 *   rel     := add (('<' | '<=' | '>' | '>=') add)*
 *   add     := unary (('+' | '-') unary)*
 *   unary   := ('!' | '-') unary | primary
 *   primary := NUMBER | STRING | true | false | '(' expr ')' | ref
 *   ref     := [device '.'] IDENT ('.' IDENT | '[' NUMBER ']')*
 *   device  := NUMBER ':' NUMBER | vbusN ':' devM | controlvm
 *
 * Identifiers are never JavaScript: they are resolved by the context (device and channel
 * fields through inspect/fields.ts, plus a few names like `jiffies`). Nothing is eval'ed.
 */

import { MAX_EXPRESSION_DEPTH } from '../../limits';
import type { Emulator } from '../../emulator';
import type { EmuEvent, Frame } from '../../engine/events';
import type { ScenarioRun } from '../../scenario/runner';
import { FieldError } from '../../inspect/fields';
import { parseDeviceId } from './decode';
import { innermostDriver } from './stack';

export type Value = number | string | boolean | bigint;

export class ExprError extends Error {
  constructor(
    message: string,
    /** 1-based column in the expression text, when known. */
    readonly column?: number,
  ) {
    super(column !== undefined ? `${message} (column ${column})` : message);
  }
}

export interface ExprContext {
  /** A field path ("queue[0].head", "state") on `device` ("2:0", "controlvm"), or on the context's device when undefined. */
  field(device: string | undefined, path: string): Value;
}

export type Node =
  | { k: 'lit'; v: Value }
  | { k: 'ref'; device?: string; path: string; col: number }
  | { k: 'not'; e: Node }
  | { k: 'neg'; e: Node }
  | { k: 'bin'; op: BinOp; l: Node; r: Node; col: number };

type BinOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-';

interface Tok {
  t: 'num' | 'str' | 'id' | 'op' | 'end';
  v: string;
  num?: number | bigint;
  col: number;
}

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '(', ')', '[', ']', '.', ':'];

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    const num = /^(0[xX][0-9a-fA-F]+|\d+)/.exec(text.slice(i));
    if (num) {
      const s = num[1];
      const big = BigInt(s);
      out.push({ t: 'num', v: s, num: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big, col });
      i += s.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          const e = text[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += text[j++];
      }
      if (j >= text.length) throw new ExprError('unterminated string', col);
      out.push({ t: 'str', v: s, col });
      i = j + 1;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], col });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op, col });
      i += op.length;
      continue;
    }
    if (c === '=') throw new ExprError("use '==' to compare", col);
    if (c === '&' || c === '|') throw new ExprError(`use '${c}${c}'`, col);
    throw new ExprError(`unexpected character '${c}'`, col);
  }
  out.push({ t: 'end', v: '', col: text.length + 1 });
  return out;
}

/** Most tokens an expression may have (a chain of binary operators nests one node per operator). */
const MAX_TOKENS = 4096;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(o = 0): Tok {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)];
  }
  private next(): Tok {
    return this.toks[this.i++];
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.t === 'op' && t.v === v;
  }
  private expectOp(v: string): Tok {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new ExprError(`expected '${v}'${t.t === 'end' ? ' at the end' : ` but found '${t.v}'`}`, t.col);
    return t;
  }

  parse(): Node {
    if (this.peek().t === 'end') throw new ExprError('empty expression', 1);
    const n = this.or();
    const t = this.peek();
    if (t.t !== 'end') throw new ExprError(`unexpected '${t.v}'`, t.col);
    return n;
  }

  private binary(ops: BinOp[], sub: () => Node): Node {
    let l = sub();
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !ops.includes(t.v as BinOp)) return l;
      this.next();
      l = { k: 'bin', op: t.v as BinOp, l, r: sub(), col: t.col };
    }
  }
  private or = (): Node => this.binary(['||'], this.and);
  private and = (): Node => this.binary(['&&'], this.eq);
  private eq = (): Node => this.binary(['==', '!='], this.rel);
  private rel = (): Node => this.binary(['<', '<=', '>', '>='], this.add);
  private add = (): Node => this.binary(['+', '-'], this.unary);

  /** Parentheses and unary operators nest; at most MAX_EXPRESSION_DEPTH deep. */
  private nested<T>(col: number, fn: () => T): T {
    if (++this.depth > MAX_EXPRESSION_DEPTH)
      throw new ExprError(`the expression is nested too deeply (at most ${MAX_EXPRESSION_DEPTH} levels of parentheses and unary operators)`, col);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private unary = (): Node => {
    const t = this.peek();
    if (this.isOp('!')) {
      this.next();
      return this.nested(t.col, () => ({ k: 'not', e: this.unary() }));
    }
    if (this.isOp('-')) {
      this.next();
      return this.nested(t.col, () => ({ k: 'neg', e: this.unary() }));
    }
    return this.primary();
  };

  private primary(): Node {
    const t = this.peek();
    if (t.t === 'op' && t.v === '(') {
      this.next();
      const e = this.nested(t.col, () => this.or());
      this.expectOp(')');
      return e;
    }
    if (t.t === 'str') {
      this.next();
      return { k: 'lit', v: t.v };
    }
    if (t.t === 'num') {
      // BUS:DEV device prefix?
      if (this.isOp(':', 1) && this.peek(2).t === 'num') {
        this.next();
        this.next();
        const d = this.next();
        return this.deviceRef(`${Number(t.num)}:${Number(d.num)}`, t.col);
      }
      this.next();
      return { k: 'lit', v: t.num! };
    }
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') {
        this.next();
        return { k: 'lit', v: t.v === 'true' };
      }
      const bus = /^vbus(\d+)$/.exec(t.v);
      const dev = this.peek(2).t === 'id' ? /^dev(\d+)$/.exec(this.peek(2).v) : null;
      if (bus && this.isOp(':', 1) && dev) {
        this.i += 3;
        return this.deviceRef(`${bus[1]}:${dev[1]}`, t.col);
      }
      if (t.v === 'controlvm' && this.isOp('.', 1)) {
        this.next();
        return this.deviceRef('controlvm', t.col);
      }
      return { k: 'ref', path: this.path(), col: t.col };
    }
    if (t.t === 'end') throw new ExprError('expression ends too early', t.col);
    throw new ExprError(`unexpected '${t.v}'`, t.col);
  }

  private deviceRef(device: string, col: number): Node {
    this.expectOp('.');
    return { k: 'ref', device, path: this.path(), col };
  }

  private path(): string {
    const first = this.next();
    if (first.t !== 'id') throw new ExprError(`expected a field name${first.t === 'end' ? '' : ` but found '${first.v}'`}`, first.col);
    let p = first.v;
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const id = this.next();
        if (id.t !== 'id') throw new ExprError("expected a field name after '.'", id.col);
        p += '.' + id.v;
      } else if (this.isOp('[')) {
        this.next();
        const n = this.next();
        if (n.t !== 'num') throw new ExprError('expected an index', n.col);
        this.expectOp(']');
        p += `[${Number(n.num)}]`;
      } else return p;
    }
  }
}

export function parseExpression(text: string): Node {
  const toks = tokenize(text);
  if (toks.length > MAX_TOKENS)
    throw new ExprError(`the expression is too long (${toks.length - 1} tokens; at most ${MAX_TOKENS - 1})`, toks[MAX_TOKENS - 1].col);
  return new Parser(toks).parse();
}

export function truthy(v: Value): boolean {
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'boolean') return v;
  return v !== 0 && !Number.isNaN(v);
}

function numeric(v: Value): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const t = v.trim();
  if (/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const neg = t.startsWith('-');
    const b = BigInt(neg ? t.slice(1) : t) * (neg ? -1n : 1n);
    return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  return undefined;
}

function cmpNum(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const x = typeof a === 'bigint' ? a : BigInt(Math.trunc(a));
  const y = typeof b === 'bigint' ? b : BigInt(Math.trunc(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

export function evaluate(n: Node, ctx: ExprContext): Value {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'ref':
      return ctx.field(n.device, n.path);
    case 'not':
      return !truthy(evaluate(n.e, ctx));
    case 'neg': {
      const v = numeric(evaluate(n.e, ctx));
      if (v === undefined) throw new ExprError('cannot negate a non-number');
      return typeof v === 'bigint' ? -v : -v;
    }
    case 'bin': {
      if (n.op === '&&') return truthy(evaluate(n.l, ctx)) && truthy(evaluate(n.r, ctx));
      if (n.op === '||') return truthy(evaluate(n.l, ctx)) || truthy(evaluate(n.r, ctx));
      const l = evaluate(n.l, ctx);
      const r = evaluate(n.r, ctx);
      const a = numeric(l);
      const b = numeric(r);
      const both = a !== undefined && b !== undefined && (typeof l !== 'string' || typeof r !== 'string');
      switch (n.op) {
        case '==':
          return both ? cmpNum(a, b) === 0 : String(l) === String(r);
        case '!=':
          return both ? cmpNum(a, b) !== 0 : String(l) !== String(r);
        case '<':
        case '<=':
        case '>':
        case '>=': {
          let c: number;
          if (a !== undefined && b !== undefined) c = cmpNum(a, b);
          else if (typeof l === 'string' && typeof r === 'string') c = l < r ? -1 : l > r ? 1 : 0;
          else throw new ExprError(`cannot compare ${JSON.stringify(String(l))} with ${JSON.stringify(String(r))} using '${n.op}'`, n.col);
          return n.op === '<' ? c < 0 : n.op === '<=' ? c <= 0 : n.op === '>' ? c > 0 : c >= 0;
        }
        case '+':
          if (typeof l === 'string' || typeof r === 'string') {
            if (a === undefined || b === undefined) return String(l) + String(r);
          }
          if (a === undefined || b === undefined) throw new ExprError(`cannot add ${String(l)} and ${String(r)}`, n.col);
          return typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a) + BigInt(b) : a + b;
        case '-':
          if (a === undefined || b === undefined) throw new ExprError(`cannot subtract ${String(r)} from ${String(l)}`, n.col);
          return typeof a === 'bigint' || typeof b === 'bigint' ? BigInt(a) - BigInt(b) : a - b;
      }
    }
  }
}

/** Every field reference of an expression (for completions and checks). */
export function references(n: Node): { device?: string; path: string }[] {
  switch (n.k) {
    case 'ref':
      return [{ device: n.device, path: n.path }];
    case 'not':
    case 'neg':
      return references(n.e);
    case 'bin':
      return [...references(n.l), ...references(n.r)];
    default:
      return [];
  }
}

export function formatValue(v: Value, hex = false): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  if (hex) return (v < 0 ? '-0x' : '0x') + (typeof v === 'bigint' ? (v < 0n ? -v : v) : Math.abs(v)).toString(16);
  return String(v);
}

// ---- the model's context ------------------------------------------------------------------

/** Where fields are read: the current run (its emulator getter fails when none is loaded). */
export interface FieldSource {
  readonly emu: Emulator;
  readonly run: ScenarioRun | undefined;
}

/** An expression context over the model for `device` (the default for unqualified fields), at event `ev` in `frames`. */
export function modelContext(src: FieldSource, device: string | undefined, ev?: EmuEvent, frames?: readonly Frame[]): ExprContext {
  return {
    field: (dev, p) => fieldValue(src, dev ?? device, p, dev === undefined, ev, frames),
  };
}

function fieldValue(src: FieldSource, device: string | undefined, p: string, unqualified: boolean, ev?: EmuEvent, frames?: readonly Frame[]): Value {
  const emu = src.emu;
  if (unqualified) {
    switch (p) {
      case 'jiffies':
        return emu.engine.jiffies;
      case 'ms':
        return emu.engine.clock.jiffiesToMs(emu.engine.jiffies);
      case 'hz':
        return emu.engine.clock.hz;
      case 'event':
        return emu.engine.log.count;
      case 'callback':
        return (frames && innermostDriver(frames)?.callback) ?? '';
      case 'result':
      case 'status':
      case 'errno': {
        const v = ev?.data?.[p === 'errno' ? 'errno' : p];
        if (v === undefined) throw new ExprError(`'${p}' is only defined at events that carry it`);
        return v;
      }
    }
  }
  if (device === undefined) throw new ExprError(`'${p}' needs a device here: write it as BUS:DEV.${p} (e.g. 2:0.${p})`);
  const id = parseDeviceId(device);
  if (!id) throw new ExprError(`'${device}' is not a device`);
  try {
    if (id === 'controlvm') return src.run!.fieldValue('controlvm', p);
    if (id.dev === undefined) {
      const b = emu.busDevice(id.bus);
      if (!b) throw new ExprError(`bus ${id.bus} does not exist`);
      if (p === 'bus') return id.bus;
      if (p === 'name') return b.name;
      throw new ExprError(`a bus has the fields bus and name; '${p}' is a device field`);
    }
    return src.run!.fieldValue({ bus: id.bus, dev: id.dev }, p);
  } catch (e) {
    if (e instanceof FieldError) throw new ExprError(e.message);
    throw e;
  }
}
