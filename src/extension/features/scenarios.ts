/** The scenario commands: New Scenario, Run Scenario (headless), Debug Scenario. */
import * as vscode from 'vscode';
import { ScenarioCommands } from '../scenarioCommands';
import { VisorbusCore } from './core';

export function registerScenarioCommands(core: VisorbusCore): ScenarioCommands {
  const scenarios = new ScenarioCommands(core.context, core.output);
  core.context.subscriptions.push(
    scenarios,
    vscode.commands.registerCommand('visorbus.newScenario', (where?: 'untitled' | 'workspace', relPath?: string) => scenarios.create(where, relPath)),
    vscode.commands.registerCommand('visorbus.runScenario', (uri?: vscode.Uri) => scenarios.run(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('visorbus.debugScenario', (uri?: vscode.Uri) => scenarios.debug(uri instanceof vscode.Uri ? uri : undefined)),
  );
  return scenarios;
}
