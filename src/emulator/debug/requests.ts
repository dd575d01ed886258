/**
 * The requests the DAP session sends the model worker, by command: arguments in, response body
 * out. The standard ones carry the client's DebugProtocol arguments unchanged; the custom ones
 * the contract's (contract.ts); the rest are the session's own (launch with checked options,
 * lifecycle, checkpoints). The worker's request table (worker/requesttable.ts) must have a
 * handler for each command here, and the session forwards exactly FORWARDED_COMMANDS from its
 * client: both come from these types, so neither keeps a list of its own.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { LaunchArguments, VisorbusRequests } from './contract';
import type { ClientInfo, Pos, PoolJournalEntry, PoolSeen, WorkerState } from './workerlink';
import type { MoveArgs, PlanArguments, StartArgs } from './worker/standby';
import type { TimelineHandOver } from './worker/timeline';
import type { JournalEntry, ReplayPlan } from './worker/journal';

interface Req<A, B> {
  arguments: A;
  body: B;
}

/** Standard DAP requests the session passes on as the client sent them. */
export interface StandardRequests {
  setBreakpoints: Req<DebugProtocol.SetBreakpointsArguments, DebugProtocol.SetBreakpointsResponse['body']>;
  setFunctionBreakpoints: Req<DebugProtocol.SetFunctionBreakpointsArguments, DebugProtocol.SetFunctionBreakpointsResponse['body']>;
  setExceptionBreakpoints: Req<DebugProtocol.SetExceptionBreakpointsArguments, DebugProtocol.SetExceptionBreakpointsResponse['body']>;
  breakpointLocations: Req<DebugProtocol.BreakpointLocationsArguments, DebugProtocol.BreakpointLocationsResponse['body']>;
  dataBreakpointInfo: Req<DebugProtocol.DataBreakpointInfoArguments, DebugProtocol.DataBreakpointInfoResponse['body']>;
  setDataBreakpoints: Req<DebugProtocol.SetDataBreakpointsArguments, DebugProtocol.SetDataBreakpointsResponse['body']>;
  continue: Req<DebugProtocol.ContinueArguments, DebugProtocol.ContinueResponse['body']>;
  next: Req<DebugProtocol.NextArguments, undefined>;
  stepIn: Req<DebugProtocol.StepInArguments, undefined>;
  stepOut: Req<DebugProtocol.StepOutArguments, undefined>;
  stepBack: Req<DebugProtocol.StepBackArguments, undefined>;
  reverseContinue: Req<DebugProtocol.ReverseContinueArguments, undefined>;
  stackTrace: Req<DebugProtocol.StackTraceArguments, DebugProtocol.StackTraceResponse['body']>;
  scopes: Req<DebugProtocol.ScopesArguments, DebugProtocol.ScopesResponse['body']>;
  variables: Req<DebugProtocol.VariablesArguments, DebugProtocol.VariablesResponse['body']>;
  setVariable: Req<DebugProtocol.SetVariableArguments, DebugProtocol.SetVariableResponse['body']>;
  setExpression: Req<DebugProtocol.SetExpressionArguments, DebugProtocol.SetExpressionResponse['body']>;
  evaluate: Req<DebugProtocol.EvaluateArguments, DebugProtocol.EvaluateResponse['body']>;
  completions: Req<DebugProtocol.CompletionsArguments, DebugProtocol.CompletionsResponse['body']>;
  exceptionInfo: Req<DebugProtocol.ExceptionInfoArguments, DebugProtocol.ExceptionInfoResponse['body']>;
  loadedSources: Req<DebugProtocol.LoadedSourcesArguments | undefined, DebugProtocol.LoadedSourcesResponse['body']>;
  readMemory: Req<DebugProtocol.ReadMemoryArguments, DebugProtocol.ReadMemoryResponse['body']>;
  writeMemory: Req<DebugProtocol.WriteMemoryArguments, DebugProtocol.WriteMemoryResponse['body']>;
}

/** The custom requests the worker answers (`visorbus/checkpoints` is the session's: it knows the standby workers). */
export type WorkerVisorbusRequests = Omit<VisorbusRequests, 'visorbus/checkpoints'>;

/** What the worker says of a launch. */
export interface LaunchResult {
  scenario: string;
  steps: number;
  /** Standby workers can be used (the scenario attaches no disk image). */
  checkpoints: boolean;
}

/** Where an adopted model is, for the client that adopts it. */
export interface AttachClientResult {
  state: WorkerState;
  scenario: string | undefined;
  stopped: { reason: string; description: string; threadId: number } | undefined;
}

/** Requests the session makes itself: the lifecycle and requests it checks or answers in part first. */
export interface SessionRequests {
  initialize: Req<ClientInfo, undefined>;
  launch: Req<LaunchArguments, LaunchResult>;
  configurationDone: Req<{ noDebug?: boolean }, undefined>;
  restart: Req<LaunchArguments, undefined>;
  threads: Req<undefined, DebugProtocol.ThreadsResponse['body']>;
  pause: Req<DebugProtocol.PauseArguments | undefined, undefined>;
  source: Req<DebugProtocol.SourceArguments, DebugProtocol.SourceResponse['body']>;
  attachClient: Req<undefined, AttachClientResult>;
  resendStop: Req<undefined, undefined>;
  detach: Req<{ suspend?: boolean }, undefined>;
  shutdown: Req<undefined, undefined>;
}

/** Requests of the checkpoints (checkpoints.ts, travel.ts) to standby and live workers. */
export interface PoolRequests {
  'pool/timelineHandOver': Req<undefined, TimelineHandOver>;
  'pool/timelineAdopt': Req<TimelineHandOver, undefined>;
  'pool/plan': Req<PlanArguments, { plan: ReplayPlan; pos: Pos; seen: PoolSeen }>;
  'pool/standby': Req<StartArgs, undefined>;
  'pool/travel': Req<StartArgs, undefined>;
  'pool/advance': Req<MoveArgs, undefined>;
  'pool/promote': Req<MoveArgs, undefined>;
  'pool/scout': Req<MoveArgs, undefined>;
  'pool/memory': Req<undefined, { bytes: number }>;
  'journal/append': Req<{ entry: JournalEntry | PoolJournalEntry }, undefined>;
  'journal/truncate': Req<{ pos: Pos }, undefined>;
}

export interface WorkerRequests extends StandardRequests, WorkerVisorbusRequests, SessionRequests, PoolRequests {}

export type WorkerCommand = keyof WorkerRequests;
export type ArgumentsOf<K extends WorkerCommand> = WorkerRequests[K]['arguments'];
export type BodyOf<K extends WorkerCommand> = WorkerRequests[K]['body'];

/** The requests a client may send that the session passes on to the worker unchanged. */
export type ForwardedCommand = keyof StandardRequests | keyof WorkerVisorbusRequests;

/** Every forwarded command once (the type makes this list complete and exact). */
const FORWARDED: Record<ForwardedCommand, true> = {
  setBreakpoints: true,
  setFunctionBreakpoints: true,
  setExceptionBreakpoints: true,
  breakpointLocations: true,
  dataBreakpointInfo: true,
  setDataBreakpoints: true,
  continue: true,
  next: true,
  stepIn: true,
  stepOut: true,
  stepBack: true,
  reverseContinue: true,
  stackTrace: true,
  scopes: true,
  variables: true,
  setVariable: true,
  setExpression: true,
  evaluate: true,
  completions: true,
  exceptionInfo: true,
  loadedSources: true,
  readMemory: true,
  writeMemory: true,
  'visorbus/topology': true,
  'visorbus/devices': true,
  'visorbus/sysfs': true,
  'visorbus/sysfsWrite': true,
  'visorbus/channel': true,
  'visorbus/deviceAction': true,
  'visorbus/timeline': true,
  'visorbus/goto': true,
};

export const FORWARDED_COMMANDS: ReadonlySet<string> = new Set(Object.keys(FORWARDED));

export function isForwarded(cmd: string): cmd is ForwardedCommand {
  return FORWARDED_COMMANDS.has(cmd);
}

/** Requests that set breakpoints (the standby workers get them too). */
export const BREAKPOINT_COMMANDS: ReadonlySet<string> = new Set<keyof StandardRequests>([
  'setBreakpoints',
  'setFunctionBreakpoints',
  'setExceptionBreakpoints',
  'setDataBreakpoints',
]);
