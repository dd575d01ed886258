import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS } from '../../src/emulator/scenario/catalogue';

const ROOT = path.resolve(__dirname, '../../..');

describe('documentation', () => {
  it('docs/scenario-language.md lists the syntax of every scenario command', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/scenario-language.md'), 'utf8');
    for (const c of COMMANDS) assert.ok(doc.includes('`' + c.syntax.replace(/\|/g, '\\|') + '`'), `missing: ${c.syntax}`);
  });
});
