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

describe('docs/architecture.md', () => {
  const doc = (): string => fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

  /** Every file under src/, as paths relative to the repository root. */
  function sourceFiles(): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(rel);
        else out.push(rel);
      }
    };
    walk('src');
    return out;
  }

  it('every source file and folder it names exists', () => {
    const files = sourceFiles();
    const named = [...doc().matchAll(/`([\w./-]+\.ts|src\/[\w./-]*\/)`/g)].map((m) => m[1]);
    assert.ok(named.length >= 40, `only ${named.length} files named`);
    // A bare or partial name (`parser.ts`, `worker/link.ts`) must be the end of some source path.
    const missing = named.filter((n) => !fs.existsSync(path.join(ROOT, n)) && !files.some((f) => f.endsWith(`/${n}`)));
    assert.deepEqual(missing, []);
  });

  it('its links lead to existing documents, and the README links to it', () => {
    const links = [...doc().matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length >= 3);
    for (const l of links) assert.ok(fs.existsSync(path.join(ROOT, 'docs', l)), `broken link: ${l}`);
    assert.ok(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').includes('](docs/architecture.md)'));
  });
});
