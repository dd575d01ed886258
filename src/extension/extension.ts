/**
 * Visorbus Studio: debugger contribution for the embedded visorbus emulator, tree views, channel
 * inspector, `.visor` language support, commands and status bar. The emulator runs in its own
 * process (dist/emulator.js); the extension talks to it only through DAP.
 */
import * as vscode from 'vscode';
import { VisorbusConfigurationProvider, restrictForTrust, applySettings, validate } from './debug/configuration';
import { VisorbusSessions } from './debug/sessions';
import { ChannelInspector } from './inspector/inspector';
import { registerInspectorRestore } from './inspector/restore';
import { registerDeviceHovers } from './language/deviceHover';
import { registerLanguageFeatures } from './language/language';
import { ScenarioCommands } from './scenarioCommands';
import { VisorbusStatusBar } from './statusBar';
import { DevicesTreeProvider } from './views/devicesTree';
import { DriversTreeProvider } from './views/driversTree';
import { VisorbusModel } from './views/model';
import { SysfsTreeProvider } from './views/sysfsTree';
import { TimelineNode, TimelineTreeProvider } from './views/timelineTree';
import { VisorbusCore } from './features/core';
import { registerDebugging } from './features/debugging';
import { registerDeviceCommands } from './features/deviceCommands';
import { registerInspectorCommands } from './features/inspectorCommands';
import { registerScenarioCommands } from './features/scenarios';
import { reportTrust } from './features/trust';
import { registerViews } from './features/views';
import { registerWalkthrough } from './features/walkthrough';

/** What activate() returns: used by the extension-host tests to look at the views' content. */
export interface VisorbusApi {
  sessions: VisorbusSessions;
  model: VisorbusModel;
  devices: DevicesTreeProvider;
  drivers: DriversTreeProvider;
  sysfs: SysfsTreeProvider;
  timeline: TimelineTreeProvider;
  views: { devices: vscode.TreeView<unknown>; drivers: vscode.TreeView<unknown>; sysfs: vscode.TreeView<unknown>; timeline: vscode.TreeView<TimelineNode> };
  statusBar: VisorbusStatusBar;
  scenarios: ScenarioCommands;
  diagnostics: vscode.DiagnosticCollection;
  inspectors(): ChannelInspector[];
  config: {
    provider: VisorbusConfigurationProvider;
    restrictForTrust: typeof restrictForTrust;
    applySettings: typeof applySettings;
    validate: typeof validate;
  };
}

export function activate(context: vscode.ExtensionContext): VisorbusApi {
  const output = vscode.window.createOutputChannel('Visorbus');
  const sessions = new VisorbusSessions();
  const model = new VisorbusModel(sessions);
  const statusBar = new VisorbusStatusBar(sessions);
  context.subscriptions.push(output, sessions, model, statusBar);
  const core: VisorbusCore = { context, output, sessions, model };

  const views = registerViews(core);
  registerDeviceCommands(core, views.revealSysfs);
  registerInspectorCommands(core);
  context.subscriptions.push(registerInspectorRestore(context, sessions, output));
  registerDeviceHovers(context, sessions);
  const provider = registerDebugging(core);
  const scenarios = registerScenarioCommands(core);
  const diagnostics = registerLanguageFeatures(context);
  registerWalkthrough(context, scenarios);
  context.subscriptions.push(reportTrust(vscode.workspace, output, context.extension.packageJSON.version));

  return {
    sessions,
    model,
    statusBar,
    scenarios,
    diagnostics,
    devices: views.devices,
    drivers: views.drivers,
    sysfs: views.sysfs,
    timeline: views.timeline,
    views: views.views,
    inspectors: () => ChannelInspector.all(),
    config: { provider, restrictForTrust, applySettings, validate },
  };
}

export function deactivate(): void {
  for (const i of ChannelInspector.all()) i.dispose();
}
