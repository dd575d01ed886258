/**
 * Ticks of the "Get started with Visorbus Studio" walkthrough for what the workbench cannot
 * see by itself. Its steps complete on workbench events (package.json `completionEvents`:
 * onCommand, onView, onContext); a command run from the palette, a button or a CodeLens is
 * such an event, but one run by another extension or a test inside the extension host is
 * not. So the extension also sets a context key when a step's action has really happened:
 *   visorbus.walkthrough.scenarioOpened  a .visor document was opened or created
 *   visorbus.walkthrough.ran             a headless run started
 *   visorbus.walkthrough.inspected       a channel inspector opened
 * (a visorbus debug session sets the workbench's own `debugType == visorbus`).
 */
import * as vscode from 'vscode';
import { LANGUAGE_ID } from '../debug/configuration';
import type { ScenarioCommands } from '../scenarioCommands';

export const WALKTHROUGH_KEYS = {
  scenarioOpened: 'visorbus.walkthrough.scenarioOpened',
  ran: 'visorbus.walkthrough.ran',
  inspected: 'visorbus.walkthrough.inspected',
} as const;

const ticked = new Set<string>();

/** A walkthrough step's action has happened: set its context key (once a window). */
export function walkthroughDone(key: string): void {
  if (ticked.has(key)) return;
  ticked.add(key);
  void vscode.commands.executeCommand('setContext', key, true);
}

export function registerWalkthrough(context: vscode.ExtensionContext, scenarios: ScenarioCommands): void {
  const visor = (d: vscode.TextDocument) => {
    if (d.languageId === LANGUAGE_ID) walkthroughDone(WALKTHROUGH_KEYS.scenarioOpened);
  };
  vscode.workspace.textDocuments.forEach(visor);
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(visor),
    scenarios.onDidStartRun(() => walkthroughDone(WALKTHROUGH_KEYS.ran)),
  );
}
