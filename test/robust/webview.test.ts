/**
 * The channel inspector webview (src/extension/inspector, media/inspector.js): everything the
 * webview sends is checked before the extension acts on it, and its Content-Security-Policy
 * allows no inline script without the panel's nonce and no remote load. The real inspector
 * class runs against a small stand-in for the `vscode` module (panel, webview, URIs), so the
 * HTML and the message handler under test are the shipped ones.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Module, { createRequire } from 'node:module';
import fc from 'fast-check';
import { SEED } from './support/harness';
import type { ChannelView, Field } from '../../src/extension/protocol';
import type * as InspectorModule from '../../src/extension/inspector/inspector';
import type * as MessagesModule from '../../src/extension/inspector/messages';
import type * as RestoreModule from '../../src/extension/inspector/restore';

const ROOT = path.resolve(__dirname, '../../..');
const CSP_SOURCE = 'https://*.vscode-cdn.net';
const RESOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

interface FakePanel {
  html: string;
  posted: unknown[];
  receive: (m: unknown) => Promise<void> | void;
  disposed: boolean;
}

/** Enough of the `vscode` API for the inspector: panels, webviews, URIs, events. */
function vscodeStub(panels: FakePanel[], serializers = new Map<string, { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }>()) {
  const uri = (s: string) => ({ toString: () => s, fsPath: s, path: s });
  class EventEmitter<T> {
    private listeners: ((v: T) => void)[] = [];
    event = (l: (v: T) => void) => {
      this.listeners.push(l);
      return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
    };
    fire(v: T) {
      for (const l of this.listeners) l(v);
    }
    dispose() {
      this.listeners = [];
    }
  }
  return {
    Uri: {
      joinPath: (base: { toString(): string }, ...parts: string[]) => uri([base.toString(), ...parts].join('/')),
      from: (c: { scheme: string; authority: string; path: string }) => uri(`${c.scheme}://${c.authority}${c.path}`),
      file: (p: string) => uri(p),
    },
    ViewColumn: { Beside: -2, One: 1 },
    EventEmitter,
    window: {
      createWebviewPanel: () => {
        const p: FakePanel = { html: '', posted: [], receive: () => undefined, disposed: false };
        panels.push(p);
        const disposable = { dispose: () => undefined };
        return {
          webview: {
            get html() {
              return p.html;
            },
            set html(v: string) {
              p.html = v;
            },
            cspSource: CSP_SOURCE,
            asWebviewUri: (u: { toString(): string }) => uri(`${RESOURCE}${u.toString()}`),
            onDidReceiveMessage: (h: (m: unknown) => Promise<void>) => {
              p.receive = h;
              return disposable;
            },
            postMessage: async (m: unknown) => {
              p.posted.push(m);
              return true;
            },
          },
          onDidDispose: () => disposable,
          reveal: () => undefined,
          dispose: () => (p.disposed = true),
          iconPath: undefined,
        };
      },
      showErrorMessage: async () => undefined,
      showInformationMessage: async () => undefined,
      registerWebviewPanelSerializer: (viewType: string, s: { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }) => {
        serializers.set(viewType, s);
        return { dispose: () => serializers.delete(viewType) };
      },
    },
    extensions: { getExtension: () => undefined },
    commands: { executeCommand: async () => undefined },
    debug: {},
  };
}

const field = (name: string, offset: number, size: number, writable: boolean): Field => ({ name, offset, size, value: '0', display: '0', writable });

const CHANNEL: ChannelView = {
  device: '2:0',
  physaddr: 0x10000000,
  nbytes: 4096,
  memoryReference: 'ch:2:0',
  typeGuid: '414815ed-c58c-11da-95a9-00e08161165f',
  typeName: 'sparvhba',
  header: [field('signature', 0, 8, false), field('features', 24, 8, true), field('zone_guid', 80, 16, true)],
  extra: [],
  queues: [
    {
      index: 0,
      name: 'cmd',
      offset: 128,
      fields: [field('head', 188, 4, true), field('tail', 200, 4, true)],
      head: 0,
      tail: 0,
      maxSlots: 2,
      signalSize: 1216,
      pendingCount: 0,
      pending: [],
    },
  ],
};

interface Client {
  writes: { ref: string; offset: number; bytes: number[] }[];
}

describe('robust: channel inspector webview', () => {
  const panels: FakePanel[] = [];
  const logLines: string[] = [];
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const originalResolve = M._resolveFilename;
  const STUB_ID = path.join(ROOT, 'out', '__vscode_stub__.js');
  let inspector: typeof InspectorModule;
  let messages: typeof MessagesModule;
  let restore: typeof RestoreModule;
  const serializers = new Map<string, { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }>();
  let stub: ReturnType<typeof vscodeStub>;

  before(() => {
    const load = createRequire(__filename);
    const req = load as unknown as { cache: Record<string, unknown> };
    stub = vscodeStub(panels, serializers);
    req.cache[STUB_ID] = { id: STUB_ID, filename: STUB_ID, loaded: true, exports: stub, children: [], paths: [] };
    M._resolveFilename = function (request: string, ...rest: unknown[]) {
      if (request === 'vscode') return STUB_ID;
      return originalResolve.call(this, request, ...rest);
    };
    inspector = load('../../src/extension/inspector/inspector') as typeof InspectorModule;
    messages = load('../../src/extension/inspector/messages') as typeof MessagesModule;
    restore = load('../../src/extension/inspector/restore') as typeof RestoreModule;
  });
  after(() => {
    M._resolveFilename = originalResolve;
  });

  /** Open an inspector on a fake session whose client records every write. */
  async function open(device = '2:0', id = `s${panels.length}`): Promise<{ panel: FakePanel; client: Client }> {
    const client: Client = { writes: [] };
    const st = {
      session: { id },
      stopped: true,
      last: undefined,
      client: {
        channel: async () => CHANNEL,
        readMemory: async (_ref: string, _off: number, n: number) => new Uint8Array(n),
        writeMemory: async (ref: string, offset: number, bytes: Uint8Array) => {
          client.writes.push({ ref, offset, bytes: [...bytes] });
        },
      },
    };
    const sessions = { onDidChange: () => ({ dispose: () => undefined }) };
    const context = { extensionUri: { toString: () => '/ext' } };
    const log = { appendLine: (l: string) => logLines.push(l) };
    const show = inspector.ChannelInspector.show as unknown as (...a: unknown[]) => InspectorModule.ChannelInspector;
    // one tab per device: close the one a previous case opened, so this case gets its own panel
    for (const i of inspector.ChannelInspector.all()) if (i.device === device) i.dispose();
    const ins = show(context, sessions, log, st, device);
    await ins.refresh();
    return { panel: panels[panels.length - 1], client };
  }

  function csp(html: string): Map<string, string[]> {
    const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
    assert.ok(m, 'the page declares a Content-Security-Policy');
    const out = new Map<string, string[]>();
    for (const part of m[1].split(';')) {
      const [name, ...values] = part.trim().split(/\s+/);
      if (name) out.set(name, values);
    }
    return out;
  }

  it('the CSP allows nothing by default, scripts only with the panel nonce, and no remote source', async () => {
    const { panel } = await open('2:0', 'csp-1');
    const policy = csp(panel.html);
    assert.deepEqual(policy.get('default-src'), ["'none'"]);
    const nonce = /'nonce-([^']+)'/.exec((policy.get('script-src') ?? []).join(' '))?.[1];
    assert.ok(nonce && Buffer.from(nonce, 'base64').length >= 16, 'a nonce of at least 128 bits');
    assert.deepEqual(policy.get('script-src'), [`'nonce-${nonce}'`], 'scripts: the nonce and nothing else');
    for (const [directive, values] of policy) {
      for (const v of values) {
        assert.ok(!/unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval/.test(v), `${directive} ${v}`);
        assert.ok(v !== '*' && !/^(https?:|http:|data:|blob:|filesystem:|ws:|wss:)$/.test(v), `${directive} allows a whole scheme: ${v}`);
        assert.ok(v === "'none'" || v === "'self'" || v === CSP_SOURCE || v === `'nonce-${nonce}'`, `${directive}: only the webview's own resources, not ${v}`);
      }
    }
    // Every script carries the nonce and comes from the extension's media folder; no inline handlers.
    const scripts = [...panel.html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, new RegExp(`nonce="${nonce.replace(/[+/=]/g, (c) => `\\${c}`)}"`));
      assert.match(attrs, new RegExp(`src="${RESOURCE.replace(/[.+*]/g, (c) => `\\${c}`)}/ext/media/[\\w.-]+\\.js"`));
      assert.equal(body.trim(), '', 'no inline script body');
    }
    assert.doesNotMatch(panel.html, /\son[a-z]+\s*=/i, 'no inline event handler attributes');
    for (const [, url] of panel.html.matchAll(/\b(?:src|href)="([^"]*)"/g)) assert.ok(url.startsWith(RESOURCE), `only local webview resources: ${url}`);
    const other = await open('2:1', 'csp-2');
    assert.notEqual(/'nonce-([^']+)'/.exec(other.panel.html)?.[1], nonce, 'a fresh nonce per panel');
  });

  it('a device name with markup is escaped in the page', async () => {
    const { panel } = await open('<script>alert(1)</script>" onload="x', 'escape');
    assert.doesNotMatch(panel.html, /<script>alert/);
    assert.doesNotMatch(panel.html, /" onload="x/);
  });

  it('the webview script renders with textContent only and loads nothing itself', () => {
    const js = fs.readFileSync(path.join(ROOT, 'media', 'inspector.js'), 'utf8');
    for (const bad of [
      /\.innerHTML\s*=/,
      /\.outerHTML\s*=/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\s*\(/,
      /new\s+Function\s*\(/,
      /\bfetch\s*\(/,
      /XMLHttpRequest/,
      /WebSocket/,
      /EventSource/,
      /sendBeacon/,
      /\bimport\s*\(/,
      /setTimeout\s*\(\s*['"`]/,
    ]) {
      assert.doesNotMatch(js, bad, `media/inspector.js uses ${bad}`);
    }
    // Messages from the extension are checked for a type before use.
    assert.match(js, /typeof m\.type !== 'string'/);
  });

  it('parseWebviewMessage: any structured-clone value is either refused or a well-typed message', () => {
    const near = fc.record(
      {
        type: fc.oneof(
          fc.constantFrom('ready', 'refresh', 'openBinary', 'window', 'writeField', 'update', 'READY', '', '__proto__', 'constructor'),
          fc.anything(),
        ),
        offset: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 2 ** 53, Number.NaN, Infinity), fc.string(), fc.constant(null)),
        size: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double(), fc.string()),
        name: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(undefined)),
        value: fc.oneof(fc.string({ maxLength: 12000 }), fc.integer(), fc.array(fc.string())),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), near, fc.jsonValue()), (raw) => {
        const m = messages.parseWebviewMessage(raw);
        if (m === undefined) return;
        assert.ok(['ready', 'refresh', 'openBinary', 'window', 'writeField'].includes(m.type));
        if (m.type === 'window') assert.ok(Number.isSafeInteger(m.offset) && m.offset >= 0);
        if (m.type === 'writeField') {
          assert.ok(typeof m.name === 'string' && m.name.length <= 200);
          assert.ok(Number.isSafeInteger(m.offset) && m.offset >= 0);
          assert.ok(Number.isSafeInteger(m.size) && m.size > 0 && m.size <= 4096);
          assert.ok(typeof m.value === 'string' && m.value.length <= 10000);
        }
        assert.deepEqual(
          Object.keys(m).sort(),
          Object.keys(m)
            .filter((k) => ['type', 'offset', 'name', 'size', 'value'].includes(k))
            .sort(),
          'no extra fields pass through',
        );
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('through the real panel: malformed, mistyped and unauthorised messages never reach writeMemory', async () => {
    const { panel, client } = await open('2:0', 'writes');
    const writable = [...CHANNEL.header, ...CHANNEL.queues[0].fields].filter((f) => f.writable);
    const msg = fc.oneof(
      fc.anything(),
      fc.record({
        type: fc.constant('writeField'),
        name: fc.constantFrom('signature', 'features', 'head', 'nosuch', 'zone_guid'),
        offset: fc.integer({ min: -1, max: 5000 }),
        size: fc.integer({ min: 0, max: 20 }),
        value: fc.oneof(fc.string(), fc.constantFrom('0', '0x1', '-1', '18446744073709551616', 'hex:00', '"abc"', '414815ed-c58c-11da-95a9-00e08161165f')),
      }),
      fc.record({ type: fc.constantFrom('window', 'ready', 'refresh', 'openBinary'), offset: fc.oneof(fc.integer({ min: -10, max: 10000 }), fc.string()) }),
    );
    await fc.assert(
      fc.asyncProperty(msg, async (raw) => {
        client.writes.length = 0;
        await panel.receive(raw);
        const m = messages.parseWebviewMessage(raw);
        for (const w of client.writes) {
          assert.ok(m && m.type === 'writeField', `a write without a writeField message: ${JSON.stringify(w)}`);
          const f = writable.find((x) => x.name === m.name && x.offset === m.offset && x.size === m.size);
          assert.ok(f, `a write to a field that is not writable or not there: ${JSON.stringify(m)}`);
          assert.equal(w.offset, f.offset);
          assert.equal(w.bytes.length, f.size, 'exactly the bytes of the field');
        }
      }),
      { seed: SEED, numRuns: 800 },
    );
    assert.ok(
      logLines.some((l) => /ignored malformed message from the webview/.test(l)),
      'malformed messages are logged',
    );
    // A well-formed write to a read-only field is refused with a reason sent back to the webview.
    panel.posted.length = 0;
    await panel.receive({ type: 'writeField', name: 'signature', offset: 0, size: 8, value: '1' });
    assert.deepEqual(
      panel.posted.find((p) => (p as { type: string }).type === 'writeResult'),
      { type: 'writeResult', ok: false, name: 'signature', message: 'field signature is read-only' },
    );
    // And a good one goes through, encoded little-endian to the field's size.
    client.writes.length = 0;
    await panel.receive({ type: 'writeField', name: 'head', offset: 188, size: 4, value: '0x0102' });
    assert.deepEqual(client.writes, [{ ref: 'ch:2:0', offset: 188, bytes: [2, 1, 0, 0] }]);
  });

  it('a tab restored after a window reload shows its device with "no session"; a state without a device is closed', async () => {
    const sessions = { onDidChange: () => ({ dispose: () => undefined }), current: undefined };
    const context = { extensionUri: { toString: () => '/ext' } };
    const log = { appendLine: (l: string) => logLines.push(l) };
    const reg = restore.registerInspectorRestore as unknown as (...a: unknown[]) => { dispose(): void };
    const registration = reg(context, sessions, log);
    const serializer = serializers.get('visorbus.channelInspector');
    assert.ok(serializer, 'a serializer for the inspector view type');
    // the webview keeps its device in the state VS Code hands back
    const js = fs.readFileSync(path.join(ROOT, 'media', 'inspector.js'), 'utf8');
    assert.match(js, /vscode\.setState\(\{ device: document\.body\.getAttribute\('data-device'\) \}\)/);
    await serializer.deserializeWebviewPanel(stub.window.createWebviewPanel(), { device: '2:3' });
    const fake = panels[panels.length - 1];
    const ins = inspector.ChannelInspector.all().find((i) => i.device === '2:3');
    assert.ok(ins, 'the inspector of 2:3 is back');
    assert.equal(ins.view.kind, 'noSession');
    assert.equal(ins.view.status, 'no session');
    assert.match(fake.html, /data-device="2:3"/);
    assert.match(fake.html, /<title>Channel vbus2:dev3<\/title>/);
    // a state that names no device (or markup) is not restored
    for (const state of [undefined, {}, { device: '<b>x</b>' }, { device: 7 }]) {
      await serializer.deserializeWebviewPanel(stub.window.createWebviewPanel(), state);
      assert.equal(panels[panels.length - 1].disposed, true, JSON.stringify(state));
    }
    registration.dispose();
  });
});
