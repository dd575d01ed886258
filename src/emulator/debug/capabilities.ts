/**
 * What the adapter tells a client it supports, in the initialize response: every feature the
 * session and the model worker implement, and the exception filters (driver errors, kernel
 * oopses, failed expects...) with conditions over the device and its channel.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { EXCEPTION_FILTERS } from './workerlink';

/** The initialize response's body. */
export function capabilities(): DebugProtocol.Capabilities {
  return {
    supportsConfigurationDoneRequest: true,
    supportsFunctionBreakpoints: true,
    supportsConditionalBreakpoints: true,
    supportsHitConditionalBreakpoints: true,
    supportsLogPoints: true,
    supportsEvaluateForHovers: true,
    exceptionBreakpointFilters: EXCEPTION_FILTERS.map((f) => ({
      filter: f.filter,
      label: f.label,
      description: f.description,
      default: f.default,
      supportsCondition: true,
      conditionDescription: 'An expression over the device and its channel, e.g. bus == 2 && queue[0].num_overflows > 0',
    })),
    supportsExceptionFilterOptions: true,
    supportsExceptionInfoRequest: true,
    supportsStepBack: true,
    supportsSteppingGranularity: true,
    supportsSetVariable: true,
    supportsSetExpression: true,
    supportsRestartRequest: true,
    supportsTerminateRequest: true,
    supportTerminateDebuggee: true,
    supportSuspendDebuggee: true,
    supportsDataBreakpoints: true,
    supportsDataBreakpointBytes: true,
    supportsReadMemoryRequest: true,
    supportsWriteMemoryRequest: true,
    supportsCompletionsRequest: true,
    completionTriggerCharacters: ['.', '/', ' '],
    supportsValueFormattingOptions: true,
    supportsLoadedSourcesRequest: true,
    supportsDelayedStackTraceLoading: true,
    supportsBreakpointLocationsRequest: true,
    supportsClipboardContext: true,
  };
}
