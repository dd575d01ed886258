/**
 * Language support for `.visor` scenarios on top of the emulator's pure parser: diagnostics as you
 * type, completion (commands, GUID aliases, declared devices), hovers on GUIDs and aliases, and a
 * "Run | Debug" CodeLens on the first line.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../../emulator/scenario/catalogue';
import { parseScenario } from '../../emulator/scenario/parser';
import { GUID_ALIASES, GUID_DESCRIPTIONS, isGuidText, resolveGuid } from '../../emulator/protocol/guid';
import type { Scenario } from '../../emulator/scenario/ast';
import { LANGUAGE_ID } from '../debug/configuration';
import { toDiagnostics } from './diagnostics';
import { usePreflightDiagnostics } from './preflight';

export { toDiagnostics };

const SELECTOR: vscode.DocumentSelector = [{ language: LANGUAGE_ID }];
const GUID_OPTIONS = /(?:^|\s)(type|chtype|zone|guid|inst)=([\w-]*)$/;
/** First words of commands whose second word is a verb ("device create"), not a device ("disk 2:0 attach"). */
const TWO_WORD_FAMILIES = new Set(COMMANDS.filter((c) => c.name.includes(' ') && c.syntax.startsWith(c.name)).map((c) => c.name.split(' ')[0]));
const GUID_RE = /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/;

/** Parses each document once per version (diagnostics, completion and hovers share it). */
class ParseCache {
  private readonly cache = new Map<string, { version: number; scenario: Scenario }>();
  get(doc: vscode.TextDocument): Scenario {
    const key = doc.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === doc.version) return hit.scenario;
    const scenario = parseScenario(doc.getText(), doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString());
    this.cache.set(key, { version: doc.version, scenario });
    return scenario;
  }
  forget(doc: vscode.TextDocument): void {
    this.cache.delete(doc.uri.toString());
  }
}

/** Devices declared by `device create B:D type=…` lines: id -> type alias/GUID text. */
export function declaredDevices(scenario: Scenario): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of scenario.steps) {
    if (s.command.kind === 'deviceCreate') {
      const { bus, dev } = s.command.device;
      const guid = s.command.typeGuid;
      const alias = Object.keys(GUID_ALIASES).find((a) => GUID_ALIASES[a] === guid);
      out.set(`${bus}:${dev}`, alias ?? guid);
    }
  }
  return out;
}

function guidDoc(guid: string, alias?: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  const desc = GUID_DESCRIPTIONS[guid];
  md.appendMarkdown(`**${alias ?? 'channel type'}** \`${guid}\`\n\n`);
  md.appendMarkdown(desc ? desc : 'not a channel type the emulator knows');
  return md;
}

export class VisorCompletionProvider implements vscode.CompletionItemProvider {
  constructor(private readonly parses: ParseCache) {}

  provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position): vscode.CompletionItem[] {
    const line = doc.lineAt(pos.line).text;
    const before = line.slice(0, pos.character);
    if (before.includes('#')) return [];
    const lead = before.length - before.trimStart().length;

    // 1. a command at the start of the line (may be two words: "device cr|")
    const words = before.trimStart().split(/\s+/);
    if (words.length === 1 || (words.length === 2 && TWO_WORD_FAMILIES.has(words[0]))) {
      const range = new vscode.Range(pos.line, lead, pos.line, pos.character);
      return COMMANDS.map((c, i) => {
        const item = new vscode.CompletionItem(c.name, vscode.CompletionItemKind.Keyword);
        item.insertText = new vscode.SnippetString(c.snippet);
        item.detail = c.syntax;
        item.documentation = new vscode.MarkdownString(c.description);
        item.range = range;
        item.filterText = c.name;
        item.sortText = String(i).padStart(3, '0');
        return item;
      });
    }

    // 2. a GUID option value: type=, chtype=, zone=, guid=
    const opt = GUID_OPTIONS.exec(before);
    if (opt) {
      const range = new vscode.Range(pos.line, pos.character - opt[2].length, pos.line, pos.character);
      const items = Object.entries(GUID_ALIASES).map(([alias, guid]) => {
        const item = new vscode.CompletionItem({ label: alias, description: guid }, vscode.CompletionItemKind.EnumMember);
        item.detail = GUID_DESCRIPTIONS[guid] ?? guid;
        item.documentation = guidDoc(guid, alias);
        item.range = range;
        return item;
      });
      for (const [guid, desc] of Object.entries(GUID_DESCRIPTIONS)) {
        if (Object.values(GUID_ALIASES).includes(guid)) continue;
        const item = new vscode.CompletionItem({ label: guid, description: desc }, vscode.CompletionItemKind.Constant);
        item.documentation = guidDoc(guid);
        item.range = range;
        items.push(item);
      }
      return items;
    }

    // 3. a device declared in this file: "2:0" as an argument, "vbus2:dev0" inside a sysfs path
    const devices = declaredDevices(this.parses.get(doc));
    const inPath = /\/sys\/\S*?([\w:]*)$/.exec(before);
    const token = /([\w:]*)$/.exec(before)?.[1] ?? '';
    const range = new vscode.Range(pos.line, pos.character - (inPath ? inPath[1].length : token.length), pos.line, pos.character);
    if (!inPath && !/^[\d:]*$/.test(token)) return [];
    return [...devices].map(([id, type]) => {
      const [bus, dev] = id.split(':');
      const label = inPath ? `vbus${bus}:dev${dev}` : id;
      const item = new vscode.CompletionItem({ label, description: `${inPath ? id : `vbus${bus}:dev${dev}`} · ${type}` }, vscode.CompletionItemKind.Variable);
      item.detail = `device ${id} (type ${type}), declared in this scenario`;
      item.range = range;
      return item;
    });
  }
}

export class VisorHoverProvider implements vscode.HoverProvider {
  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const guidRange = doc.getWordRangeAtPosition(pos, GUID_RE);
    if (guidRange) {
      const text = doc.getText(guidRange).toLowerCase();
      if (isGuidText(text)) {
        const alias = Object.keys(GUID_ALIASES).find((a) => GUID_ALIASES[a] === text);
        return new vscode.Hover(guidDoc(text, alias), guidRange);
      }
    }
    const wordRange = doc.getWordRangeAtPosition(pos, /[A-Za-z]+/);
    if (!wordRange) return undefined;
    const before = doc.lineAt(pos.line).text.slice(0, wordRange.start.character);
    if (!/(type|chtype|zone|guid|inst)=$/.test(before)) return undefined;
    const alias = doc.getText(wordRange);
    const guid = resolveGuid(alias);
    return guid ? new vscode.Hover(guidDoc(guid, alias), wordRange) : undefined;
  }
}

export class VisorCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, {
        title: '$(play) Run',
        tooltip: 'Run this scenario headless (results in the Visorbus output)',
        command: 'visorbus.runScenario',
        arguments: [doc.uri],
      }),
      new vscode.CodeLens(top, {
        title: '$(debug-alt) Debug',
        tooltip: 'Debug this scenario step by step',
        command: 'visorbus.debugScenario',
        arguments: [doc.uri],
      }),
    ];
  }
}

/** Registers the language features; diagnostics update as you type (debounced per document). */
export function registerLanguageFeatures(context: vscode.ExtensionContext): vscode.DiagnosticCollection {
  const parses = new ParseCache();
  const diagnostics = vscode.languages.createDiagnosticCollection(LANGUAGE_ID);
  usePreflightDiagnostics(diagnostics);
  const timers = new Map<string, ReturnType<typeof setTimeout>>();

  const update = (doc: vscode.TextDocument) => {
    if (doc.languageId !== LANGUAGE_ID) return;
    diagnostics.set(doc.uri, toDiagnostics(parses.get(doc)));
  };
  const schedule = (doc: vscode.TextDocument) => {
    if (doc.languageId !== LANGUAGE_ID) return;
    const key = doc.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        update(doc);
      }, 150),
    );
  };

  context.subscriptions.push(
    diagnostics,
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
    vscode.workspace.onDidOpenTextDocument(update),
    vscode.workspace.onDidChangeTextDocument((e) => schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      diagnostics.delete(doc.uri);
      parses.forget(doc);
    }),
    vscode.languages.registerCompletionItemProvider(SELECTOR, new VisorCompletionProvider(parses), ' ', '=', ':', '/'),
    vscode.languages.registerHoverProvider(SELECTOR, new VisorHoverProvider()),
    vscode.languages.registerCodeLensProvider(SELECTOR, new VisorCodeLensProvider()),
  );
  vscode.workspace.textDocuments.forEach(update);
  return diagnostics;
}
