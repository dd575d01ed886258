/**
 * "Buses & Devices": bus -> devices (paged, "Load more…") -> details. A device shows its state
 * (running/paused/unbound), bound driver, type name, channel address and size and queue fill.
 */
import * as vscode from 'vscode';
import { BusInfo, DEVICE_PAGE_SIZE, DeviceInfo, hex, QueueFill } from '../protocol';
import { errorText, VisorbusModel } from './model';

export type DevicesNode = BusNode | DeviceNode | DetailNode | MoreNode | MessageNode;

export class BusNode {
  readonly kind = 'bus';
  constructor(public info: BusInfo) {}
}
export class DeviceNode {
  readonly kind = 'device';
  constructor(
    public info: DeviceInfo,
    readonly parent: BusNode,
  ) {}
}
export class DetailNode {
  readonly kind = 'detail';
  constructor(
    readonly parent: DeviceNode,
    readonly label: string,
    readonly description: string,
    readonly tooltip?: string,
    readonly icon?: string,
  ) {}
}
export class MoreNode {
  readonly kind = 'more';
  constructor(
    readonly parent: BusNode,
    readonly shown: number,
    readonly total: number,
  ) {}
}
export class MessageNode {
  readonly kind = 'message';
  constructor(
    readonly text: string,
    readonly error: boolean,
  ) {}
}

export const STATE_ICONS: Record<string, [string, string]> = {
  running: ['pass-filled', 'testing.iconPassed'],
  paused: ['debug-pause', 'debugIcon.pauseForeground'],
  unbound: ['circle-slash', 'disabledForeground'],
};

function capacity(q: QueueFill): number {
  return Math.max(0, q.maxSlots - 1);
}

export function queueFill(queues: QueueFill[]): string {
  return queues.map((q) => `${q.pending}/${capacity(q)}`).join(' ');
}

export function deviceDescription(d: DeviceInfo): string {
  const parts = [d.driver ?? 'no driver', d.typeName || d.typeGuid.slice(0, 8)];
  parts.push(`${hex(d.physaddr)} (${d.nbytes} bytes)`);
  if (d.queues.length) parts.push(`q ${queueFill(d.queues)}`);
  return parts.join(' · ');
}

export function deviceTooltip(d: DeviceInfo): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${d.name}** — ${d.state}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| driver | ${d.driver ?? '—'} |\n`);
  md.appendMarkdown(`| type | ${d.typeName || '(unclaimed)'} \`${d.typeGuid}\` |\n`);
  md.appendMarkdown(`| zone | \`${d.zoneGuid}\` |\n`);
  md.appendMarkdown(`| channel | ${hex(d.physaddr)}, ${d.nbytes} bytes |\n`);
  for (const q of d.queues) {
    md.appendMarkdown(`| queue ${q.index} | head ${q.head}, tail ${q.tail}, ${q.pending}/${capacity(q)} pending, ${q.signalSize}-byte signals |\n`);
  }
  md.appendMarkdown(`| sysfs | \`${d.sysfsPath}\` |\n`);
  return md;
}

export class DevicesTreeProvider implements vscode.TreeDataProvider<DevicesNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<DevicesNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly buses = new Map<number, BusNode>();
  private readonly devices = new Map<string, DeviceNode>();
  private readonly subscriptions: vscode.Disposable[];
  private readonly loadMoreCommands = new Set<number>();

  constructor(private readonly model: VisorbusModel) {
    this.subscriptions = [model.onDidInvalidate(() => this.emitter.fire(undefined)), model.onDidLoadMore((bus) => this.emitter.fire(this.buses.get(bus)))];
  }

  /** The device node for `2:0` / `vbus2:dev0` if the view has shown it. */
  deviceNode(id: string): DeviceNode | undefined {
    for (const n of this.devices.values()) if (n.info.id === id || n.info.name === id) return n;
    return undefined;
  }

  /** Names of the devices the view currently lists (for tests and quick picks). */
  shownDevices(): DeviceInfo[] {
    return [...this.devices.values()].map((n) => n.info);
  }

  async getChildren(node?: DevicesNode): Promise<DevicesNode[]> {
    try {
      if (!node) return await this.rootChildren();
      if (node instanceof BusNode) return await this.busChildren(node);
      if (node instanceof DeviceNode) return this.deviceDetails(node);
      return [];
    } catch (e) {
      return [new MessageNode(errorText(e), true)];
    }
  }

  private async rootChildren(): Promise<DevicesNode[]> {
    const topo = this.model.topology();
    if (!topo) {
      this.buses.clear();
      this.devices.clear();
      return [];
    }
    const t = await topo;
    if (t.buses.length === 0) return [new MessageNode(t.chipset.initialized ? 'no buses yet' : 'chipset not initialized yet', false)];
    const seen = new Set<number>();
    const nodes = t.buses.map((b) => {
      seen.add(b.bus);
      let n = this.buses.get(b.bus);
      if (n) n.info = b;
      else this.buses.set(b.bus, (n = new BusNode(b)));
      return n;
    });
    for (const k of [...this.buses.keys()]) if (!seen.has(k)) this.buses.delete(k);
    return nodes;
  }

  private async busChildren(bus: BusNode): Promise<DevicesNode[]> {
    const p = this.model.devices(bus.info.bus);
    if (!p) return [];
    const { devices, total } = await p;
    const nodes: DevicesNode[] = devices.map((d) => {
      let n = this.devices.get(d.id);
      if (n && n.parent === bus) n.info = d;
      else this.devices.set(d.id, (n = new DeviceNode(d, bus)));
      return n;
    });
    if (total > devices.length) nodes.push(new MoreNode(bus, devices.length, total));
    return nodes;
  }

  private deviceDetails(node: DeviceNode): DevicesNode[] {
    const d = node.info;
    const out = [
      new DetailNode(node, 'driver', d.driver ?? '(none bound)', undefined, 'extensions'),
      new DetailNode(node, 'type', `${d.typeName || '(unclaimed)'} ${d.typeGuid}`, d.typeGuid, 'symbol-interface'),
      new DetailNode(node, 'zone', d.zoneGuid, d.zoneGuid, 'globe'),
      new DetailNode(node, 'channel', `${hex(d.physaddr)}, ${d.nbytes} bytes`, `memoryReference ${d.memoryReference}`, 'circuit-board'),
    ];
    for (const q of d.queues) {
      out.push(
        new DetailNode(
          node,
          `queue ${q.index}`,
          `${q.pending}/${capacity(q)} pending · head ${q.head} · tail ${q.tail}`,
          `${q.maxSlots} slots of ${q.signalSize} bytes`,
          q.pending ? 'inbox' : 'circle-large-outline',
        ),
      );
    }
    out.push(new DetailNode(node, 'sysfs', d.sysfsPath, d.sysfsPath, 'folder'));
    return out;
  }

  getParent(node: DevicesNode): DevicesNode | undefined {
    if (node instanceof DeviceNode || node instanceof DetailNode || node instanceof MoreNode) return node.parent;
    return undefined;
  }

  getTreeItem(node: DevicesNode): vscode.TreeItem {
    if (node instanceof BusNode) {
      const b = node.info;
      const item = new vscode.TreeItem(b.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `bus/${b.bus}`;
      item.description = [b.partitionName, `${b.deviceCount} device${b.deviceCount === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
      item.iconPath = new vscode.ThemeIcon('server-environment');
      item.contextValue = 'bus';
      item.tooltip = new vscode.MarkdownString(
        `**${b.name}**${b.partitionName ? ` (${b.partitionName})` : ''}\n\n` +
          `bus channel ${hex(b.channel.physaddr)}, ${b.channel.nbytes} bytes\n\ntype \`${b.channel.typeGuid}\`\n\nsysfs \`${b.sysfsPath}\``,
      );
      return item;
    }
    if (node instanceof DeviceNode) {
      const d = node.info;
      const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `dev/${d.id}`;
      item.description = deviceDescription(d);
      item.tooltip = deviceTooltip(d);
      const [icon, color] = STATE_ICONS[d.state] ?? ['question', 'foreground'];
      item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
      item.contextValue = `device${d.state[0].toUpperCase()}${d.state.slice(1)}`;
      item.accessibilityInformation = { label: `${d.name}, ${d.state}, ${deviceDescription(d)}` };
      return item;
    }
    if (node instanceof DetailNode) {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = `dev/${node.parent.info.id}/${node.label}`;
      item.description = node.description;
      item.tooltip = node.tooltip;
      if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = 'detail';
      return item;
    }
    if (node instanceof MoreNode) {
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = `bus/${node.parent.info.bus}/more`;
      item.description = `${node.shown} of ${node.total} shown`;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: this.loadMoreCommand(node.parent.info.bus), title: `Load ${DEVICE_PAGE_SIZE} more` };
      item.contextValue = 'more';
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
    return item;
  }

  /**
   * The command of a bus's "Load more…" item: one without arguments per bus. A tree item command
   * with arguments is only a cached reference that VS Code drops when the tree refreshes, so Enter
   * on a row still showing the old item would do nothing ("Actual command not found").
   */
  private loadMoreCommand(bus: number): string {
    const id = `visorbus.loadMore.bus${bus}`;
    if (!this.loadMoreCommands.has(bus)) {
      this.loadMoreCommands.add(bus);
      this.subscriptions.push(vscode.commands.registerCommand(id, () => this.model.loadMore(bus)));
    }
    return id;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.emitter.dispose();
  }
}
