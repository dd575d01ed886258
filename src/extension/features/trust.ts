/**
 * Workspace trust in the "Visorbus" output: the activation line says whether the workspace is
 * trusted, and a line follows as soon as trust is granted (the activation line alone would
 * keep saying "untrusted"), so the output tells what the next Run and Debug will do.
 * Only types come from vscode: the unit tests give it a fake workspace.
 */
import type * as vscode from 'vscode';

/** The part of `vscode.workspace` that trust is read from. */
export interface TrustSource {
  readonly isTrusted: boolean;
  readonly onDidGrantWorkspaceTrust: vscode.Event<void>;
}

export const TRUST_GRANTED_LINE =
  '[trust] the workspace is now trusted: Run and Debug load its driver modules (driver load ./…, "drivers") and follow visorbus.allowOutsideFiles';

export function trustLabel(trusted: boolean): string {
  return `workspace ${trusted ? 'trusted' : 'untrusted'}`;
}

/** Say the trust state on activation and again when it is granted. */
export function reportTrust(workspace: TrustSource, output: Pick<vscode.OutputChannel, 'appendLine'>, version: string): vscode.Disposable {
  output.appendLine(`Visorbus Studio ${version} active (${trustLabel(workspace.isTrusted)})`);
  return workspace.onDidGrantWorkspaceTrust(() => output.appendLine(TRUST_GRANTED_LINE));
}
