/**
 * The parser's diagnostics as VS Code diagnostics (Problems view and squiggles), shared by the
 * as-you-type check and the check before a launch.
 */
import * as vscode from 'vscode';
import type { Scenario } from '../../emulator/scenario/ast';

export function toDiagnostics(scenario: Scenario): vscode.Diagnostic[] {
  return scenario.diagnostics.map((d) => {
    const line = Math.max(0, d.line - 1);
    const start = Math.max(0, d.column - 1);
    const end = Math.max(start + 1, d.endColumn - 1);
    const diag = new vscode.Diagnostic(
      new vscode.Range(line, start, line, end),
      d.message,
      d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
    );
    diag.source = 'visor';
    return diag;
  });
}
