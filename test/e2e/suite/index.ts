// Entry point the VS Code extension host loads from extensionTestsPath (same contract as
// @vscode/test-electron): runs every *.test.js beside it with mocha and settles when they end.
// A run that finds no test file, or whose grep selects no test, fails: nothing tested is not a pass.
// So does a skipped test (this.skip(), a test without a body) or a left-over .only: nothing skips silently.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  let grep: string | undefined;
  try {
    grep = JSON.parse(fs.readFileSync(path.join(__dirname, 'options.json'), 'utf8')).grep ?? undefined;
  } catch {
    // no options: run everything
  }
  return runTestsIn(__dirname, grep);
}

/** Run the *.test.js files of `dir`; rejects when there are none, when none is selected, or when one fails or is skipped. */
export function runTestsIn(dir: string, grep?: string): Promise<void> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (!files.length) return Promise.reject(new Error(`no test files (*.test.js) in ${dir}`));
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60000, grep, forbidPending: true, forbidOnly: true });
  for (const f of files) mocha.addFile(path.join(dir, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (failures) reject(new Error(`${failures} test(s) failed`));
      else if (runner.total === 0)
        reject(new Error(`no test ran: ${files.length} file(s) in ${dir}${grep ? `, none matching grep ${JSON.stringify(grep)}` : ''}`));
      else resolve();
    });
  });
}
