/**
 * The worker's request table: one handler per command of requests.ts, typed with that
 * command's arguments and response body, so a handler that answers with the wrong shape, or
 * a command without a handler, fails the type-check.
 */
import type { ArgumentsOf, BodyOf, WorkerCommand } from '../requests';
import type { RunPlan } from './journal';

/** Where the worker is when a request arrives: at its top level (idle, ended), stopped inside the model, or running. */
export type Ctx = 'top' | 'stopped' | 'running';

/** What the worker does once a request is answered. */
export type ResumeAction =
  { kind: 'continue' } | { kind: 'free' } | { kind: 'step'; step: 'next' | 'stepIn' | 'stepOut'; instruction: boolean } | { kind: 'plan'; plan: RunPlan };

/** A handler that has answered by itself (through `answer`) and says what happens next. */
export class Resume {
  constructor(readonly action: ResumeAction | undefined) {}
}

/** Answers a request: returns the response body, or answers through `answer` and returns a Resume. */
export type Handler<K extends WorkerCommand> = (a: ArgumentsOf<K>, ctx: Ctx, answer: (body: BodyOf<K>) => void) => BodyOf<K> | Resume;

export type RequestTable = { [K in WorkerCommand]: Handler<K> };

type AnyHandler = (a: unknown, ctx: Ctx, answer: (body: unknown) => void) => unknown;

/** The handler of `cmd`; undefined for a command the table does not have (never one of Object's own names). */
export function handlerOf(table: RequestTable, cmd: string): AnyHandler | undefined {
  return Object.prototype.hasOwnProperty.call(table, cmd) ? (table as unknown as Record<string, AnyHandler>)[cmd] : undefined;
}
