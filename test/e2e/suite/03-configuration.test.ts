// The debug configuration provider: F5 on an open .visor with no launch.json, settings, checks, trust.
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, exampleScenario, workspaceDir } from './helpers';

suite('debug configuration provider', () => {
  let folder: vscode.WorkspaceFolder;
  suiteSetup(async () => {
    await api();
    folder = vscode.workspace.workspaceFolders![0];
  });
  teardown(async () => {
    await vscode.workspace.getConfiguration('visorbus').update('pollIntervalMs', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('resolves an empty configuration (F5, no launch.json) for the open .visor file', async () => {
    const { config } = await api();
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(exampleScenario()));
    const resolved = await config.provider.resolveDebugConfiguration(folder, { type: '', name: '', request: '' });
    assert.ok(resolved, 'a configuration');
    assert.strictEqual(resolved.type, 'visorbus');
    assert.strictEqual(resolved.request, 'launch');
    assert.strictEqual(resolved.scenario, exampleScenario());
    assert.strictEqual(resolved.stopOnEntry, true);
    // defaults from the settings
    assert.strictEqual(resolved.autoload, true);
    assert.strictEqual(resolved.pollIntervalMs, 10);
    assert.strictEqual(resolved.trace, false);
    const final = await config.provider.resolveDebugConfigurationWithSubstitutedVariables!(folder, resolved);
    assert.strictEqual(final?.scenario, exampleScenario());
  });

  test('with no .visor file open, F5 without launch.json does not start anything', async () => {
    const { config } = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.strictEqual(await config.provider.resolveDebugConfiguration(folder, { type: '', name: '', request: '' }), undefined);
  });

  test('settings feed the configuration; launch attributes win', async () => {
    const { config } = await api();
    await vscode.workspace.getConfiguration('visorbus').update('pollIntervalMs', 5, vscode.ConfigurationTarget.Workspace);
    const fromSetting = await config.provider.resolveDebugConfiguration(folder, { type: 'visorbus', name: 'x', request: 'launch', scenario: 'devices.visor' });
    assert.strictEqual(fromSetting?.pollIntervalMs, 5);
    const explicit = await config.provider.resolveDebugConfiguration(folder, {
      type: 'visorbus',
      name: 'x',
      request: 'launch',
      scenario: 'devices.visor',
      pollIntervalMs: 2,
      trace: true,
    });
    assert.strictEqual(explicit?.pollIntervalMs, 2);
    assert.strictEqual(explicit?.trace, true);
  });

  test('relative scenario paths resolve against the folder; a missing file is refused', async () => {
    const { config } = await api();
    const ok = await config.provider.resolveDebugConfigurationWithSubstitutedVariables!(folder, {
      type: 'visorbus',
      name: 'x',
      request: 'launch',
      scenario: 'devices.visor',
      drivers: ['drivers/mine.js'],
    });
    assert.strictEqual(ok?.scenario, path.join(workspaceDir(), 'devices.visor'));
    assert.deepStrictEqual(ok?.drivers, [path.join(workspaceDir(), 'drivers', 'mine.js')]);
    const missing = await config.provider.resolveDebugConfigurationWithSubstitutedVariables!(folder, {
      type: 'visorbus',
      name: 'x',
      request: 'launch',
      scenario: 'no-such.visor',
    });
    assert.strictEqual(missing, undefined);
  });

  test('bad attributes get a clear error', async () => {
    const { config } = await api();
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'attach', port: 70000, host: '127.0.0.1' })!, /port/);
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'attach', port: 4711, host: '10.0.0.1' })!, /loopback/);
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'launch', scenario: 'a.visor', drivers: 'x.js' })!, /drivers/);
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'launch', scenario: 'a.visor', pollIntervalMs: 0 })!, /pollIntervalMs/);
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'launch', scenario: 'a.visor', checkpoints: 9 })!, /checkpoints/);
    assert.match(config.validate({ type: 'visorbus', name: 'x', request: 'launch', scenario: 'a.visor', checkpoints: 1.5 })!, /checkpoints/);
    assert.strictEqual(config.validate({ type: 'visorbus', name: 'x', request: 'attach', port: 4711, host: '127.0.0.1' }), undefined);
  });

  test('untrusted workspace: user driver modules are removed, the rest stays', async () => {
    const { config } = await api();
    const c = { type: 'visorbus', name: 'x', request: 'launch', scenario: '/w/a.visor', drivers: ['/w/d.js'], autoload: true };
    const untrusted = config.restrictForTrust(c, false);
    assert.deepStrictEqual(untrusted.removed, ['/w/d.js']);
    assert.deepStrictEqual(untrusted.config.drivers, []);
    assert.strictEqual(untrusted.config.allowUserDrivers, false, 'the adapter refuses `driver load ./x.js` lines too');
    assert.strictEqual(untrusted.config.autoload, true);
    const trusted = config.restrictForTrust(c, true);
    assert.deepStrictEqual(trusted.config.drivers, ['/w/d.js']);
    assert.strictEqual(trusted.config.allowUserDrivers, undefined);
  });

  test('initial configurations list the workspace scenarios and attach', async () => {
    const { config } = await api();
    const configs = await config.provider.provideDebugConfigurations!(folder);
    assert.ok(
      configs?.some((c) => c.scenario === '${workspaceFolder}/devices.visor'),
      'devices.visor offered',
    );
    assert.ok(configs?.some((c) => c.request === 'attach' && c.host === '127.0.0.1'));
  });
});
