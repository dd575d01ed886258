/** Status bar item: the current visorbus session's virtual time and state (from `visorbus/changed`). */
import * as vscode from 'vscode';
import { VisorbusSessions } from './debug/sessions';

export function formatTime(ms: number): string {
  return ms >= 10000 ? `${(ms / 1000).toFixed(2)} s` : `${Number(ms.toFixed(3))} ms`;
}

export class VisorbusStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly sessions: VisorbusSessions) {
    this.item = vscode.window.createStatusBarItem('visorbus.time', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Visorbus virtual time';
    this.item.command = 'workbench.view.extension.visorbus';
    this.subscription = sessions.onDidChange(() => this.update());
    this.update();
  }

  update(): void {
    const st = this.sessions.current;
    if (!st) {
      this.item.hide();
      return;
    }
    const last = st.last;
    const state = last?.state === 'ended' ? 'ended' : st.stopped ? (st.lastStop?.reason === 'end' ? 'finished' : 'stopped') : 'running';
    const time = last ? formatTime(last.time.ms) : '—';
    const icon = state === 'stopped' ? 'debug-pause' : state === 'ended' || state === 'finished' ? 'debug-stop' : 'pulse';
    this.item.text = `$(${icon}) visorbus ${time} · ${state}`;
    this.item.tooltip = new vscode.MarkdownString(
      `**${st.session.name}**\n\nvirtual time ${time}${last ? ` (${last.time.jiffies} jiffies, event #${last.eventIndex})` : ''}\n\nstate: ${state}` +
        `${st.lastStop?.reason ? `\n\nlast stop: ${st.lastStop.reason}${st.lastStop.description ? ` — ${st.lastStop.description}` : ''}` : ''}`,
    );
    this.item.accessibilityInformation = { label: `Visorbus virtual time ${time}, ${state}` };
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
