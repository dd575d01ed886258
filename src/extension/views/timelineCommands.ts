/**
 * The Timeline view and its commands: go to a landmark, filter by kind (a quick pick), filter
 * by text (an input box), load more. Commands take their argument directly too, for keyboard
 * bindings and tests.
 */
import * as vscode from 'vscode';
import { VisorbusSessions } from '../debug/sessions';
import { LandmarkKind } from '../protocol';
import { errorText } from './model';
import { LandmarkNode, LANDMARK_LABELS, TimelineNode, TimelineTreeProvider } from './timelineTree';

export interface TimelineUi {
  provider: TimelineTreeProvider;
  view: vscode.TreeView<TimelineNode>;
  disposables: vscode.Disposable[];
}

export function registerTimeline(sessions: VisorbusSessions): TimelineUi {
  const provider = new TimelineTreeProvider(sessions);
  const view = vscode.window.createTreeView('visorbus.timeline', { treeDataProvider: provider });
  const describe = () => {
    const filter = provider.filterText();
    const reached = provider.last ? `${provider.last.total} landmarks · event ${provider.last.reached}` : '';
    view.description = [filter && `filter: ${filter}`, reached].filter(Boolean).join(' · ');
  };

  const goto = async (arg: unknown): Promise<boolean> => {
    const event = arg instanceof LandmarkNode ? arg.landmark.event : arg;
    const st = sessions.current;
    if (!st || typeof event !== 'number') return false;
    try {
      await st.client.goto(event);
      return true;
    } catch (e) {
      void vscode.window.showErrorMessage(`Visorbus: cannot go to event ${event}: ${errorText(e)}`);
      return false;
    }
  };

  const filterKinds = async (arg?: unknown): Promise<LandmarkKind[] | undefined> => {
    const all = Object.keys(LANDMARK_LABELS) as LandmarkKind[];
    let kinds: LandmarkKind[] | undefined;
    if (Array.isArray(arg)) kinds = all.filter((k) => arg.includes(k));
    else {
      const items = all.map((k) => ({
        label: LANDMARK_LABELS[k].label,
        landmark: k,
        picked: !provider.kinds || provider.kinds.includes(k),
        iconPath: new vscode.ThemeIcon(LANDMARK_LABELS[k].icon),
      }));
      const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Timeline: show these landmarks' });
      if (!picked) return provider.kinds;
      kinds = picked.map((p) => p.landmark);
    }
    // Nothing picked or everything picked: no filter.
    provider.setFilter(kinds.length === 0 || kinds.length === all.length ? undefined : kinds, provider.text);
    return provider.kinds;
  };

  const filterText = async (arg?: unknown): Promise<string | undefined> => {
    const text =
      typeof arg === 'string'
        ? arg
        : await vscode.window.showInputBox({
            title: 'Timeline: show landmarks whose text contains',
            value: provider.text ?? '',
            placeHolder: 'e.g. vbus2:dev0 (empty: all)',
          });
    if (text === undefined) return provider.text;
    provider.setFilter(provider.kinds, text);
    return provider.text;
  };

  const disposables: vscode.Disposable[] = [
    provider,
    view,
    provider.onDidRefresh(describe),
    vscode.commands.registerCommand('visorbus.timeline.goto', goto),
    vscode.commands.registerCommand('visorbus.timeline.filter', filterKinds),
    vscode.commands.registerCommand('visorbus.timeline.search', filterText),
    vscode.commands.registerCommand('visorbus.timeline.loadMore', () => provider.loadMore()),
  ];
  return { provider, view, disposables };
}
