// Activation and contributions, in the real extension host.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, exampleScenario } from './helpers';

suite('activation', () => {
  test('the extension activates and returns its API', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'extension is installed');
    const a = await api();
    assert.ok(ext.isActive, 'extension is active');
    assert.ok(a.sessions && a.devices && a.drivers && a.sysfs, 'API exposes sessions and tree providers');
  });

  test('every contributed command is registered', async () => {
    await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed: string[] = ext.packageJSON.contributes.commands.map((c: { command: string }) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `commands contributed but not registered: ${missing.join(', ')}`);
  });

  test('.visor files open as the visor language', async () => {
    const doc = await vscode.workspace.openTextDocument(exampleScenario());
    assert.strictEqual(doc.languageId, 'visor');
    assert.ok((await vscode.languages.getLanguages()).includes('visor'));
  });

  test('manifest: visorbus debugger, limited support in untrusted workspaces', () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const dbg = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'visorbus');
    assert.ok(dbg, 'visorbus debugger contributed');
    assert.deepStrictEqual(Object.keys(dbg.configurationAttributes).sort(), ['attach', 'launch']);
    for (const k of ['scenario', 'stopOnEntry', 'drivers', 'autoload', 'pollIntervalMs', 'trace']) {
      assert.ok(dbg.configurationAttributes.launch.properties[k], `launch attribute ${k}`);
    }
    assert.strictEqual(dbg.configurationAttributes.attach.properties.host.default, '127.0.0.1');
    assert.strictEqual(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  });
});
