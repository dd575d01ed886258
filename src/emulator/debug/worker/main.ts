/**
 * The model worker: receives the MessagePort and the shared control array from the
 * session, then serves requests forever (see controller.ts). Everything that runs the
 * model runs here, so the session's thread never blocks.
 */
import { MessagePort, workerData } from 'node:worker_threads';
import { Controller } from './controller';
import { Link } from './link';

export function workerMain(): void {
  const data = workerData as { port: MessagePort; ctrl: SharedArrayBuffer } | null;
  if (!data?.port || !data.ctrl) throw new Error('the visorbus model worker must be started by the debug adapter');
  process.setSourceMapsEnabled(true);
  const link = new Link(data.port, new Int32Array(data.ctrl));
  const ctl = new Controller(link);
  ctl.serveForever();
}
