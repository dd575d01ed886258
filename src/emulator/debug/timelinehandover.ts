/**
 * A trip back through checkpoints makes another worker the session's model; that worker has
 * run only up to its position, while the timeline is the history of the whole session. The
 * old worker hands its landmarks to the new one before it is disposed (docs/design.md,
 * "The timeline").
 */
import type { ModelHost } from './modelhost';

export async function handOverTimeline(from: ModelHost, to: ModelHost): Promise<void> {
  try {
    const history = await from.request('pool/timelineHandOver');
    await to.request('pool/timelineAdopt', history);
  } catch {
    // A worker that is gone hands nothing over: the new one records the history from where it is.
  }
}
