/**
 * Parser for `.visor` scenarios: text -> `Scenario` (see ast.ts).
 *
 * One command per line; `#` starts a comment. Every problem becomes a Diagnostic with an
 * exact position; a line with an error produces no step. `parseScenario` never throws.
 * The grammar of each command lives with its kind: subcommands.ts, wordcommands.ts and
 * families.ts; the values inside a line in numbers.ts; the command catalogue the editor
 * shows in catalogue.ts.
 */

import { printable } from '../protocol/printable';
import type { Command, Diagnostic, Scenario, ScenarioStep } from './ast';
import { lexLine, type Token } from './lexer';
import { Ctx } from './linecontext';
import { failAt, LineError, orList, q } from './lineerror';
import { suggest } from './suggest';
import { GROUPS } from './subcommands';
import { SINGLE } from './wordcommands';
import { type Family, FAMILIES, parseFamily } from './families';

// Kept here too, so code that imports them from the parser keeps working.
export { BUILTIN_DRIVERS, COMMANDS, type CommandInfo, FAULT_KINDS, KEY_NAMES, MOUSE_BUTTONS, SEGMENT_STATES } from './catalogue';
export { suggest } from './suggest';

/** Lines longer than this many bytes (UTF-8) are rejected without being tokenised. */
export const MAX_LINE_BYTES = 65536;
/** After this many diagnostics, further ones are dropped (one note says so). */
export const MAX_DIAGNOSTICS = 1000;

/** `file:line:column: error: message` */
export function formatDiagnostic(d: Diagnostic): string {
  return `${printable(d.file)}:${d.line}:${d.column}: ${d.severity}: ${printable(d.message)}`;
}

const TOP_WORDS: readonly string[] = [...Object.keys(GROUPS), ...Object.keys(SINGLE), ...Object.keys(FAMILIES)].sort();

function parseCommand(line: string, toks: readonly Token[], buses: Set<number>, warnings: LineError[]): Command {
  const head = toks[0];
  if (head.kind !== 'word') failAt(head, `expected a command, found ${q(head.text)}`);
  const word = head.text;
  if (Object.prototype.hasOwnProperty.call(GROUPS, word)) {
    const subs = GROUPS[word];
    const subNames = Object.keys(subs);
    const sub = toks[1];
    if (sub === undefined) failAt(head, `missing subcommand for '${word}' (use ${orList(subNames)})`);
    if (sub.kind !== 'word' || !Object.prototype.hasOwnProperty.call(subs, sub.text)) {
      const s = suggest(sub.text, subNames);
      const hint = s === undefined ? '' : `did you mean '${s}'? `;
      failAt(sub, `unknown subcommand ${q(sub.text)} for '${word}' (${hint}expected one of: ${subNames.join(', ')})`);
    }
    const c = new Ctx(line, toks, `${word} ${sub.text}`, head.start, sub.end, toks.slice(2), buses, warnings);
    return subs[sub.text](c);
  }
  if (Object.prototype.hasOwnProperty.call(SINGLE, word)) {
    const c = new Ctx(line, toks, word, head.start, head.end, toks.slice(1), buses, warnings);
    return SINGLE[word](c);
  }
  if (Object.prototype.hasOwnProperty.call(FAMILIES, word)) return parseFamily(word as Family, line, toks, buses, warnings);
  const s = suggest(word, TOP_WORDS);
  const hint = s === undefined ? `commands: ${TOP_WORDS.join(', ')}` : `did you mean '${s}'?`;
  failAt(head, `unknown command ${q(word)} (${hint})`);
}

function utf8Length(s: string): number {
  const B = (globalThis as { Buffer?: { byteLength(s: string, enc: 'utf8'): number } }).Buffer;
  if (B) return B.byteLength(s, 'utf8');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** NUL bytes, or more than 30% non-printable characters, in the first 4 KiB. */
export function looksBinary(text: string): boolean {
  const n = Math.min(text.length, 4096);
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return true;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || c === 0xfffd) bad++;
  }
  return n > 0 && bad > n * 0.3;
}

type Report = (line: number, column: number, endColumn: number, message: string, severity: 'error' | 'warning') => void;

/** Parse one line into a step (or nothing, for a blank or comment line); report its problems. */
function parseLine(line: string, lineNo: number, buses: Set<number>, steps: ScenarioStep[], report: Report): void {
  if (line.length > MAX_LINE_BYTES / 3) {
    const bytes = utf8Length(line);
    if (bytes > MAX_LINE_BYTES) {
      report(lineNo, 1, line.length + 1, `line is too long (${bytes} bytes; at most ${MAX_LINE_BYTES})`, 'error');
      return;
    }
  }
  try {
    const lexed = lexLine(line);
    if (lexed.error) {
      const e = lexed.error;
      report(lineNo, e.start + 1, Math.max(e.end, e.start + 1) + 1, e.message, 'error');
      return;
    }
    const toks = lexed.tokens;
    if (toks.length === 0) return;
    const first = toks[0];
    const last = toks[toks.length - 1];
    const loc = { line: lineNo, column: first.start + 1, endColumn: last.end + 1 };
    const stepText = line.slice(first.start, last.end);
    const warnings: LineError[] = [];
    const command = parseCommand(line, toks, buses, warnings);
    for (const w of warnings) report(lineNo, w.start + 1, Math.max(w.end, w.start + 1) + 1, w.message, 'warning');
    steps.push({ loc, text: stepText, command });
  } catch (e) {
    if (e instanceof LineError) {
      report(lineNo, e.start + 1, Math.max(e.end, e.start + 1) + 1, e.message, 'error');
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      report(lineNo, 1, line.length + 1, `internal error while parsing this line: ${msg}`, 'error');
    }
  }
}

/** Parse scenario text. Never throws; every problem is a diagnostic. */
export function parseScenario(text: string, file: string): Scenario {
  const steps: ScenarioStep[] = [];
  const diagnostics: Diagnostic[] = [];
  const fileName = typeof file === 'string' ? file : String(file);
  const scenario: Scenario = { file: fileName, steps, diagnostics };
  let src = typeof text === 'string' ? text : String(text ?? '');
  if (src.charCodeAt(0) === 0xfeff) src = src.slice(1);
  let truncated = false;
  const report: Report = (line, column, endColumn, message, severity) => {
    if (diagnostics.length >= MAX_DIAGNOSTICS) {
      if (!truncated) {
        truncated = true;
        diagnostics.push({
          file: fileName,
          line,
          column: 1,
          endColumn: 2,
          severity: 'warning',
          message: `too many problems; only the first ${MAX_DIAGNOSTICS} are shown`,
        });
      }
      return;
    }
    diagnostics.push({ file: fileName, line, column, endColumn, severity, message });
  };

  if (looksBinary(src)) {
    report(1, 1, 2, 'not a scenario: the file looks binary', 'error');
    return scenario;
  }

  const buses = new Set<number>();
  let pos = 0;
  let lineNo = 0;
  let nextLF = src.indexOf('\n');
  let nextCR = src.indexOf('\r');
  while (pos <= src.length) {
    lineNo++;
    if (nextLF !== -1 && nextLF < pos) nextLF = src.indexOf('\n', pos);
    if (nextCR !== -1 && nextCR < pos) nextCR = src.indexOf('\r', pos);
    let end: number;
    let next: number;
    if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
      end = nextCR;
      next = nextCR + 1 < src.length && src.charCodeAt(nextCR + 1) === 0x0a ? nextCR + 2 : nextCR + 1;
    } else if (nextLF !== -1) {
      end = nextLF;
      next = nextLF + 1;
    } else {
      end = src.length;
      next = src.length + 1;
    }
    const line = src.slice(pos, end);
    pos = next;
    parseLine(line, lineNo, buses, steps, report);
  }
  return scenario;
}
