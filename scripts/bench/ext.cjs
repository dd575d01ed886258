/**
 * Extension benchmarks (`npm run bench`, figure 4), run in plain Node with the fake vscode
 * module of fakevscode.cjs:
 *
 *   node scripts/bench/ext.cjs activate ROOT MODULE   one cold require()+activate(), JSON
 *   node scripts/bench/ext.cjs tree ROOT DEVICES [PER_BUS] [ROUNDS]
 *
 * `tree` activates dist/extension.js, makes a fake visorbus debug session the active one
 * (it answers `visorbus/topology` and `visorbus/devices` pages from JSON text, as a DAP
 * response would arrive), and times the Buses & Devices provider: the root, each bus's
 * first page, and "Load more…" until every device is listed, plus getTreeItem for every
 * node. The floor is the same requests answered by the same fake session, without the
 * tree (fetch + parse only).
 */
'use strict';
const path = require('node:path');
const { install, fakeContext, state } = require('./fakevscode.cjs');

const now = () => Number(process.hrtime.bigint()) / 1e6;

function activateOnce(root, modulePath) {
  install();
  const t0 = now();
  const ext = require(path.resolve(root, modulePath));
  const t1 = now();
  const ctx = fakeContext(root);
  const api = ext.activate(ctx);
  const t2 = now();
  return { requireMs: t1 - t0, activateMs: t2 - t1, totalMs: t2 - t0, subscriptions: ctx.subscriptions.length, api };
}

function guid(i) {
  const h = (i >>> 0).toString(16).padStart(8, '0');
  return `${h}-0d2f-4c55-9e61-62656e636831`;
}

/** What `visorbus/devices` returns for one device (docs/dap-extensions.md). */
function deviceInfo(bus, dev, i) {
  const physaddr = 0x10000000 + i * 0x11000;
  return {
    id: `${bus}:${dev}`,
    name: `vbus${bus}:dev${dev}`,
    bus,
    dev,
    state: 'running',
    driver: 'benchpoll',
    typeGuid: 'b3c4e7a1-0d2f-4c55-9e61-62656e636831',
    typeName: 'benchpoll',
    zoneGuid: guid(i),
    physaddr,
    nbytes: 65536,
    sysfsPath: `/sys/devices/visorbus${bus}/vbus${bus}:dev${dev}`,
    memoryReference: `0x${physaddr.toString(16)}`,
    queues: [
      { index: 0, head: 3, tail: 1, maxSlots: 64, pending: 2, signalSize: 128 },
      { index: 1, head: 0, tail: 0, maxSlots: 64, pending: 0, signalSize: 128 },
    ],
  };
}

/** A fake vscode.DebugSession whose customRequest answers from pre-serialized JSON. */
function fakeSession(devices, perBus, id = 'bench-session') {
  const buses = [];
  const byBus = new Map();
  for (let i = 0, b = 1; i < devices; b++) {
    const list = [];
    for (let d = 0; d < perBus && i < devices; d++, i++) list.push(deviceInfo(b, d, i));
    byBus.set(b, list);
    buses.push({
      bus: b,
      name: `visorbus${b}`,
      partitionName: null,
      sysfsPath: `/sys/devices/visorbus${b}`,
      channel: {
        physaddr: 0x8000000 + b * 0x2000,
        nbytes: 8192,
        typeGuid: '193b331b-c58f-11da-95a9-00e08161165f',
        memoryReference: '0x' + (0x8000000 + b * 0x2000).toString(16),
      },
      deviceCount: list.length,
    });
  }
  const topology = JSON.stringify({ time: { jiffies: 0, hz: 1000, ms: 0 }, buses, drivers: [], chipset: { initialized: true, features: 0 } });
  const pages = new Map(); // serialized pages are built lazily and cached: the adapter's cost is not the tree's
  const stats = { requests: 0, bytes: 0 };
  const page = (bus, start, count) => {
    const key = `${bus}/${start}/${count}`;
    let s = pages.get(key);
    if (!s) {
      const list = byBus.get(bus) ?? [];
      s = JSON.stringify({ total: list.length, devices: list.slice(start, start + count) });
      pages.set(key, s);
    }
    return s;
  };
  return {
    stats,
    page,
    session: {
      id,
      type: 'visorbus',
      name: 'bench',
      configuration: { type: 'visorbus', request: 'launch', name: 'bench' },
      workspaceFolder: undefined,
      async customRequest(command, args) {
        stats.requests++;
        let text;
        if (command === 'visorbus/topology') text = topology;
        else if (command === 'visorbus/devices') text = page(args.bus, args.start ?? 0, args.count ?? 200);
        else throw new Error(`fake session: ${command} not supported`);
        stats.bytes += text.length;
        return JSON.parse(text);
      },
      getDebugProtocolBreakpoint: async () => undefined,
    },
  };
}

async function tree(root, devices, perBus, rounds) {
  const { api } = activateOnce(root, 'dist/extension.js');
  const provider = api.devices;
  const model = api.model;
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const fake = fakeSession(devices, perBus, `bench-session-${r}`);
    // warm the fake's serialized pages so the timing below is the extension's work
    for (let b = 1; b <= Math.ceil(devices / perBus); b++) for (let s = 0; s < Math.min(perBus, devices); s += 200) fake.page(b, s, 200);
    state.activeDebugSession = fake.session;
    model.invalidate();
    const t0 = now();
    const roots = await provider.getChildren(undefined);
    const tRoot = now();
    let firstPages = 0;
    let shown = 0;
    let loadMores = 0;
    const all = [...roots];
    for (const bus of roots) {
      let kids = await provider.getChildren(bus);
      if (firstPages === 0) firstPages = now() - tRoot;
      // "Load more…" until the bus is fully listed (each click re-reads the bus's children)
      while (kids.length && kids[kids.length - 1].kind === 'more') {
        const more = kids[kids.length - 1];
        model.loadMore(more.parent.info.bus);
        loadMores++;
        kids = await provider.getChildren(bus);
      }
      shown += kids.length;
      all.push(...kids);
    }
    const tAll = now();
    for (const n of all) provider.getTreeItem(n);
    const tItems = now();
    const requests = fake.stats.requests;

    // floor: the same requests through the same fake session, no tree
    const fake2 = fakeSession(devices, perBus);
    for (let b = 1; b <= Math.ceil(devices / perBus); b++) for (let s = 0; s < Math.min(perBus, devices); s += 200) fake2.page(b, s, 200);
    const f0 = now();
    const topo = await fake2.session.customRequest('visorbus/topology', {});
    let fetched = 0;
    for (const b of topo.buses) {
      for (let start = 0; start < b.deviceCount; start += 200) {
        const p = await fake2.session.customRequest('visorbus/devices', { bus: b.bus, start, count: 200 });
        fetched += p.devices.length;
      }
    }
    const f1 = now();
    results.push({
      rootMs: tRoot - t0,
      firstPageMs: firstPages,
      allChildrenMs: tAll - t0,
      treeItemsMs: tItems - tAll,
      nodes: all.length,
      devicesShown: shown,
      loadMores,
      requests,
      floorMs: f1 - f0,
      floorDevices: fetched,
      floorRequests: fake2.stats.requests,
    });
  }
  state.activeDebugSession = undefined;
  return results;
}

async function main() {
  const [mode, root, a, b, c] = process.argv.slice(2);
  if (mode === 'activate') {
    const r = activateOnce(root, a);
    delete r.api;
    process.stdout.write(JSON.stringify(r) + '\n');
  } else if (mode === 'tree') {
    const r = await tree(root, Number(a), Number(b ?? 16), Number(c ?? 5));
    process.stdout.write(JSON.stringify(r) + '\n');
  } else throw new Error('usage: ext.cjs activate|tree ROOT ...');
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
