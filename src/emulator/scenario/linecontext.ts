/**
 * The context of one scenario line while its command is parsed: the tokens after the
 * command words split into positionals and options, checks of their count and kinds
 * against a spec, and the buses declared so far (a device needs an earlier bus create).
 */

import type { Command } from './ast';
import { COMMANDS } from './catalogue';
import type { Token } from './lexer';
import { fail, failAt, LineError, orList, q, valueRange } from './lineerror';
import { DEVREF_RE, isNumberText, parseGuidAt, parseHexDigits, parseNumberAt, parseSizeAt, SAFE, U16, U32 } from './numbers';
import { suggest } from './suggest';

const SYNTAX: ReadonlyMap<string, string> = new Map(COMMANDS.map((c) => [c.name, c.syntax]));

export type OptKind = 'u16' | 'u32' | 'num' | 'size' | 'guid' | 'string' | 'hex' | 'any';

export interface CommandSpec {
  /** Allowed options and their kinds; undefined = any key allowed (values: number when numeric). */
  options?: Readonly<Record<string, OptKind>>;
  required?: readonly string[];
}

export class Ctx {
  /** Tokens after the command words: positional (non-option) ones and options. */
  readonly pos: Token[] = [];
  readonly opts: Token[] = [];
  constructor(
    readonly line: string,
    readonly tokens: readonly Token[],
    /** e.g. 'device create' */
    readonly name: string,
    /** Range of the command words, for "missing ..." messages. */
    readonly nameStart: number,
    readonly nameEnd: number,
    rest: readonly Token[],
    readonly buses: Set<number>,
    readonly warnings: LineError[],
  ) {
    for (const t of rest) (t.kind === 'option' ? this.opts : this.pos).push(t);
  }

  get syntax(): string {
    return SYNTAX.get(this.name) ?? this.name;
  }

  missing(what: string): never {
    fail(this.nameStart, this.nameEnd, `missing ${what} for '${this.name}' (syntax: ${this.syntax})`);
  }

  /** Check the number of positional arguments. */
  positionals(min: number, max: number, labels: readonly string[]): void {
    if (this.pos.length < min) this.missing(labels[this.pos.length] ?? 'argument');
    if (this.pos.length > max) {
      const t = this.pos[max];
      failAt(t, `unexpected argument ${q(t.text)} for '${this.name}' (syntax: ${this.syntax})`);
    }
  }

  noOptions(): void {
    this.options({ options: {} });
  }

  /** Parse the options against a spec. */
  options(spec: CommandSpec): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const seen = new Set<string>();
    for (const t of this.opts) {
      const key = t.key ?? '';
      const keyEnd = t.keyEnd ?? t.end;
      if (key === '') fail(t.start, t.start + 1, `missing option name before '=' in ${q(t.text)}`);
      let kind: OptKind;
      if (spec.options === undefined) kind = 'any';
      else if (Object.prototype.hasOwnProperty.call(spec.options, key)) kind = spec.options[key];
      else {
        const keys = Object.keys(spec.options);
        const expected = keys.length === 0 ? `it takes no options; syntax: ${this.syntax}` : `expected one of: ${keys.join(', ')}`;
        fail(t.start, keyEnd, `unknown option ${q(key)} for '${this.name}' (${expected})`);
      }
      if (seen.has(key)) fail(t.start, keyEnd, `option '${key}' is given twice`);
      seen.add(key);
      const [vs, ve] = valueRange(t);
      const v = t.value;
      const what = `value of ${key}=`;
      switch (kind) {
        case 'u16':
          out[key] = parseNumberAt(v, vs, ve, U16, what);
          break;
        case 'u32':
          out[key] = parseNumberAt(v, vs, ve, U32, what);
          break;
        case 'num':
          out[key] = parseNumberAt(v, vs, ve, SAFE, what);
          break;
        case 'size':
          out[key] = parseSizeAt(v, vs, ve);
          break;
        case 'guid':
          out[key] = parseGuidAt(v, vs, ve);
          break;
        case 'hex': {
          const digits = v.startsWith('hex:') ? v.slice(4) : v;
          const off = v.startsWith('hex:') ? 4 : 0;
          if (digits === '') fail(vs, Math.max(ve, vs + 1), `missing hex bytes for ${key}= (e.g. ${key}=00ff)`);
          // validate (errors point into the value)
          parseHexDigits(digits, vs + off, ve, v, vs);
          out[key] = digits.toLowerCase();
          break;
        }
        case 'string':
          if (v === '' && !t.quoted) fail(vs - 1, ve, `missing value for ${key}= (write ${key}="" for an empty one)`);
          out[key] = v;
          break;
        case 'any':
          if (v === '' && !t.quoted) fail(vs - 1, ve, `missing value for ${key}=`);
          out[key] = !t.quoted && isNumberText(v) ? parseNumberAt(v, vs, ve, SAFE, what) : v;
          break;
      }
    }
    for (const r of spec.required ?? []) {
      if (!seen.has(r)) {
        fail(this.nameStart, this.nameEnd, `missing argument ${r}=... for '${this.name}' (syntax: ${this.syntax})`);
      }
    }
    return out;
  }

  /** A bus number positional. */
  bus(tok: Token): number {
    if (tok.kind !== 'word') failAt(tok, `bad number ${q(tok.text)}`);
    if (DEVREF_RE.test(tok.text)) failAt(tok, `expected a bus number, not a device name ${q(tok.text)} (e.g. ${tok.text.split(':')[0]})`);
    return parseNumberAt(tok.text, tok.start, tok.end, U32, 'bus number');
  }

  /** A word from a fixed set. */
  choice(tok: Token, choices: readonly string[], what: string): string {
    if (tok.kind === 'word' && choices.includes(tok.text)) return tok.text;
    const s = suggest(tok.text, choices);
    const hint = s === undefined ? '' : `did you mean '${s}'? `;
    failAt(tok, `unknown ${what} ${q(tok.text)} (${hint}use ${orList(choices)})`);
  }

  warn(tok: Token, message: string): void {
    this.warnings.push(new LineError(tok.start, tok.end, message));
  }
}

export function num(o: Record<string, number | string>, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' ? v : undefined;
}

export function str(o: Record<string, number | string>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** Remove keys whose value is undefined (keeps deepEqual-friendly objects). */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Either the decoded value of a single quoted token, or the raw source between the tokens. */
export function restText(line: string, toks: readonly Token[]): string {
  if (toks.length === 1 && toks[0].kind === 'string') return toks[0].value;
  return line.slice(toks[0].start, toks[toks.length - 1].end);
}

export type Handler = (c: Ctx) => Command;
