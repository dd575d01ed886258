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

  it('fails when a test is skipped, by this.skip() or for want of a body', async () => {
    const skips = { 'skip.test.js': "suite('s', () => { test('runs', () => {}); test('skips', function () { this.skip(); }); });\n" };
    await assert.rejects(runTestsIn(folder(skips)), /1 test\(s\) failed/);
    const bodiless = { 'todo.test.js': "suite('s', () => { test('runs', () => {}); test('todo'); });\n" };
    await assert.rejects(runTestsIn(folder(bodiless)), /1 test\(s\) failed/);
  });

  it('fails when a test file was left with .only', async () => {
    const only = { 'only.test.js': "suite('s', () => { test.only('runs', () => {}); test('other', () => {}); });\n" };
    await assert.rejects(runTestsIn(folder(only)), /only/i);
  });
});
