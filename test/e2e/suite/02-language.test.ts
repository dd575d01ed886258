// Language features of .visor files through VS Code's own provider commands.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { api, exampleScenario, waitFor } from './helpers';

async function visorEditor(content: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument({ language: 'visor', content });
  return vscode.window.showTextDocument(doc);
}

function diagnosticsOf(uri: vscode.Uri, pred: (d: readonly vscode.Diagnostic[]) => boolean): Promise<readonly vscode.Diagnostic[]> {
  return waitFor('diagnostics', vscode.languages.onDidChangeDiagnostics, () => {
    const d = vscode.languages.getDiagnostics(uri);
    return pred(d) ? d : undefined;
  });
}

suite('visor language', () => {
  suiteSetup(() => api());
  teardown(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  test('diagnostics appear as you type and go when fixed', async () => {
    const editor = await visorEditor('chipset init\n');
    const uri = editor.document.uri;
    await editor.edit((e) => e.insert(new vscode.Position(1, 0), 'device create 2:0 type=nosuchtype\nfrobnicate 3\n'));
    const diags = await diagnosticsOf(uri, (d) => d.length >= 2);
    assert.ok(diags.every((d) => d.severity === vscode.DiagnosticSeverity.Error || d.severity === vscode.DiagnosticSeverity.Warning));
    assert.ok(
      diags.some((d) => d.range.start.line === 1),
      'an error on line 2 (unknown type)',
    );
    assert.ok(
      diags.some((d) => d.range.start.line === 2),
      'an error on line 3 (unknown command)',
    );
    assert.ok(diags.every((d) => d.source === 'visor' && d.message.length > 0));
    // fix both lines
    await editor.edit((e) => e.replace(new vscode.Range(1, 0, 3, 0), 'bus create 2\ndevice create 2:0 type=vhba\n'));
    await diagnosticsOf(uri, (d) => d.length === 0);
  });

  test('the example workspace scenario has no problems', async () => {
    const doc = await vscode.workspace.openTextDocument(exampleScenario());
    await vscode.window.showTextDocument(doc);
    const d = await waitFor('diagnostics of devices.visor', vscode.languages.onDidChangeDiagnostics, () => vscode.languages.getDiagnostics(doc.uri), 5000);
    assert.deepStrictEqual(
      d.map((x) => `${x.range.start.line + 1}: ${x.message}`),
      [],
    );
  });

  test('completion: commands, GUID aliases, declared devices', async () => {
    const editor = await visorEditor('bus create 2\ndevice create 2:0 type=vhba\ndevice create 2:7 type=vnic\n\ndevice create 2:1 type=\ndevice pause \n');
    const complete = async (line: number, character: number) => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider',
        editor.document.uri,
        new vscode.Position(line, character),
      );
      return list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    };
    const atStart = await complete(3, 0);
    for (const c of ['chipset init', 'device create', 'bus create', 'wait', 'expect']) assert.ok(atStart.includes(c), `command ${c} offered`);
    const afterType = await complete(4, 'device create 2:1 type='.length);
    for (const a of ['vhba', 'vnic', 'keyboard', 'mouse', 'controlvm', 'vbus']) assert.ok(afterType.includes(a), `alias ${a} offered`);
    const device = await complete(5, 'device pause '.length);
    assert.ok(device.includes('2:0') && device.includes('2:7'), `declared devices offered, got ${device.join(', ')}`);
  });

  test('hover on a GUID and on an alias shows the channel type', async () => {
    const editor = await visorEditor('device create 2:0 type=vhba\ndevice create 2:1 type=8cd5994d-c58e-11da-95a9-00e08161165f\n');
    const hoverText = async (line: number, character: number) => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        editor.document.uri,
        new vscode.Position(line, character),
      );
      return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    };
    const alias = await hoverText(0, 'device create 2:0 type=v'.length);
    assert.match(alias, /414815ed-c58c-11da-95a9-00e08161165f/);
    assert.match(alias, /visorhba/);
    const guid = await hoverText(1, 'device create 2:1 type=8cd5'.length);
    assert.match(guid, /vnic/);
  });

  test('CodeLens "Run | Debug" at the top of the file', async () => {
    const doc = await vscode.workspace.openTextDocument(exampleScenario());
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const cmds = lenses.map((l) => l.command?.command);
    assert.deepStrictEqual(cmds, ['visorbus.runScenario', 'visorbus.debugScenario']);
    assert.ok(lenses.every((l) => l.range.start.line === 0));
    assert.match(lenses[0].command!.title, /Run/);
    assert.match(lenses[1].command!.title, /Debug/);
  });
});
