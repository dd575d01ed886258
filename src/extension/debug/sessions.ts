/**
 * Follows visorbus debug sessions through a DebugAdapterTracker: which one is current, whether it
 * is stopped, its virtual time, and when what the views show may have changed (`stopped`,
 * `continued`, `memory`, `visorbus/changed`, end of session). Views and the channel inspector
 * refresh from `onDidChange`, never from a timer.
 */
import * as vscode from 'vscode';
import { CHANGED_EVENT, ChangedEventBody, isChangedEventBody, TIMELINE_EVENT, VisorbusClient } from '../protocol';

export const DEBUG_TYPE = 'visorbus';

export type ChangeReason = 'stopped' | 'continued' | 'changed' | 'memory' | 'started' | 'ended' | 'focus' | 'timeline';

export interface SessionChange {
  session: vscode.DebugSession | undefined;
  reason: ChangeReason;
  /** The DAP event body that caused the change, when there was one. */
  body?: unknown;
}

export interface SessionState {
  session: vscode.DebugSession;
  client: VisorbusClient;
  stopped: boolean;
  /** The last `visorbus/changed` body. */
  last?: ChangedEventBody;
  /** The last `stopped` event body (reason, description, threadId...). */
  lastStop?: { reason?: string; description?: string; threadId?: number; [k: string]: unknown };
}

interface DapMessage {
  type?: string;
  event?: string;
  body?: unknown;
}

export class VisorbusSessions implements vscode.Disposable {
  private readonly states = new Map<string, SessionState>();
  private currentId: string | undefined;
  private readonly emitter = new vscode.EventEmitter<SessionChange>();
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(
      this.emitter,
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
        createDebugAdapterTracker: (session) => this.track(session),
      }),
      vscode.debug.onDidStartDebugSession((s) => {
        if (s.type !== DEBUG_TYPE) return;
        this.stateOf(s);
        this.currentId = s.id;
        this.fire(s, 'started');
      }),
      vscode.debug.onDidTerminateDebugSession((s) => {
        if (!this.states.delete(s.id)) return;
        if (this.currentId === s.id) this.currentId = [...this.states.keys()].pop();
        this.fire(s, 'ended');
      }),
      vscode.debug.onDidChangeActiveDebugSession((s) => {
        if (s?.type === DEBUG_TYPE && s.id !== this.currentId) {
          this.currentId = s.id;
          this.fire(s, 'focus');
        }
      }),
    );
  }

  /** The visorbus session the views show: the active one if it is visorbus, else the last started. */
  get current(): SessionState | undefined {
    const active = vscode.debug.activeDebugSession;
    if (active?.type === DEBUG_TYPE) return this.stateOf(active);
    return this.currentId ? this.states.get(this.currentId) : undefined;
  }

  get(sessionId: string): SessionState | undefined {
    return this.states.get(sessionId);
  }

  private stateOf(session: vscode.DebugSession): SessionState {
    let st = this.states.get(session.id);
    if (!st) {
      st = { session, client: new VisorbusClient(session), stopped: false };
      this.states.set(session.id, st);
    }
    return st;
  }

  private fire(session: vscode.DebugSession | undefined, reason: ChangeReason, body?: unknown): void {
    this.emitter.fire({ session, reason, body });
  }

  private track(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    return {
      onDidSendMessage: (m: DapMessage) => {
        if (m?.type !== 'event' || typeof m.event !== 'string') return;
        const st = this.stateOf(session);
        switch (m.event) {
          case 'stopped':
            st.stopped = true;
            st.lastStop = (m.body ?? {}) as SessionState['lastStop'];
            this.fire(session, 'stopped', m.body);
            break;
          case 'continued':
            st.stopped = false;
            this.fire(session, 'continued', m.body);
            break;
          case 'memory':
            this.fire(session, 'memory', m.body);
            break;
          case TIMELINE_EVENT:
            this.fire(session, 'timeline', m.body);
            return;
          case CHANGED_EVENT:
            if (!isChangedEventBody(m.body)) return;
            st.last = m.body;
            st.stopped = m.body.state === 'stopped';
            this.fire(session, 'changed', m.body);
            break;
          case 'terminated':
          case 'exited':
            st.stopped = false;
            break;
        }
      },
      onWillReceiveMessage: (m: { type?: string; command?: string }) => {
        // a continue/step request resumes the session even before the adapter says so
        if (m?.type === 'request' && /^(continue|next|stepIn|stepOut|stepBack|reverseContinue)$/.test(m.command ?? '')) {
          const st = this.stateOf(session);
          if (st.stopped) {
            st.stopped = false;
            this.fire(session, 'continued');
          }
        }
      },
    };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
