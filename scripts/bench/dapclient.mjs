/**
 * A small DAP client over a child process's stdio (Content-Length framing), for the adapter
 * latency benchmark. `request()` resolves with the response; `next('stopped')` resolves with
 * the next event of that name (events that arrived earlier are queued).
 */
import { spawn } from 'node:child_process';

export class DapClient {
  constructor(command, args, options = {}) {
    this.proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.seq = 1;
    this.pending = new Map();
    this.events = new Map(); // name -> queued bodies
    this.waiters = new Map(); // name -> resolvers
    this.listeners = [];
    this.stderr = '';
    this.exited = false;
    let buf = Buffer.alloc(0);
    this.proc.stdout.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const sep = buf.indexOf('\r\n\r\n');
        if (sep < 0) break;
        const m = /Content-Length: *(\d+)/i.exec(buf.subarray(0, sep).toString('ascii'));
        if (!m) throw new Error('bad DAP header');
        const len = Number(m[1]);
        if (buf.length < sep + 4 + len) break;
        const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString('utf8'));
        buf = buf.subarray(sep + 4 + len);
        this.dispatch(msg);
      }
    });
    this.proc.stderr.on('data', (c) => {
      this.stderr += c.toString();
      if (this.stderr.length > 100000) this.stderr = this.stderr.slice(-50000);
    });
    this.proc.on('exit', (code) => {
      this.exited = true;
      for (const [, p] of this.pending) p.reject(new Error(`adapter exited (${code}): ${this.stderr.slice(-400)}`));
      this.pending.clear();
      for (const [, ws] of this.waiters)
        for (const w of ws) w.reject(new Error(`adapter exited (${code}) while waiting for an event: ${this.stderr.slice(-400)}`));
      this.waiters.clear();
    });
  }

  dispatch(msg) {
    if (msg.type === 'response') {
      const p = this.pending.get(msg.request_seq);
      if (!p) return;
      this.pending.delete(msg.request_seq);
      if (msg.success) p.resolve(msg);
      else
        p.reject(
          Object.assign(new Error(`${msg.command}: ${msg.message ?? 'failed'}${msg.body?.error ? ` (${msg.body.error.format})` : ''}`), { response: msg }),
        );
    } else if (msg.type === 'event') {
      for (const l of this.listeners) l(msg);
      const ws = this.waiters.get(msg.event);
      if (ws && ws.length) ws.shift().resolve(msg);
      else {
        if (!this.events.has(msg.event)) this.events.set(msg.event, []);
        const q = this.events.get(msg.event);
        q.push(msg);
        if (q.length > 1000) q.shift();
      }
    } else if (msg.type === 'request') {
      // reverse requests (runInTerminal, startDebugging): refuse
      this.write({ type: 'response', request_seq: msg.seq, command: msg.command, success: false, message: 'not supported by the bench client' });
    }
  }

  write(msg) {
    const json = JSON.stringify({ seq: this.seq++, ...msg });
    this.proc.stdin.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`);
  }

  request(command, args = {}, timeoutMs = 120000) {
    if (this.exited) return Promise.reject(new Error(`adapter has exited: ${this.stderr.slice(-400)}`));
    const seq = this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`${command}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (m) => (clearTimeout(t), resolve(m)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.write({ type: 'request', command, arguments: args });
    });
  }

  /** Forget queued events of this name (before a request whose event we will wait for). */
  drain(name) {
    this.events.delete(name);
  }

  next(name, timeoutMs = 120000) {
    const q = this.events.get(name);
    if (q && q.length) return Promise.resolve(q.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no '${name}' event in ${timeoutMs} ms`)), timeoutMs);
      if (!this.waiters.has(name)) this.waiters.set(name, []);
      this.waiters.get(name).push({ resolve: (m) => (clearTimeout(t), resolve(m)), reject: (e) => (clearTimeout(t), reject(e)) });
    });
  }

  onEvent(fn) {
    this.listeners.push(fn);
  }

  async close() {
    if (this.exited) return;
    try {
      await this.request('disconnect', { terminateDebuggee: true }, 5000);
    } catch {
      /* already gone */
    }
    await new Promise((r) => {
      if (this.exited) return r();
      const t = setTimeout(() => {
        this.proc.kill('SIGKILL');
        r();
      }, 3000);
      this.proc.on('exit', () => (clearTimeout(t), r()));
    });
  }
}
