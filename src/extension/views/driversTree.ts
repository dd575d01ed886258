/** "Function Drivers": driver -> the channel types it claims (GUID, name) and the devices bound to it. */
import * as vscode from 'vscode';
import { DriverInfo } from '../protocol';
import { GUID_DESCRIPTIONS } from '../../emulator/protocol/guid';
import { errorText, VisorbusModel } from './model';

export type DriversNode =
  | { kind: 'driver'; info: DriverInfo }
  | { kind: 'group'; driver: DriverInfo; group: 'types' | 'devices' }
  | { kind: 'channelType'; driver: DriverInfo; guid: string; name: string; minBytes: number; version: number }
  | { kind: 'boundDevice'; driver: DriverInfo; name: string }
  | { kind: 'message'; text: string; error: boolean };

export class DriversTreeProvider implements vscode.TreeDataProvider<DriversNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<DriversNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly model: VisorbusModel) {
    this.subscription = model.onDidInvalidate(() => this.emitter.fire(undefined));
  }

  async getChildren(node?: DriversNode): Promise<DriversNode[]> {
    if (!node) {
      const topo = this.model.topology();
      if (!topo) return [];
      try {
        const t = await topo;
        if (t.drivers.length === 0) return [{ kind: 'message', text: 'no function driver registered yet', error: false }];
        return t.drivers.map((info) => ({ kind: 'driver', info }));
      } catch (e) {
        return [{ kind: 'message', text: errorText(e), error: true }];
      }
    }
    if (node.kind === 'driver') {
      return [
        { kind: 'group', driver: node.info, group: 'types' },
        { kind: 'group', driver: node.info, group: 'devices' },
      ];
    }
    if (node.kind === 'group') {
      return node.group === 'types'
        ? node.driver.channelTypes.map((ct) => ({ kind: 'channelType', driver: node.driver, ...ct }))
        : node.driver.devices.map((name) => ({ kind: 'boundDevice', driver: node.driver, name }));
    }
    return [];
  }

  getTreeItem(node: DriversNode): vscode.TreeItem {
    switch (node.kind) {
      case 'driver': {
        const d = node.info;
        const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `drv/${d.name}`;
        item.description = `${d.builtin ? 'built-in' : 'module'} · ${d.devices.length} bound`;
        item.iconPath = new vscode.ThemeIcon('extensions');
        item.contextValue = 'driver';
        item.tooltip = `${d.name}: ${d.channelTypes.map((c) => c.name).join(', ') || 'no channel types'}; bound to ${d.devices.join(', ') || 'no device'}`;
        return item;
      }
      case 'group': {
        const n = node.group === 'types' ? node.driver.channelTypes.length : node.driver.devices.length;
        const item = new vscode.TreeItem(
          node.group === 'types' ? 'Channel types' : 'Bound devices',
          n ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `drv/${node.driver.name}/${node.group}`;
        item.description = String(n);
        return item;
      }
      case 'channelType': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `drv/${node.driver.name}/types/${node.guid}`;
        item.description = node.guid;
        item.iconPath = new vscode.ThemeIcon('symbol-interface');
        item.contextValue = 'channelType';
        item.tooltip = new vscode.MarkdownString(
          `**${node.name}** \`${node.guid}\`\n\n${GUID_DESCRIPTIONS[node.guid] ?? ''}\n\nminimum ${node.minBytes} bytes, version ${node.version}`,
        );
        return item;
      }
      case 'boundDevice': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `drv/${node.driver.name}/devices/${node.name}`;
        item.iconPath = new vscode.ThemeIcon('plug');
        item.contextValue = 'boundDevice';
        item.command = { command: 'visorbus.device.reveal', title: 'Show in Buses & Devices', arguments: [node.name] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
        return item;
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
