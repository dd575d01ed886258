// Entry point the VS Code extension host loads from extensionTestsPath (same contract as
// @vscode/test-electron): runs every *.test.js beside it with mocha and settles when they end.
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
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60000, grep });
  const files = fs.readdirSync(__dirname).filter(f => f.endsWith('.test.js')).sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run(failures => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
