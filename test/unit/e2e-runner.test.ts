import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTestsIn } from '../e2e/suite/index';

/** A folder holding the given files (name -> text). */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'visor-e2e-runner-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('e2e extension-host runner (test/e2e/suite/index.ts)', () => {
  it('fails when the folder holds no test file', async () => {
    const dir = folder({ 'helper.js': '' });
    await assert.rejects(runTestsIn(dir), /no test files \(\*\.test\.js\)/);
  });

  it('fails when the grep selects no test, passes when a test runs', async () => {
    // one folder per run: a test file is required once per process
    const one = { 'one.test.js': "suite('s', () => { test('runs', () => {}); });\n" };
    await assert.rejects(runTestsIn(folder(one), 'nothing matches this'), /no test ran: 1 file\(s\)/);
    await runTestsIn(folder(one));
  });
});
