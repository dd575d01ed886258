/**
 * Tokeniser for one line of a `.visor` scenario.
 *
 * Tokens are separated by spaces or tabs. `#` starts a comment unless it is inside a
 * double-quoted string. A token is one of:
 *  - a word (`bus`, `2:0`, `/sys/bus/visorbus`, `hex:00ff`, `>`),
 *  - a double-quoted string with the escapes \" \\ \n \t \xNN,
 *  - an option `key=value`, where value is a bare word or a double-quoted string.
 * Positions are 0-based UTF-16 offsets into the line, end exclusive.
 */

export interface Token {
  kind: 'word' | 'string' | 'option';
  /** The token exactly as written. */
  text: string;
  start: number;
  end: number;
  /** word: the text; string: the decoded contents; option: the (decoded) value. */
  value: string;
  /** True for strings and for options whose value was quoted. */
  quoted: boolean;
  /** For quoted values: the bytes the string stands for (UTF-8, with \xNN as a raw byte). */
  bytes?: Uint8Array;
  /** Options only: the key, where it ends, and where the value starts. */
  key?: string;
  keyEnd?: number;
  valueStart?: number;
}

export interface LexError {
  start: number;
  end: number;
  message: string;
}

export interface LexedLine {
  tokens: Token[];
  /** Offset of the `#` that starts a comment, if any. */
  commentStart?: number;
  /** The first problem found; tokens up to it are still returned. */
  error?: LexError;
}

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;

function isSeparator(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isControl(c: number): boolean {
  return (c < 0x20 && c !== TAB) || c === 0x7f;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function controlName(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}

/** Append the UTF-8 encoding of one code point. */
function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

interface QuotedResult {
  value: string;
  bytes: Uint8Array;
  end: number;
}

/** Read a quoted string whose opening quote is at `start`. Returns a LexError on failure. */
function readQuoted(line: string, start: number): QuotedResult | LexError {
  let value = '';
  const bytes: number[] = [];
  let i = start + 1;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) return { value, bytes: Uint8Array.from(bytes), end: i + 1 };
    if (c === BACKSLASH) {
      const e = i + 1 < line.length ? line[i + 1] : '';
      switch (e) {
        case '"':
        case '\\':
          value += e;
          bytes.push(e.charCodeAt(0));
          i += 2;
          continue;
        case 'n':
          value += '\n';
          bytes.push(0x0a);
          i += 2;
          continue;
        case 't':
          value += '\t';
          bytes.push(0x09);
          i += 2;
          continue;
        case 'x': {
          const h = i + 2 < line.length ? hexValue(line.charCodeAt(i + 2)) : -1;
          const l = i + 3 < line.length ? hexValue(line.charCodeAt(i + 3)) : -1;
          if (h < 0 || l < 0) {
            const end = i + 2 + (h < 0 ? 0 : 1);
            return {
              start: i,
              end,
              message: `bad escape '${line.slice(i, end)}' in string (\\x takes two hex digits, e.g. \\x0a)`,
            };
          }
          const b = h * 16 + l;
          value += String.fromCharCode(b);
          bytes.push(b);
          i += 4;
          continue;
        }
        case '':
          return { start: start, end: line.length, message: 'unterminated string (missing closing ")' };
        default: {
          const esc = line.slice(i, i + 1 + (line.codePointAt(i + 1)! > 0xffff ? 2 : 1));
          return {
            start: i,
            end: i + esc.length,
            message: `unknown escape '${esc}' in string (use \\", \\\\, \\n, \\t or \\xNN)`,
          };
        }
      }
    }
    if (isControl(c)) {
      return { start: i, end: i + 1, message: `unexpected control character ${controlName(c)} in string (write it as \\x${c.toString(16).padStart(2, '0')})` };
    }
    const cp = line.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    value += line.slice(i, i + len);
    pushUtf8(bytes, cp);
    i += len;
  }
  return { start, end: line.length, message: 'unterminated string (missing closing ")' };
}

function isLexError(r: QuotedResult | LexError): r is LexError {
  return (r as LexError).message !== undefined;
}

/** Split one line (without its line break) into tokens. Never throws. */
export function lexLine(line: string): LexedLine {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (isSeparator(c)) {
      i++;
      continue;
    }
    if (c === HASH) return { tokens, commentStart: i };
    if (isControl(c)) {
      return { tokens, error: { start: i, end: i + 1, message: `unexpected control character ${controlName(c)}` } };
    }
    if (c === QUOTE) {
      const r = readQuoted(line, i);
      if (isLexError(r)) return { tokens, error: r };
      tokens.push({ kind: 'string', text: line.slice(i, r.end), start: i, end: r.end, value: r.value, quoted: true, bytes: r.bytes });
      i = r.end;
      continue;
    }
    // A bare word, possibly key=value.
    const start = i;
    let eq = -1;
    while (i < n) {
      const d = line.charCodeAt(i);
      if (isSeparator(d) || d === HASH || d === QUOTE) break;
      if (isControl(d)) {
        return { tokens, error: { start: i, end: i + 1, message: `unexpected control character ${controlName(d)}` } };
      }
      if (d === EQUALS && eq < 0) eq = i;
      i++;
    }
    if (eq < 0) {
      const text = line.slice(start, i);
      tokens.push({ kind: 'word', text, start, end: i, value: text, quoted: false });
      continue;
    }
    const key = line.slice(start, eq);
    if (eq === i - 1 && i < n && line.charCodeAt(i) === QUOTE) {
      // key="quoted value"
      const r = readQuoted(line, i);
      if (isLexError(r)) return { tokens, error: r };
      tokens.push({
        kind: 'option',
        text: line.slice(start, r.end),
        start,
        end: r.end,
        value: r.value,
        quoted: true,
        bytes: r.bytes,
        key,
        keyEnd: eq,
        valueStart: eq + 1,
      });
      i = r.end;
      continue;
    }
    tokens.push({
      kind: 'option',
      text: line.slice(start, i),
      start,
      end: i,
      value: line.slice(eq + 1, i),
      quoted: false,
      key,
      keyEnd: eq,
      valueStart: eq + 1,
    });
  }
  return { tokens };
}
