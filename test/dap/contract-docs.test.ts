/**
 * docs/dap-extensions.md against the contract (src/emulator/debug/contract.ts): every custom
 * request and event of the contract has its section in the doc and every field of its
 * arguments and bodies is named there; every request, event and field the doc's sections
 * declare is in the contract; every launch argument is named in "launch / attach".
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const CONTRACT = path.join(ROOT, 'src/emulator/debug/contract.ts');
const DOC = path.join(ROOT, 'docs/dap-extensions.md');

/** The contract's types, read by the compiler. */
function contractChecker(): { checker: ts.TypeChecker; file: ts.SourceFile } {
  const program = ts.createProgram([CONTRACT], { strict: true, noEmit: true, skipLibCheck: true });
  return { checker: program.getTypeChecker(), file: program.getSourceFile(CONTRACT)! };
}

function declaredType(c: ReturnType<typeof contractChecker>, name: string): ts.Type {
  const decl = c.file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  assert.ok(decl, `contract.ts declares ${name}`);
  return c.checker.getTypeAtLocation(decl);
}

/** Names of the properties of `type` and of the contract's object types inside it (arrays, unions, nested objects). */
function fieldNames(c: ReturnType<typeof contractChecker>, type: ts.Type, out = new Set<string>(), seen = new Set<ts.Type>()): Set<string> {
  if (seen.has(type)) return out;
  seen.add(type);
  if (type.isUnion() || type.isIntersection()) {
    for (const t of type.types) fieldNames(c, t, out, seen);
    return out;
  }
  if (c.checker.isArrayType(type)) {
    for (const t of c.checker.getTypeArguments(type as ts.TypeReference)) fieldNames(c, t, out, seen);
    return out;
  }
  if (!(type.flags & ts.TypeFlags.Object)) return out;
  for (const prop of c.checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    // Only the contract's own fields (not those of DebugProtocol's base types).
    if (decl && decl.getSourceFile().fileName !== c.file.fileName) continue;
    out.add(prop.name);
    fieldNames(c, c.checker.getTypeOfSymbol(prop), out, seen);
  }
  return out;
}

/** name -> { argument and body field names } of VisorbusRequests / VisorbusEvents. */
function table(c: ReturnType<typeof contractChecker>, name: string): Map<string, Set<string>> {
  const entries = new Map<string, Set<string>>();
  for (const prop of c.checker.getPropertiesOfType(declaredType(c, name))) entries.set(prop.name, fieldNames(c, c.checker.getTypeOfSymbol(prop)));
  for (const fields of entries.values()) {
    fields.delete('arguments');
    fields.delete('body');
  }
  return entries;
}

/** `## title` part of the doc, split at its `### \`name\`` headings. */
function docSections(doc: string, title: string): Map<string, string> {
  const part = doc.split(/^## /m).find((p) => p.startsWith(title));
  assert.ok(part, `docs/dap-extensions.md has "## ${title}"`);
  const out = new Map<string, string>();
  for (const s of part.split(/^### /m).slice(1)) {
    const m = /^(?:`([^`]+)`|(.+))/.exec(s)!;
    out.set(m[1] ?? m[2].trim(), s);
  }
  return out;
}

/** Field names a section declares in its code (`name: type`, `name?: type` in code blocks and inline `{ ... }` types). */
function declaredInDoc(section: string): Set<string> {
  const code = [...section.matchAll(/```[a-z]*\n([\s\S]*?)```|`(\{[^`]+)`/g)].map((m) => (m[1] ?? m[2]).replace(/\/\/.*$/gm, '')).join('\n');
  return new Set([...code.matchAll(/(?:^|[{;,]|\n)\s*([A-Za-z_]\w*)\??:\s/g)].map((m) => m[1]));
}

function mentions(section: string, word: string): boolean {
  return new RegExp(`\\b${word}\\b`).test(section);
}

describe('docs/dap-extensions.md matches the contract', () => {
  const c = contractChecker();
  const doc = fs.readFileSync(DOC, 'utf8');

  for (const [kind, title] of [
    ['VisorbusRequests', 'Custom requests'],
    ['VisorbusEvents', 'Custom events'],
  ] as const) {
    it(`${title}: the same names and fields as ${kind}`, () => {
      const contract = table(c, kind);
      const sections = docSections(doc, title);
      assert.ok(contract.size > 0);
      assert.deepEqual([...sections.keys()].sort(), [...contract.keys()].sort(), `${title} in the doc vs ${kind} in contract.ts`);
      for (const [name, fields] of contract) {
        const text = sections.get(name)!;
        const undocumented = [...fields].filter((f) => !mentions(text, f));
        assert.deepEqual(undocumented, [], `${name}: fields of the contract the doc does not name`);
        const unknown = [...declaredInDoc(text)].filter((f) => !fields.has(f) && f !== 'interface');
        assert.deepEqual(unknown, [], `${name}: fields the doc declares that the contract does not have`);
      }
    });
  }

  it('launch / attach names every launch argument', () => {
    const section = docSections(doc, 'Standard requests').get('launch / attach')!.split('`attach` with a `scenario`')[0];
    for (const name of fieldNames(c, declaredType(c, 'LaunchArguments')))
      assert.ok(section.includes('`' + name + '`'), `launch argument ${name} is not in "launch / attach"`);
  });
});
