// Entry point of the untrusted-workspace suite: the same contract as ../suite/index.ts, run by
// scripts/e2e/run.mjs in a second code-server with workspace trust on and the folder not trusted.
export { run } from '../suite/index';
