/**
 * A problem on one scenario line, and the helpers that word its message. The grammar
 * throws a LineError at the first problem; the parser turns it into a diagnostic.
 */

import { printable } from '../protocol/printable';
import type { Token } from './lexer';

/** A problem on the current line; columns are 0-based offsets, end exclusive. */
export class LineError {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly message: string,
  ) {}
}

export function fail(start: number, end: number, message: string): never {
  throw new LineError(start, end, message);
}

export function failAt(tok: Token, message: string): never {
  throw new LineError(tok.start, tok.end, message);
}

/** The value part of an option token (or the whole token). */
export function valueRange(tok: Token): [number, number] {
  return tok.kind === 'option' ? [tok.valueStart ?? tok.start, tok.end] : [tok.start, tok.end];
}

/** Quote user text in a message, shortening very long text. */
export function q(text: string): string {
  const t = printable(text);
  return t.length > 60 ? `'${t.slice(0, 57)}...'` : `'${t}'`;
}

export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(', ') + ' or ' + items[items.length - 1];
}
