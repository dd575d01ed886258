/**
 * Output of a synchronous run: written to the file descriptor in bounded chunks with
 * blocking writes, so a slow reader (`run FILE | cat`) holds the run back instead of the
 * run holding every line in memory (a run never yields to the event loop, so
 * process.stdout would queue all of it). A pipe set non-blocking (EAGAIN) is waited on; a
 * reader that goes away (EPIPE: `| head`) just ends the output.
 */
import * as fs from 'node:fs';

const CHUNK_CHARS = 64 * 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

export class SyncOut {
  private parts: string[] = [];
  private size = 0;
  /** The reader went away. */
  closed = false;

  constructor(private readonly fd: number) {}

  write(text: string): void {
    if (this.closed) return;
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK_CHARS) this.flush();
  }

  flush(): void {
    if (!this.size || this.closed) return;
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    this.writeBytes(data);
  }

  /** Raw bytes, after everything written before them. */
  writeBytes(data: Uint8Array): void {
    if (this.size) this.flush();
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 2);
        else if (code === 'EPIPE') {
          this.closed = true;
          return;
        } else throw e;
      }
    }
  }
}
