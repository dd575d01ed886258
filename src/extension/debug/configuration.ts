/**
 * Debug configurations for `type: visorbus`: initial/dynamic configurations, F5 on an open .visor
 * file without launch.json, defaults from the settings, checks with clear messages, workspace trust
 * (no user driver modules in an untrusted workspace), and the adapter descriptors (the bundled
 * emulator host as a separate process for launch, a TCP connection for attach).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './sessions';
import { scenarioReadyToLaunch } from '../language/preflight';
import type { LaunchArguments } from '../../emulator/debug/contract';
import { launchArgumentsError } from '../../emulator/debug/launchschema';

export const LANGUAGE_ID = 'visor';

/** A launch configuration: the adapter's launch arguments (contract.ts), all optional until resolved. */
export interface LaunchConfig extends vscode.DebugConfiguration, Partial<Omit<LaunchArguments, '__restart'>> {
  request: 'launch';
}

export interface AttachConfig extends vscode.DebugConfiguration {
  request: 'attach';
  port?: number;
  host?: string;
  /** The token `visorbus-emu dap --port N` printed when it started. */
  token?: string;
}

/** Fill settings defaults: explicit launch attributes win over `visorbus.*` settings. */
export function applySettings(config: vscode.DebugConfiguration, settings: vscode.WorkspaceConfiguration): void {
  if (config.autoload === undefined) config.autoload = settings.get<boolean>('autoload', true);
  if (config.pollIntervalMs === undefined) {
    const poll = settings.get<number>('pollIntervalMs');
    if (typeof poll === 'number') config.pollIntervalMs = poll;
  }
  if (config.trace === undefined) config.trace = settings.get<boolean>('trace', false);
  if (config.checkpoints === undefined) {
    const n = settings.get<number>('checkpoints');
    if (typeof n === 'number') config.checkpoints = n;
  }
  if (config.allowOutsideFiles === undefined) config.allowOutsideFiles = settings.get<boolean>('allowOutsideFiles', false);
}

export interface TrustResult {
  config: vscode.DebugConfiguration;
  removed: string[];
}

/**
 * In an untrusted workspace, user driver modules are not loaded: `drivers` is emptied and the adapter
 * is told (`allowUserDrivers: false`) to refuse `driver load ./module.js` lines too; built-in drivers
 * still work. Host files stay inside the workspace (`allowOutsideFiles` is ignored).
 */
export function restrictForTrust(config: vscode.DebugConfiguration, trusted: boolean): TrustResult {
  if (trusted) return { config, removed: [] };
  const drivers: unknown = config.drivers;
  const removed = Array.isArray(drivers) ? drivers.map(String) : [];
  return { config: { ...config, drivers: [], allowUserDrivers: false, allowOutsideFiles: false }, removed };
}

/** Checks a launch/attach configuration after variable substitution; returns an error text or undefined. */
export function validate(config: vscode.DebugConfiguration): string | undefined {
  if (config.request === 'attach') {
    const port: unknown = config.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return `Visorbus attach: "port" must be a TCP port number (1-65535), got ${JSON.stringify(port)}.`;
    }
    const host: unknown = config.host;
    if (typeof host !== 'string' || !isLoopback(host)) {
      return `Visorbus attach: "host" must be a loopback address (the emulator listens on loopback only), got ${JSON.stringify(host)}.`;
    }
    if (config.token !== undefined && (typeof config.token !== 'string' || config.token === '')) {
      return 'Visorbus attach: "token" must be the token `visorbus-emu dap --port N` printed when it started.';
    }
    return undefined;
  }
  if (config.request !== 'launch') return `Visorbus: "request" must be "launch" or "attach", got ${JSON.stringify(config.request)}.`;
  const error = launchArgumentsError(config, 'Visorbus launch');
  return error && `${error}.`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function activeScenario(): vscode.TextDocument | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return doc?.languageId === LANGUAGE_ID ? doc : undefined;
}

export function scenarioLaunchConfig(file: string, name?: string): LaunchConfig {
  return { type: DEBUG_TYPE, request: 'launch', name: name ?? `Debug ${path.basename(file)}`, scenario: file, stopOnEntry: true };
}

export class VisorbusConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly log: vscode.OutputChannel) {}

  /** Initial configurations for a new launch.json: the open file, plus each scenario in the folder. */
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    const configs: vscode.DebugConfiguration[] = [scenarioLaunchConfig('${file}', 'Debug current scenario')];
    if (folder) {
      const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.visor'), '**/node_modules/**', 20);
      for (const f of files.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
        const rel = path.relative(folder.uri.fsPath, f.fsPath).split(path.sep).join('/');
        configs.push(scenarioLaunchConfig('${workspaceFolder}/' + rel, `Debug ${rel}`));
      }
    }
    configs.push({ type: DEBUG_TYPE, request: 'attach', name: 'Attach to visorbus-emu', port: 4711, host: '127.0.0.1' });
    return configs;
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined | null {
    // F5 without launch.json: VS Code passes an empty configuration
    if (!config.type && !config.request && !config.name) {
      const doc = activeScenario();
      if (!doc) {
        void vscode.window.showInformationMessage('Visorbus: open a .visor scenario to debug it, or add a "visorbus" configuration to launch.json.');
        return undefined;
      }
      if (doc.isUntitled) {
        void vscode.window.showInformationMessage('Visorbus: save the scenario to a .visor file first; the emulator reads it from disk.');
        return undefined;
      }
      config = scenarioLaunchConfig(doc.uri.fsPath);
    }
    config.type = DEBUG_TYPE;
    config.request ??= 'launch';
    config.name ??= config.request === 'attach' ? 'Attach to visorbus-emu' : 'Debug scenario';
    if (config.request === 'attach') {
      config.host ??= '127.0.0.1';
      return config;
    }
    if (config.scenario === undefined) {
      const doc = activeScenario();
      if (!doc) {
        void vscode.window.showErrorMessage('Visorbus launch: no "scenario" given and no .visor file is open.');
        return undefined;
      }
      config.scenario = doc.uri.fsPath;
    }
    config.stopOnEntry ??= true;
    applySettings(config, vscode.workspace.getConfiguration('visorbus'));
    return config;
  }

  async resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    const error = validate(config);
    if (error) {
      void vscode.window.showErrorMessage(error);
      return undefined;
    }
    // An attach that starts a scenario on the server gets the same restrictions as a launch.
    if (config.request === 'attach') return restrictForTrust(config, vscode.workspace.isTrusted).config;

    const base = folder?.uri.fsPath ?? (vscode.window.activeTextEditor ? path.dirname(vscode.window.activeTextEditor.document.uri.fsPath) : process.cwd());
    const scenario = path.resolve(base, config.scenario as string);
    if (!(await exists(scenario))) {
      void vscode.window.showErrorMessage(`Visorbus launch: scenario file not found: ${scenario}`);
      return undefined;
    }
    // undefined aborts the launch quietly: no "Open 'launch.json'" modal for a syntax error
    if (!(await scenarioReadyToLaunch(scenario))) return undefined;
    config.scenario = scenario;
    if (Array.isArray(config.drivers)) config.drivers = (config.drivers as string[]).map((d) => path.resolve(base, d));
    // The scenario's host files (disk images, driver modules) may be in its folder or the workspace.
    config.workspaceFolders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);

    const { config: restricted, removed } = restrictForTrust(config, vscode.workspace.isTrusted);
    if (removed.length > 0) {
      const list = removed.map((d) => path.basename(d)).join(', ');
      this.log.appendLine(`[trust] untrusted workspace: not loading driver modules ${removed.join(', ')}`);
      void vscode.window
        .showWarningMessage(
          `Visorbus: this workspace is not trusted, so its driver modules (${list}) are not loaded. Built-in drivers (visorhba, visornic, visorinput) still work. Trust the workspace to load them.`,
          'Manage Workspace Trust',
        )
        .then((choice) => {
          if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
        });
    }
    return restricted;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(vscode.Uri.file(file));
    return true;
  } catch {
    return false;
  }
}

/** Starts the bundled emulator host (`node dist/emulator.js dap`) or connects to a running one. */
export class VisorbusAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.OutputChannel,
  ) {}

  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.DebugAdapterDescriptor {
    const config = session.configuration;
    if (config.request === 'attach') {
      const host = typeof config.host === 'string' ? config.host : '127.0.0.1';
      this.log.appendLine(`[debug] attach to ${host}:${config.port}`);
      return new vscode.DebugAdapterServer(config.port as number, host);
    }
    const emulator = this.context.asAbsolutePath(path.join('dist', 'emulator.js'));
    this.log.appendLine(`[debug] start adapter: ${process.execPath} ${emulator} dap`);
    // In desktop VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain node.
    return new vscode.DebugAdapterExecutable(process.execPath, [emulator, 'dap'], { env: { ELECTRON_RUN_AS_NODE: '1' } });
  }
}
