/**
 * What the tree views show, fetched from the current visorbus session and cached until the next
 * change (a `stopped`, `memory` or `visorbus/changed` event, another session). Several views share
 * one topology request per change; device lists are fetched in pages.
 */
import * as vscode from 'vscode';
import { VisorbusSessions, SessionState } from '../debug/sessions';
import { DEVICE_PAGE_SIZE, DeviceInfo, Topology } from '../protocol';

interface DeviceCache {
  devices: DeviceInfo[];
  total: number;
}

export class VisorbusModel implements vscode.Disposable {
  private generation = 0;
  private topologyPromise: Promise<Topology> | undefined;
  private readonly devicePromises = new Map<number, Promise<DeviceCache>>();
  private readonly deviceCaches = new Map<number, DeviceCache>();
  /** How many devices of each bus the user asked to see ("Load more…" adds a page). */
  private readonly wanted = new Map<number, number>();
  private sessionId: string | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fired when the cached data was dropped: views re-read. */
  readonly onDidInvalidate = this.emitter.event;
  private readonly busEmitter = new vscode.EventEmitter<number>();
  /** Fired when more devices of one bus were requested. */
  readonly onDidLoadMore = this.busEmitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly sessions: VisorbusSessions) {
    this.subscription = sessions.onDidChange((e) => {
      // `continued` changes nothing the views show; the adapter sends visorbus/changed when it matters
      if (e.reason === 'continued' || e.reason === 'timeline') return;
      this.schedule();
    });
  }

  get session(): SessionState | undefined {
    return this.sessions.current;
  }

  /** Coalesce bursts of events (a `stopped` with its `visorbus/changed`) into one refresh. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.invalidate();
    }, 25);
  }

  invalidate(): void {
    this.generation++;
    this.topologyPromise = undefined;
    this.devicePromises.clear();
    this.deviceCaches.clear();
    const id = this.sessions.current?.session.id;
    if (id !== this.sessionId) {
      this.sessionId = id;
      this.wanted.clear();
    }
    this.emitter.fire();
  }

  topology(): Promise<Topology> | undefined {
    const st = this.session;
    if (!st) return undefined;
    this.topologyPromise ??= st.client.topology();
    return this.topologyPromise;
  }

  /** The devices of a bus the user asked to see so far (first page by default). */
  devices(bus: number): Promise<DeviceCache> | undefined {
    const st = this.session;
    if (!st) return undefined;
    let p = this.devicePromises.get(bus);
    if (!p) {
      const want = this.wanted.get(bus) ?? DEVICE_PAGE_SIZE;
      const have = this.deviceCaches.get(bus);
      const start = have?.devices.length ?? 0;
      const gen = this.generation;
      p = st.client.devices(bus, start, Math.max(0, want - start)).then((page) => {
        const cache = { devices: [...(have?.devices ?? []), ...page.devices], total: page.total };
        if (gen === this.generation) this.deviceCaches.set(bus, cache);
        return cache;
      });
      this.devicePromises.set(bus, p);
      p.catch(() => this.devicePromises.delete(bus));
    }
    return p;
  }

  loadMore(bus: number): void {
    this.wanted.set(bus, (this.wanted.get(bus) ?? DEVICE_PAGE_SIZE) + DEVICE_PAGE_SIZE);
    this.devicePromises.delete(bus);
    this.busEmitter.fire(bus);
  }

  /** A device already fetched by a view (no request). */
  cachedDevice(id: string): DeviceInfo | undefined {
    for (const c of this.deviceCaches.values()) {
      const d = c.devices.find((x) => x.id === id || x.name === id);
      if (d) return d;
    }
    return undefined;
  }

  /** Find a device by id, fetching its bus's pages if needed (for commands given a name). */
  async findDevice(id: string): Promise<DeviceInfo | undefined> {
    const cached = this.cachedDevice(id);
    if (cached) return cached;
    const m = /^(?:vbus)?(\d+):(?:dev)?(\d+)$/.exec(id);
    const st = this.session;
    if (!m || !st) return undefined;
    const bus = Number(m[1]);
    const dev = Number(m[2]);
    for (let start = 0; ; start += DEVICE_PAGE_SIZE) {
      const page = await st.client.devices(bus, start, DEVICE_PAGE_SIZE);
      const found = page.devices.find((d) => d.dev === dev);
      if (found || page.devices.length === 0 || start + page.devices.length >= page.total) return found;
    }
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.subscription.dispose();
    this.emitter.dispose();
    this.busEmitter.dispose();
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
