/**
 * One DAP client's session. It runs on the main thread and never touches the model:
 * it checks each request, forwards it to the model worker (modelhost.ts) and sends the
 * worker's answers and events to the client. Lifecycle (launch, attach, restart,
 * terminate, disconnect) is decided here; everything about the model is in the worker.
 */
import * as path from 'node:path';
import { DebugSession, Event, InitializedEvent, OutputEvent, Response, TerminatedEvent, ExitedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ModelHost, WorkerError } from './modelhost';
import { handOverTimeline } from './timelinehandover';
import type { CheckpointsResponseBody } from './contract';
import { ClientInfo, Pos, PoolJournalEntry } from './workerlink';
import { capabilities } from './capabilities';
import type { LaunchArguments } from './contract';
import { BREAKPOINT_COMMANDS, isForwarded } from './requests';
import { launchArgumentsError } from './launchschema';
import { Checkpoints } from './checkpoints';
import { TimeTravel } from './travel';

/** Standby workers kept for time travel unless the launch configuration says otherwise. */
export const DEFAULT_CHECKPOINTS = 2;

/** What the TCP server offers a session: keep a model alive for the next client, adopt one. */
export interface SessionServices {
  /** TCP mode only: keep `host` running after this client disconnects. */
  keep?(host: ModelHost): void;
  /** TCP mode only: the model a previous client left running, if any. */
  adopt?(): ModelHost | undefined;
  /** The process serves a single client (stdio): exit when it is done. */
  single: boolean;
  port?: number;
  /** The client disconnected: the server may accept the next one. */
  done?(): void;
  /** TCP mode: check the token a client gives with launch/attach ('busy' when another client is served). */
  authorize?(token: unknown): 'ok' | 'refused' | 'busy';
}

class RequestError extends Error {
  constructor(
    message: string,
    readonly showUser = false,
  ) {
    super(message);
  }
}

const LIFECYCLE_FREE = new Set(['initialize', 'launch', 'attach', 'disconnect', 'terminate', 'threads', 'cancel']);

export class VisorbusSession extends DebugSession {
  private host: ModelHost | undefined;
  private client: DebugProtocol.InitializeRequestArguments | undefined;
  private launchArgs: (LaunchArguments & { noDebug?: boolean }) | undefined;
  private kind: 'launch' | 'attach' | undefined;
  private adopted = false;
  private ended = false;
  private trace = false;
  private disconnecting = false;
  /** The model's progress shown now (a cancel of it pauses the model). */
  private progressId: string | undefined;
  /** Time travel with standby workers (launch sessions whose scenario attaches no disk image). */
  private travel: TimeTravel | undefined;
  private authorized = false;

  constructor(private readonly services: SessionServices) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    // The protocol library treats a message it cannot handle (bad JSON, `null`, a non-object)
    // as a fatal 'error' and exits a stdio adapter. Such a message has no seq to answer, so
    // report it and go on; only a broken stream ends the session.
    this.removeAllListeners('error');
    this.on('error', (ev: { body?: unknown } | undefined) => {
      const text = String(ev?.body ?? '');
      if (text.startsWith('Error handling data')) {
        this.sendEvent(new OutputEvent(`visorbus-emu: ignored a malformed DAP message (${text.replace(/^Error handling data: */, '')})\n`, 'stderr'));
        return;
      }
      this.shutdown();
    });
  }

  // ---- plumbing -----------------------------------------------------------------------------

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const response = new Response(request) as unknown as DebugProtocol.Response;
    if (this.trace && request.command !== 'evaluate')
      this.sendEvent(new OutputEvent(`[dap] → ${request.command} ${JSON.stringify(request.arguments ?? {}).slice(0, 300)}\n`, 'console'));
    this.handle(request, response).then(
      (body) => {
        if (body !== undefined) response.body = body;
        this.sendResponse(response);
      },
      (e: unknown) => this.fail(response, e),
    );
  }

  private fail(response: DebugProtocol.Response, e: unknown): void {
    const showUser = (e instanceof RequestError || e instanceof WorkerError) && e.showUser;
    const message = e instanceof Error ? e.message : String(e);
    const internal = !(e instanceof RequestError || e instanceof WorkerError);
    const text = internal ? `internal error in the debug adapter: ${message}` : message;
    response.success = false;
    response.message = text;
    response.body = { error: { id: internal ? 9000 : 1000, format: text.replace(/\{/g, '(').replace(/\}/g, ')'), showUser: showUser || internal } };
    this.sendResponse(response);
  }

  private forwardEvent(event: string, body: unknown): void {
    if (this.disconnecting) return;
    if (event.startsWith('pool/')) return this.poolEvent(event, body);
    if (event === 'visorbus/ended') {
      this.ended = true;
      const exitCode = (body as { exitCode?: number } | undefined)?.exitCode ?? 0;
      this.sendEvent(new ExitedEvent(exitCode));
      this.sendEvent(new TerminatedEvent());
      return;
    }
    if (event === 'progressStart') this.progressId = (body as { progressId?: string }).progressId;
    else if (event === 'progressEnd' && (body as { progressId?: string }).progressId === this.progressId) this.progressId = undefined;
    if (event.startsWith('progress') && !this.client?.supportsProgressReporting) return;
    if (event === 'memory' && !this.client?.supportsMemoryEvent) return;
    if (event === 'invalidated' && !this.client?.supportsInvalidatedEvent) return;
    this.sendEvent(new Event(event, body) as DebugProtocol.Event);
  }

  /** The live worker's news for the checkpoints: where it stopped, what it journaled. */
  private poolEvent(event: string, body: unknown): void {
    const cp = this.travel?.checkpoints;
    if (!cp) return;
    if (event === 'pool/stop') {
      const b = body as { pos: Pos; lines: number[] };
      cp.liveStopped(b.pos, b.lines);
    } else if (event === 'pool/journal') cp.journaled((body as { entry: PoolJournalEntry }).entry);
    // The live worker went back by itself (a goto while running): the pool forgets that future too.
    else if (event === 'pool/forgot') cp.arrived((body as { pos: Pos }).pos);
  }

  /** Send an event to the client as the worker would (travel.ts forwards a traveller's progress). */
  private sendToClient(event: string, body: unknown): void {
    this.forwardEvent(event, body);
  }

  private bindHost(host: ModelHost): void {
    this.host = host;
    host.attach({
      event: (e, b) => this.forwardEvent(e, b),
      gone: (why) => {
        if (this.disconnecting || this.ended) return;
        this.ended = true;
        this.sendEvent(new OutputEvent(`The emulator stopped unexpectedly${why ? `: ${why}` : ''}\n`, 'stderr'));
        this.sendEvent(new TerminatedEvent());
      },
    });
  }

  private needHost(command: string): ModelHost {
    if (!this.host) throw new RequestError(`'${command}' needs a running scenario: send launch (or attach) first`);
    if (!this.host.alive) throw new RequestError('the emulator is no longer running');
    return this.host;
  }

  private clientInfo(): ClientInfo {
    const c = this.client ?? ({} as DebugProtocol.InitializeRequestArguments);
    return {
      supportsProgressReporting: !!c.supportsProgressReporting,
      supportsMemoryEvent: !!c.supportsMemoryEvent,
      supportsInvalidatedEvent: !!c.supportsInvalidatedEvent,
      supportsVariableType: !!c.supportsVariableType,
      columnsStartAt1: c.columnsStartAt1 !== false,
    };
  }

  // ---- requests ---------------------------------------------------------------------------------

  private async handle(request: DebugProtocol.Request, response: DebugProtocol.Response): Promise<unknown> {
    const args = (request.arguments ?? {}) as Record<string, unknown>;
    const cmd = request.command;
    if (typeof cmd !== 'string' || !cmd) throw new RequestError(`a request needs a "command" string, not ${JSON.stringify(cmd) ?? String(cmd)}`);
    if (cmd !== 'initialize' && !this.client) throw new RequestError(`'${cmd}' before 'initialize': the session must start with an initialize request`);
    if (this.services.authorize && !this.authorized && cmd !== 'initialize' && cmd !== 'disconnect') this.authorize(cmd, args.token);
    switch (cmd) {
      case 'initialize':
        if (this.client) throw new RequestError('the session is already initialized');
        if (args.pathFormat !== undefined && args.pathFormat !== 'path')
          throw new RequestError('this debug adapter only supports file paths (pathFormat "path")');
        this.client = args as unknown as DebugProtocol.InitializeRequestArguments;
        return capabilities();
      case 'launch':
        return this.launch(args);
      case 'attach':
        return this.attach(args);
      case 'configurationDone': {
        const host = this.needHost(cmd);
        await host.request('configurationDone', { noDebug: this.launchArgs?.noDebug });
        if (this.adopted) await host.request('resendStop');
        return undefined;
      }
      case 'disconnect':
        return this.disconnect(args as DebugProtocol.DisconnectArguments);
      case 'terminate':
        return this.terminate();
      case 'restart':
        return this.restart(args as DebugProtocol.RestartArguments);
      case 'threads':
        if (!this.host?.alive) return { threads: [] };
        return this.host.request('threads');
      case 'pause':
        if (this.travel?.cancel()) return undefined;
        return this.pause();
      case 'cancel':
        // Cancels a trip back in time; a progress of the model (a long replay or run) pauses it.
        if (this.travel?.cancel()) return undefined;
        if (this.progressId && (args as DebugProtocol.CancelArguments).progressId === this.progressId && this.host?.alive) this.host.pause();
        return undefined;
      case 'visorbus/checkpoints':
        return this.checkpointStatus(args.settle === true);
      case 'source': {
        const ref = Number(args.sourceReference ?? 0);
        if (!ref && typeof (args.source as { path?: string } | undefined)?.path !== 'string')
          throw new RequestError('source: give a sourceReference or a source path');
        return this.needHost(cmd).request('source', args);
      }
      default:
        break;
    }
    if (LIFECYCLE_FREE.has(cmd)) return undefined;
    if (!isForwarded(cmd)) throw new RequestError(`unsupported request '${cmd}'`);
    const host = this.needHost(cmd);
    void response;
    if (this.travel?.busy && ['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'visorbus/goto'].includes(cmd)) {
      throw new RequestError(`cannot ${cmd}: the session is going back in time (cancel it, or wait for the stop)`);
    }
    if (
      (cmd === 'stepBack' || cmd === 'reverseContinue' || cmd === 'visorbus/goto') &&
      this.travel &&
      !this.travel.checkpoints.off &&
      host.state !== 'running'
    ) {
      return this.travel.start(host, cmd, args as unknown as DebugProtocol.StepBackArguments);
    }
    const body = await host.request(cmd, args);
    if (BREAKPOINT_COMMANDS.has(cmd)) this.travel?.checkpoints.breakpoints(cmd, args);
    return body;
  }

  /** TCP: launch or attach must carry the server's token; a client without it is refused and disconnected. */
  private authorize(cmd: string, token: unknown): void {
    const port = this.services.port;
    if (cmd !== 'launch' && cmd !== 'attach')
      throw new RequestError(`'${cmd}' before launch or attach: this visorbus-emu server on port ${port} serves a client once it gives its token`);
    const verdict = this.services.authorize!(token);
    if (verdict === 'ok') {
      this.authorized = true;
      return;
    }
    setImmediate(() => this.stop());
    if (verdict === 'busy') throw new RequestError(`visorbus-emu on port ${port} is already serving a debug client; it serves one client at a time`, true);
    throw new RequestError(
      `visorbus-emu on port ${port} refused this client: ${token === undefined ? 'no token given' : 'wrong token'}. Give the token the server printed when it started ("visorbus-emu: token …") as "token" in the attach configuration.`,
      true,
    );
  }

  private async launch(args: Record<string, unknown>): Promise<unknown> {
    if (this.host) throw new RequestError('this session already runs a scenario (use restart)');
    const opts = this.checkOptions(args, 'launch');
    this.kind = 'launch';
    return this.startModel(opts);
  }

  private checkOptions(args: Record<string, unknown>, what: string): LaunchArguments {
    const error = launchArgumentsError(args, what);
    if (error) throw new RequestError(error, true);
    const scenario = args.scenario as string;
    return {
      scenario: path.resolve(scenario),
      stopOnEntry: args.stopOnEntry as boolean | undefined,
      stopAtEnd: args.stopAtEnd as boolean | undefined,
      drivers: args.drivers as string[] | undefined,
      autoload: args.autoload as boolean | undefined,
      pollIntervalMs: args.pollIntervalMs as number | undefined,
      trace: args.trace as boolean | undefined,
      allowUserDrivers: args.allowUserDrivers as boolean | undefined,
      fixKernelBugs: args.fixKernelBugs as boolean | string[] | undefined,
      allowOutsideFiles: args.allowOutsideFiles as boolean | undefined,
      workspaceFolders: args.workspaceFolders as string[] | undefined,
      noDebug: args.noDebug as boolean | undefined,
      checkpoints: args.checkpoints as number | undefined,
    };
  }

  private async startModel(opts: LaunchArguments & { noDebug?: boolean }): Promise<unknown> {
    this.trace = !!opts.trace;
    const host = new ModelHost();
    this.bindHost(host);
    let launched: { checkpoints?: boolean } | undefined;
    try {
      await host.request('initialize', this.clientInfo());
      launched = (await host.request('launch', opts, 60000)) as { checkpoints?: boolean } | undefined;
    } catch (e) {
      this.host = undefined;
      void host.dispose();
      throw e;
    }
    this.launchArgs = opts;
    this.startCheckpoints(opts, !!launched?.checkpoints);
    setImmediate(() => this.sendEvent(new InitializedEvent()));
    return undefined;
  }

  /** Standby workers, launched like the live one (not for a scenario with disk images: they would share the files). */
  private startCheckpoints(opts: LaunchArguments & { noDebug?: boolean }, possible: boolean): void {
    this.travel?.dispose();
    this.travel = undefined;
    const slots = opts.checkpoints ?? DEFAULT_CHECKPOINTS;
    if (!possible || opts.noDebug || slots <= 0) return;
    // Both requests go out at once (the pool sends more right after them, in order).
    const launch = async (h: ModelHost): Promise<void> => {
      await Promise.all([h.request('initialize', this.clientInfo()), h.request('launch', { ...opts, stopOnEntry: false, trace: false }, 60000)]);
    };
    const session = { send: (e: string, b: unknown) => this.sendToClient(e, b), switchTo: (h: ModelHost) => this.switchTo(h) };
    this.travel = new TimeTravel(
      session,
      new Checkpoints({ newHost: () => new ModelHost(), launch, notice: (text) => this.sendEvent(new OutputEvent(text, 'console')) }, slots),
    );
  }

  /** Where the standby workers are and what they hold (`settle`: once all have parked). */
  private async checkpointStatus(settle: boolean): Promise<CheckpointsResponseBody> {
    const cp = this.travel?.checkpoints;
    if (!cp) return { enabled: false, slots: 0, checkpoints: [], trips: { promoted: 0, fromStart: 0, scouted: 0 } };
    if (!settle || cp.off) return { enabled: !cp.off, slots: cp.slots, checkpoints: cp.now(), trips: { ...cp.counts } };
    const checkpoints = await cp.settled();
    const liveBytes = this.host?.alive && this.host.state !== 'running' ? await this.host.heapBytes() : undefined;
    return { enabled: true, slots: cp.slots, checkpoints, bytes: await cp.memory(), liveBytes, trips: { ...cp.counts } };
  }

  /** A trip back arrived: its worker is the session's model now. */
  private switchTo(host: ModelHost): void {
    const old = this.host;
    this.bindHost(host);
    if (old && old !== host) void handOverTimeline(old, host).finally(() => old.dispose());
  }

  private async attach(args: Record<string, unknown>): Promise<unknown> {
    if (this.host) throw new RequestError('this session is already attached');
    this.kind = 'attach';
    if (args.scenario !== undefined) return this.startModel({ stopOnEntry: false, ...this.checkOptions(args, 'attach') });
    const host = this.services.adopt?.();
    if (!host) {
      throw new RequestError(
        this.services.single
          ? 'attach: this adapter runs over stdio and has no running scenario to attach to; give "scenario" in the attach configuration, or launch instead'
          : 'attach: no scenario is running in this visorbus-emu host; give "scenario" in the attach configuration (or launch one and disconnect with terminateDebuggee: false)',
        true,
      );
    }
    if (host.state === 'ended') {
      void host.dispose();
      throw new RequestError('attach: the scenario left running in this host has already finished; give "scenario" to start a new one', true);
    }
    this.adopted = true;
    this.bindHost(host);
    await host.request('initialize', this.clientInfo());
    await host.request('attachClient');
    setImmediate(() => this.sendEvent(new InitializedEvent()));
    return undefined;
  }

  private async restart(args: DebugProtocol.RestartArguments): Promise<unknown> {
    const host = this.needHost('restart');
    if (!this.launchArgs) throw new RequestError('restart: this session attached to a running scenario; restart works for sessions that gave a scenario');
    const merged = { ...this.launchArgs, ...((args.arguments ?? {}) as Record<string, unknown>) };
    const opts = this.checkOptions(merged, 'restart');
    this.travel?.cancel();
    this.travel?.checkpoints.forget();
    await host.request('restart', opts, 60000);
    this.launchArgs = opts;
    this.trace = !!opts.trace;
    return undefined;
  }

  private async pause(): Promise<unknown> {
    const host = this.needHost('pause');
    host.pause();
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000).unref());
    const r = await Promise.race([host.request('pause'), timeout]);
    if (r === 'timeout')
      this.sendEvent(
        new OutputEvent(
          'The emulator has not reached an event boundary within 2 s: a driver callback may be looping. It stops as soon as it reaches one; terminate the session to end it.\n',
          'stderr',
        ),
      );
    return undefined;
  }

  private async terminate(): Promise<unknown> {
    const host = this.host;
    this.travel?.dispose();
    this.ended = true;
    if (host) {
      this.host = undefined;
      await host.dispose();
    }
    this.sendEvent(new TerminatedEvent());
    return undefined;
  }

  private async disconnect(args: DebugProtocol.DisconnectArguments): Promise<unknown> {
    const host = this.host;
    this.travel?.dispose();
    this.travel = undefined;
    this.disconnecting = true;
    this.host = undefined;
    if (host?.alive) {
      const keep =
        !this.services.single &&
        !!this.services.keep &&
        host.state !== 'ended' &&
        (args.terminateDebuggee === false || (this.kind === 'attach' && args.terminateDebuggee !== true));
      if (keep) {
        try {
          await host.request('detach', { suspend: !!args.suspendDebuggee });
          host.attach(undefined);
          this.services.keep!(host);
        } catch {
          await host.dispose();
        }
      } else await host.dispose();
    }
    if (this.services.single) setImmediate(() => this.shutdown());
    else
      setImmediate(() => {
        this.services.done?.();
        this.stop();
      });
    return undefined;
  }

  /** The connection closed without a disconnect: stop the model (unless it was handed over). */
  async closed(): Promise<void> {
    if (this.disconnecting) return;
    this.disconnecting = true;
    this.travel?.dispose();
    const host = this.host;
    this.host = undefined;
    if (host) await host.dispose();
  }
}

/** Answers every request of a second, concurrent TCP client with a clear error. */
export class BusySession extends DebugSession {
  constructor(private readonly port: number) {
    super();
  }

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const response = new Response(request) as unknown as DebugProtocol.Response;
    const text = `visorbus-emu on port ${this.port} is already serving a debug client; it serves one client at a time. Disconnect the other client, or start another visorbus-emu with a different --port.`;
    response.success = false;
    response.message = text;
    response.body = { error: { id: 1010, format: text, showUser: true } };
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }
}
