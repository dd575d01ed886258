/**
 * The adapter's input, cut into whole DAP messages before the protocol library sees it.
 * The library appends every chunk to one buffer (slower and slower for a huge message) and
 * has no size limit; here a message longer than MAX_DAP_MESSAGE_BYTES is skipped without
 * being kept (reported, like a malformed one, and the stream stays in step), a header that
 * never ends is dropped at MAX_DAP_HEADER_BYTES, and each accepted message is handed on in
 * one piece.
 */
import { PassThrough, Readable } from 'node:stream';
import { MAX_DAP_HEADER_BYTES, MAX_DAP_MESSAGE_BYTES } from '../limits';

const HEADER_END = Buffer.from('\r\n\r\n');

/** The Content-Length of a header block, as the protocol library reads it (NaN when absent or bad). */
function contentLength(header: string): number {
  let len = NaN;
  for (const line of header.split('\r\n')) {
    const pair = line.split(/: +/);
    if (pair.length === 2 && pair[0] === 'Content-Length') len = +pair[1];
  }
  return len;
}

export class FrameFilter {
  private head: Buffer = Buffer.alloc(0);
  private header: Buffer | undefined;
  private body: Buffer[] = [];
  private need = 0;
  private skip = 0;

  constructor(
    private readonly emit: (frame: Buffer) => void,
    private readonly report: (text: string) => void,
    private readonly maxBody = MAX_DAP_MESSAGE_BYTES,
    private readonly maxHeader = MAX_DAP_HEADER_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let c = chunk;
    while (c.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, c.length);
        this.skip -= n;
        c = c.subarray(n);
        continue;
      }
      if (this.header) {
        const n = Math.min(this.need, c.length);
        this.body.push(c.subarray(0, n));
        this.need -= n;
        c = c.subarray(n);
        if (this.need === 0) {
          this.emit(Buffer.concat([this.header, ...this.body]));
          this.header = undefined;
          this.body = [];
        }
        continue;
      }
      const buf = this.head.length ? Buffer.concat([this.head, c]) : c;
      c = Buffer.alloc(0);
      const idx = buf.indexOf(HEADER_END);
      if (idx < 0) {
        if (buf.length > this.maxHeader) {
          this.report(`visorbus-emu: ignored ${buf.length - 3} bytes that are not a DAP header (no blank line within ${this.maxHeader} bytes)`);
          this.head = Buffer.from(buf.subarray(buf.length - 3));
        } else this.head = Buffer.from(buf);
        break;
      }
      const header = buf.subarray(0, idx + HEADER_END.length);
      c = buf.subarray(idx + HEADER_END.length);
      this.head = Buffer.alloc(0);
      const len = contentLength(header.toString('latin1'));
      if (!(len >= 0) || len === 0) {
        this.emit(Buffer.from(header)); // the library skips it as it would have
        continue;
      }
      if (len > this.maxBody) {
        this.report(`visorbus-emu: ignored a DAP message of ${len} bytes (a message is at most ${this.maxBody} bytes)`);
        this.skip = len;
        continue;
      }
      this.header = Buffer.from(header);
      this.need = len;
    }
  }
}

/** `input` as a stream of whole, size-checked DAP messages. */
export function limitFrames(input: Readable, report: (text: string) => void): Readable {
  const out = new PassThrough();
  const filter = new FrameFilter((frame) => out.write(frame), report);
  input.on('data', (chunk: Buffer) => filter.push(chunk));
  input.on('end', () => out.end());
  input.on('close', () => out.destroy());
  return out;
}
