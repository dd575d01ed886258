/**
 * Activation floor for `npm run bench`: the smallest useful extension — one output channel,
 * one command, one tree view — loaded and activated exactly like dist/extension.js (same
 * fake vscode module, same process setup). The real activation time is reported as a
 * ratio to this one, measured in the same run.
 */
'use strict';
const vscode = require('vscode');

exports.activate = function activate(context) {
  const output = vscode.window.createOutputChannel('Floor');
  const emitter = new vscode.EventEmitter();
  const provider = { onDidChangeTreeData: emitter.event, getChildren: () => [], getTreeItem: (x) => new vscode.TreeItem(String(x)) };
  context.subscriptions.push(
    output,
    emitter,
    vscode.window.createTreeView('floor.view', { treeDataProvider: provider }),
    vscode.commands.registerCommand('floor.hello', () => output.appendLine('hello')),
  );
  return { output };
};

exports.deactivate = function deactivate() {};
