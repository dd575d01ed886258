// Starts the fixture DAP server of test/e2e/fixtures/contract-adapter.ts (compiled beside the
// suites into out/e2e/fixtures) and resolves with the TCP port it listens on.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

export function startContractAdapter(): Promise<{ child: ChildProcess; port: number }> {
  // out/e2e/suite or out/e2e/ui -> out/e2e/fixtures; ELECTRON_RUN_AS_NODE for desktop VS Code's extension host
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'contract-adapter.js')], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the contract adapter did not start within 10 s'));
    }, 10000);
    child.on('error', e => {
      clearTimeout(timer);
      reject(e);
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
  });
}
