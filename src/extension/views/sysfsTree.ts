/**
 * "sysfs": /sys/bus/visorbus, /sys/devices/visorbus*, /sys/devices/platform/visorchipset, read
 * lazily one directory at a time through `visorbus/sysfs`. Files show their value; writable ones
 * get an inline "Write Attribute…" action (`visorbus/sysfsWrite`).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { SysfsEntry } from '../protocol';
import { errorText, VisorbusModel } from './model';

export const SYSFS_FIXED_ROOTS = ['/sys/bus/visorbus', '/sys/devices/platform/visorchipset'];

export class SysfsNode {
  kind: SysfsEntry['kind'] = 'dir';
  value?: string;
  target?: string;
  writable = false;
  root = false;
  constructor(readonly path: string) {}
  get name(): string {
    return path.posix.basename(this.path);
  }
  update(e: SysfsEntry): void {
    this.kind = e.kind;
    this.value = e.value;
    this.target = e.target;
    this.writable = e.writable;
  }
  /** Absolute path a link points at. */
  get resolvedTarget(): string | undefined {
    return this.target === undefined ? undefined : path.posix.resolve(path.posix.dirname(this.path), this.target);
  }
}

export class SysfsMessage {
  constructor(
    readonly text: string,
    readonly error: boolean,
    readonly parent?: SysfsNode,
  ) {}
}

export type SysfsTreeNode = SysfsNode | SysfsMessage;

export class SysfsTreeProvider implements vscode.TreeDataProvider<SysfsTreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<SysfsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly nodes = new Map<string, SysfsNode>();
  private readonly listings = new Map<string, Promise<SysfsEntry[]>>();
  private roots: string[] = [];
  private readonly subscription: vscode.Disposable;

  constructor(private readonly model: VisorbusModel) {
    this.subscription = model.onDidInvalidate(() => this.refresh());
  }

  refresh(): void {
    this.listings.clear();
    this.emitter.fire(undefined);
  }

  /** The interned node of a path (its data is filled in when its directory is listed). */
  node(p: string): SysfsNode {
    let n = this.nodes.get(p);
    if (!n) this.nodes.set(p, (n = new SysfsNode(p)));
    return n;
  }

  private list(dir: string): Promise<SysfsEntry[]> | undefined {
    const st = this.model.session;
    if (!st) return undefined;
    let p = this.listings.get(dir);
    if (!p) {
      p = st.client.sysfs(dir);
      this.listings.set(dir, p);
      p.catch(() => this.listings.delete(dir));
    }
    return p;
  }

  async getChildren(node?: SysfsTreeNode): Promise<SysfsTreeNode[]> {
    if (node instanceof SysfsMessage) return [];
    if (!node) {
      const topo = this.model.topology();
      if (!topo) {
        this.nodes.clear();
        return [];
      }
      let buses: string[] = [];
      try {
        buses = (await topo).buses.map((b) => b.sysfsPath);
      } catch (e) {
        return [new SysfsMessage(errorText(e), true)];
      }
      this.roots = [SYSFS_FIXED_ROOTS[0], ...buses, SYSFS_FIXED_ROOTS[1]];
      return this.roots.map((r) => {
        const n = this.node(r);
        n.root = true;
        n.kind = 'dir';
        return n;
      });
    }
    if (node.kind !== 'dir') return [];
    const listing = this.list(node.path);
    if (!listing) return [];
    try {
      const entries = await listing;
      return entries.map((e) => {
        const n = this.node(e.path);
        n.update(e);
        return n;
      });
    } catch (e) {
      return [new SysfsMessage(errorText(e), true, node)];
    }
  }

  getParent(node: SysfsTreeNode): SysfsTreeNode | undefined {
    if (node instanceof SysfsMessage) return node.parent;
    if (node.root || this.roots.includes(node.path)) return undefined;
    const parent = path.posix.dirname(node.path);
    return parent === node.path ? undefined : this.node(parent);
  }

  /** Whether a path lies under one of the roots (and so can be revealed). */
  isShown(p: string): boolean {
    return this.roots.some((r) => p === r || p.startsWith(r + '/'));
  }

  getTreeItem(node: SysfsTreeNode): vscode.TreeItem {
    if (node instanceof SysfsMessage) {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
      return item;
    }
    const dir = node.kind === 'dir';
    const item = new vscode.TreeItem(node.root ? node.path : node.name, dir ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `sysfs:${node.path}`;
    item.tooltip = node.path;
    if (node.kind === 'file') {
      item.description = node.value ?? '';
      item.tooltip = new vscode.MarkdownString(`\`${node.path}\`${node.writable ? ' (writable)' : ''}\n\n\`\`\`\n${node.value ?? ''}\n\`\`\``);
      item.iconPath = new vscode.ThemeIcon(node.writable ? 'edit' : 'file');
      item.contextValue = node.writable ? 'sysfsWritable' : 'sysfsFile';
    } else if (node.kind === 'link') {
      item.description = `-> ${node.target ?? '?'}`;
      item.iconPath = new vscode.ThemeIcon('link');
      item.contextValue = 'sysfsLink';
      item.command = { command: 'visorbus.sysfs.followLink', title: 'Follow Link', arguments: [node] };
    } else {
      item.iconPath = vscode.ThemeIcon.Folder;
      item.contextValue = 'sysfsDir';
    }
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
