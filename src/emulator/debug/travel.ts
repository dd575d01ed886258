/**
 * A trip in time (stepBack, reverseContinue, visorbus/goto) carried out with checkpoints: the live
 * worker says where the trip goes, a standby worker searches (reverse-continue) and another
 * goes there; the live worker stays stopped where it was until the traveller arrives, then
 * the session switches to it. Cancel (or pause) before arrival drops the traveller and the
 * session is back where it was. Progress comes from the traveller (cancellable).
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ModelHost } from './modelhost';
import type { Checkpoints } from './checkpoints';
import type { Pos, PoolPlan, PoolSeen } from './workerlink';
import type { GotoArguments } from './contract';

/** What a trip needs from its session. */
export interface TravelSession {
  /** Send an event to the client (capabilities respected). */
  send(event: string, body: unknown): void;
  /** The traveller arrived: it is the session's model from now on (the old one is disposed). */
  switchTo(host: ModelHost): void;
}

interface Trip {
  live: ModelHost;
  traveller?: ModelHost;
  cancelled: boolean;
  progressId?: string;
}

export class TimeTravel {
  private trip: Trip | undefined;

  constructor(
    private readonly session: TravelSession,
    readonly checkpoints: Checkpoints,
  ) {}

  get busy(): boolean {
    return this.trip !== undefined;
  }

  /** Ask the live worker where `cmd` goes and set off; the response to the client goes out before the stop. */
  async start(
    live: ModelHost,
    cmd: 'stepBack' | 'reverseContinue' | 'visorbus/goto',
    args: DebugProtocol.StepBackArguments | DebugProtocol.ReverseContinueArguments | GotoArguments,
  ): Promise<void> {
    const { plan, seen } = (await live.request('pool/plan', { ...args, cmd })) as { plan: PoolPlan; seen: PoolSeen };
    const trip: Trip = { live, cancelled: false };
    this.trip = trip;
    setImmediate(() => void this.go(trip, plan, seen));
  }

  private async go(trip: Trip, plan: PoolPlan, seen: PoolSeen): Promise<void> {
    try {
      let where = plan;
      if (plan.phase === 'find') {
        const progress = (e: string, b: unknown): void => this.progress(trip, e, b);
        // The nearest checkpoint searches its part of the history; the rest is searched from the start.
        let found = await this.checkpoints.scout(plan, () => trip.cancelled, progress);
        if (trip.cancelled) return;
        found ??= await this.checkpoints.searchFromStart(plan, progress);
        if (trip.cancelled) return;
        const to = found ?? plan.fallback;
        where = { phase: 'goto', target: to.pos, info: to.info, label: plan.label };
      }
      const t = await this.checkpoints.traveller(
        where,
        (host) => {
          trip.traveller = host;
          host.attach({ event: (e, b) => this.travellerEvent(trip, host, e, b), gone: (why) => this.failed(trip, why) });
        },
        seen,
      );
      if (trip.cancelled) void t.dispose();
    } catch (e) {
      this.failed(trip, e instanceof Error ? e.message : String(e));
    }
  }

  private travellerEvent(trip: Trip, host: ModelHost, event: string, body: unknown): void {
    if (trip.cancelled) return;
    if (event === 'pool/stop') {
      // Arrived: from here on the traveller is the session's model.
      this.trip = undefined;
      const { pos, lines } = body as { pos: Pos; lines: number[] };
      this.checkpoints.arrived(pos);
      this.session.switchTo(host);
      this.checkpoints.liveStopped(pos, lines, true);
      return;
    }
    if (event.startsWith('progress')) this.progress(trip, event, body);
    if (event === 'output') this.session.send(event, body);
  }

  private progress(trip: Trip, event: string, body: unknown): void {
    if (trip.cancelled) return;
    if (event === 'progressStart') trip.progressId = (body as { progressId: string }).progressId;
    if (event === 'progressEnd') trip.progressId = undefined;
    this.session.send(event, body);
  }

  private failed(trip: Trip, why: string | undefined): void {
    if (trip.cancelled || this.trip !== trip) return;
    this.session.send('output', { category: 'stderr', output: `Going back failed${why ? `: ${why}` : ''}; staying where the session was.\n` });
    this.cancel();
  }

  /** Drop the trip: the live worker is still where it was, and says so again. */
  cancel(): boolean {
    const trip = this.trip;
    if (!trip) return false;
    this.trip = undefined;
    trip.cancelled = true;
    this.checkpoints.cancelScouts();
    if (trip.traveller) void trip.traveller.dispose();
    if (trip.progressId) this.session.send('progressEnd', { progressId: trip.progressId, message: 'cancelled' });
    trip.live.request('resendStop').catch(() => undefined);
    return true;
  }

  dispose(): void {
    this.cancel();
    this.checkpoints.dispose();
  }
}
