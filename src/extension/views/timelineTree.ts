/**
 * "Timeline": the landmarks of the current session's run (scenario lines, controlvm responses,
 * probes, pauses/resumes, failures, breakpoint hits), oldest first, in pages ("Load more…"),
 * filtered by kind and text. Clicking one sends `visorbus/goto`; the editor, call stack,
 * variables, trees and inspector follow the `stopped` event that answers it. Refreshed when the
 * adapter reports new landmarks (`visorbus/timeline`), on stops, and when the session changes.
 */
import * as vscode from 'vscode';
import { VisorbusSessions } from '../debug/sessions';
import { Landmark, LandmarkKind, TimelineResponseBody } from '../protocol';
import { formatTime } from '../statusBar';
import { MessageNode } from './devicesTree';
import { errorText } from './model';

export const TIMELINE_PAGE_SIZE = 200;

/** Every kind with its label and icon (the record type keeps the list complete). */
export const LANDMARK_LABELS: Record<LandmarkKind, { label: string; icon: string }> = {
  line: { label: 'Scenario lines', icon: 'debug-line-by-line' },
  controlvm: { label: 'controlvm responses', icon: 'mail-read' },
  probe: { label: 'Probes', icon: 'plug' },
  pauseResume: { label: 'Pauses and resumes', icon: 'debug-pause' },
  interruptFailure: { label: 'channel_interrupt failures', icon: 'warning' },
  driverError: { label: 'Driver errors', icon: 'error' },
  breakpoint: { label: 'Breakpoint hits', icon: 'debug-breakpoint' },
  expect: { label: 'Failed expects', icon: 'close' },
};

export class LandmarkNode {
  readonly kind = 'landmark';
  constructor(readonly landmark: Landmark) {}
}
export class TimelineMoreNode {
  readonly kind = 'more';
  constructor(
    readonly shown: number,
    readonly total: number,
  ) {}
}
export type TimelineNode = LandmarkNode | TimelineMoreNode | MessageNode;

export class TimelineTreeProvider implements vscode.TreeDataProvider<TimelineNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TimelineNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly refreshed = new vscode.EventEmitter<TimelineResponseBody | undefined>();
  /** Fired after the view's landmarks were fetched (tests wait on it). */
  readonly onDidRefresh = this.refreshed.event;
  private wanted = TIMELINE_PAGE_SIZE;
  private sessionId: string | undefined;
  kinds: LandmarkKind[] | undefined;
  text: string | undefined;
  /** The last page shown. */
  last: TimelineResponseBody | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly sessions: VisorbusSessions) {
    this.subscription = sessions.onDidChange((e) => {
      if (e.reason === 'timeline' || e.reason === 'stopped' || e.reason === 'started' || e.reason === 'ended' || e.reason === 'focus') this.refresh();
    });
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  loadMore(): void {
    this.wanted += TIMELINE_PAGE_SIZE;
    this.refresh();
  }

  setFilter(kinds: LandmarkKind[] | undefined, text: string | undefined): void {
    this.kinds = kinds;
    this.text = text || undefined;
    this.wanted = TIMELINE_PAGE_SIZE;
    this.refresh();
  }

  /** What the view's description says about the filter. */
  filterText(): string {
    const parts: string[] = [];
    if (this.kinds) parts.push(this.kinds.map((k) => LANDMARK_LABELS[k].label.toLowerCase()).join(', '));
    if (this.text) parts.push(`"${this.text}"`);
    return parts.join(' · ');
  }

  async getChildren(parent?: TimelineNode): Promise<TimelineNode[]> {
    if (parent) return [];
    const st = this.sessions.current;
    if (!st) return [];
    if (st.session.id !== this.sessionId) {
      this.sessionId = st.session.id;
      this.wanted = TIMELINE_PAGE_SIZE;
    }
    const landmarks: Landmark[] = [];
    try {
      let page: TimelineResponseBody;
      do {
        page = await st.client.timeline({
          start: landmarks.length,
          count: Math.min(1000, this.wanted - landmarks.length),
          filter: this.kinds,
          text: this.text,
        });
        landmarks.push(...page.landmarks);
      } while (page.landmarks.length && landmarks.length < Math.min(this.wanted, page.total));
      this.last = page;
      this.refreshed.fire(page);
      const nodes: TimelineNode[] = landmarks.map((l) => new LandmarkNode(l));
      if (page.total > landmarks.length) nodes.push(new TimelineMoreNode(landmarks.length, page.total));
      if (!nodes.length) nodes.push(new MessageNode(this.kinds || this.text ? 'No landmark matches the filter.' : 'No landmarks yet.', false));
      return nodes;
    } catch (e) {
      this.refreshed.fire(undefined);
      return [new MessageNode(`Cannot read the timeline: ${errorText(e)}`, true)];
    }
  }

  getTreeItem(node: TimelineNode): vscode.TreeItem {
    if (node instanceof TimelineMoreNode) {
      const item = new vscode.TreeItem(`Load more… (${node.shown} of ${node.total})`);
      item.command = { command: 'visorbus.timeline.loadMore', title: 'Load more landmarks' };
      item.contextValue = 'timelineMore';
      return item;
    }
    if (node instanceof MessageNode) {
      const item = new vscode.TreeItem(node.text);
      if (node.error) item.iconPath = new vscode.ThemeIcon('error');
      return item;
    }
    const l = node.landmark;
    const item = new vscode.TreeItem(l.text);
    item.id = `${l.kind}:${l.event}`;
    item.description = `#${l.event} · ${formatTime(l.ms)}`;
    item.iconPath = new vscode.ThemeIcon(LANDMARK_LABELS[l.kind].icon);
    item.tooltip = `${LANDMARK_LABELS[l.kind].label}: ${l.text}\nevent ${l.event}, virtual time ${formatTime(l.ms)} (${l.jiffies} jiffies)${l.line !== undefined ? `, scenario line ${l.line}` : ''}\nClick to travel there.`;
    item.command = { command: 'visorbus.timeline.goto', title: 'Go to this landmark', arguments: [l.event] };
    item.contextValue = `landmark.${l.kind}`;
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
    this.refreshed.dispose();
  }
}
