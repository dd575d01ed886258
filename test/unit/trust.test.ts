/** The "Visorbus" output's trust line: right at activation, and again as soon as trust is granted. */
import * as assert from 'node:assert/strict';
import { TRUST_GRANTED_LINE, TrustSource, reportTrust } from '../../src/extension/features/trust';

/** A workspace whose trust can be granted, as vscode.workspace's is. */
function fakeWorkspace(trusted: boolean): TrustSource & { grant(): void; listeners: number } {
  const fns = new Set<() => void>();
  const ws = {
    isTrusted: trusted,
    get listeners() {
      return fns.size;
    },
    onDidGrantWorkspaceTrust: (fn: () => void) => {
      fns.add(fn);
      return { dispose: () => fns.delete(fn) };
    },
    grant() {
      ws.isTrusted = true;
      for (const f of fns) f();
    },
  };
  return ws as unknown as TrustSource & { grant(): void; listeners: number };
}

describe('workspace trust in the Visorbus output', () => {
  it('an untrusted workspace says so at activation, and says "now trusted" when trust is granted', () => {
    const lines: string[] = [];
    const ws = fakeWorkspace(false);
    const sub = reportTrust(ws, { appendLine: (l) => lines.push(l) }, '1.2.3');
    assert.deepEqual(lines, ['Visorbus Studio 1.2.3 active (workspace untrusted)']);
    ws.grant();
    assert.equal(lines.length, 2);
    assert.equal(lines[1], TRUST_GRANTED_LINE);
    assert.match(lines[1], /now trusted/);
    sub.dispose();
    assert.equal(ws.listeners, 0, 'disposing stops listening');
  });

  it('a trusted workspace says "trusted" at activation', () => {
    const lines: string[] = [];
    reportTrust(fakeWorkspace(true), { appendLine: (l) => lines.push(l) }, '1.2.3').dispose();
    assert.deepEqual(lines, ['Visorbus Studio 1.2.3 active (workspace trusted)']);
  });
});
