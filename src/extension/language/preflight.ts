/**
 * F5 on a scenario with a syntax error: the launch stops before the adapter starts (the adapter's
 * refusal would reach the user as VS Code's modal "Open 'launch.json'", whose default button creates
 * a launch.json nobody needed). Instead the errors go to the Problems view and the editor, and a
 * non-modal message names the file and line.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { parseScenario } from '../../emulator/scenario/parser';
import { toDiagnostics } from './diagnostics';

let problems: vscode.DiagnosticCollection | undefined;

/** Where the errors found before a launch are shown (the language features' collection). */
export function usePreflightDiagnostics(collection: vscode.DiagnosticCollection): void {
  problems = collection;
}

/** Check the scenario the adapter is about to read; false (and the user told why) when it has errors. */
export async function scenarioReadyToLaunch(file: string): Promise<boolean> {
  const uri = vscode.Uri.file(file);
  let text: string;
  try {
    text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
  } catch {
    return true; // unreadable: the adapter says why
  }
  const scenario = parseScenario(text, file);
  const errors = scenario.diagnostics.filter((d) => d.severity === 'error');
  if (!errors.length) return true;
  problems?.set(uri, toDiagnostics(scenario));
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''} in the Problems view)` : '';
  const goTo = 'Go to Error';
  const list = 'Show Problems';
  void vscode.window
    .showErrorMessage(
      `Visorbus: cannot debug ${path.basename(file)}: line ${first.line}: ${first.message}${more}. Fix the scenario, then start again.`,
      goTo,
      list,
    )
    .then(async (choice) => {
      if (choice === goTo) {
        const pos = new vscode.Position(Math.max(0, first.line - 1), Math.max(0, first.column - 1));
        await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos) });
      } else if (choice === list) {
        await vscode.commands.executeCommand('workbench.actions.view.problems');
      }
    });
  return false;
}
