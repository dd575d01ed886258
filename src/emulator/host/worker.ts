/** Entry of dist/worker.js: the thread that runs the emulated model for the debug adapter. */
import { workerMain } from '../debug/worker/main';

workerMain();
