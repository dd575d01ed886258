/**
 * Text for human-readable output (the CLI's trace, reports and errors, the Debug Console):
 * control characters (C0 except tab, DEL, C1), line and paragraph separators and bidi
 * controls are escaped, so a value printed on a line stays on that line and cannot drive
 * the terminal (`\x1b]0;…\x07`) or forge a `file:line: error:` line of its own.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

export function printable(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
