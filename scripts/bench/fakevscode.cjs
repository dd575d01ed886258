/**
 * A minimal stand-in for the `vscode` module, enough to load dist/extension.js in plain
 * Node and call activate() (activation-time benchmark) and drive the Buses & Devices tree
 * provider (getChildren benchmark). The parts the extension really uses at activation and
 * in the views are implemented (EventEmitter, TreeItem, ThemeIcon, MarkdownString, Uri,
 * the register and create functions returning disposables); anything else resolves to an
 * inert stub. `install()` hooks Module._resolveFilename so `require('vscode')` gets it.
 */
'use strict';
const Module = require('node:module');
const path = require('node:path');

const FAKE_ID = path.join(__dirname, '__fake_vscode__.js');

class Disposable {
  constructor(fn) {
    this._fn = fn;
  }
  static from(...ds) {
    return new Disposable(() => ds.forEach((d) => d && typeof d.dispose === 'function' && d.dispose()));
  }
  dispose() {
    if (this._fn) this._fn();
    this._fn = undefined;
  }
}

class EventEmitter {
  constructor() {
    this._listeners = [];
    this.event = (listener, thisArg, disposables) => {
      const entry = { listener, thisArg };
      this._listeners.push(entry);
      const d = new Disposable(() => {
        this._listeners = this._listeners.filter((e) => e !== entry);
      });
      if (Array.isArray(disposables)) disposables.push(d);
      return d;
    };
  }
  fire(data) {
    for (const e of [...this._listeners]) e.listener.call(e.thisArg, data);
  }
  dispose() {
    this._listeners = [];
  }
}

/** An event nobody fires: registering returns a disposable. */
const noEvent = () => new Disposable();

class Uri {
  constructor(scheme, authority, p, query, fragment) {
    this.scheme = scheme;
    this.authority = authority || '';
    this.path = p || '/';
    this.query = query || '';
    this.fragment = fragment || '';
  }
  get fsPath() {
    return this.path;
  }
  static file(p) {
    return new Uri('file', '', path.resolve(p));
  }
  static parse(s) {
    const m = /^([a-z][\w+.-]*):(?:\/\/([^/]*))?([^?#]*)/i.exec(s);
    return m ? new Uri(m[1], m[2], m[3]) : new Uri('file', '', s);
  }
  static from(c) {
    return new Uri(c.scheme, c.authority, c.path, c.query, c.fragment);
  }
  static joinPath(base, ...parts) {
    return new Uri(base.scheme, base.authority, path.posix.join(base.path, ...parts));
  }
  with(c) {
    return new Uri(c.scheme ?? this.scheme, c.authority ?? this.authority, c.path ?? this.path, c.query ?? this.query, c.fragment ?? this.fragment);
  }
  toString() {
    return `${this.scheme}://${this.authority}${this.path}`;
  }
}

class TreeItem {
  constructor(labelOrUri, collapsibleState) {
    if (typeof labelOrUri === 'string' || (labelOrUri && typeof labelOrUri === 'object' && 'label' in labelOrUri)) this.label = labelOrUri;
    else this.resourceUri = labelOrUri;
    this.collapsibleState = collapsibleState;
  }
}

class ThemeIcon {
  constructor(id, color) {
    this.id = id;
    this.color = color;
  }
}
ThemeIcon.File = new ThemeIcon('file');
ThemeIcon.Folder = new ThemeIcon('folder');

class ThemeColor {
  constructor(id) {
    this.id = id;
  }
}

class MarkdownString {
  constructor(value, supportThemeIcons) {
    this.value = value || '';
    this.supportThemeIcons = !!supportThemeIcons;
  }
  appendMarkdown(s) {
    this.value += s;
    return this;
  }
  appendText(s) {
    this.value += s.replace(/[\\`*_{}[\]()#+\-.!]/g, '\\$&');
    return this;
  }
  appendCodeblock(code, lang) {
    this.value += '\n```' + (lang || '') + '\n' + code + '\n```\n';
    return this;
  }
}

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}
class Range {
  constructor(a, b, c, d) {
    if (typeof a === 'number') {
      this.start = new Position(a, b);
      this.end = new Position(c, d);
    } else {
      this.start = a;
      this.end = b;
    }
  }
}
class Diagnostic {
  constructor(range, message, severity) {
    this.range = range;
    this.message = message;
    this.severity = severity;
  }
}
class Breakpoint {
  constructor(enabled, condition, hitCondition, logMessage) {
    this.enabled = enabled ?? true;
    this.condition = condition;
    this.hitCondition = hitCondition;
    this.logMessage = logMessage;
  }
}
class FunctionBreakpoint extends Breakpoint {
  constructor(functionName, ...rest) {
    super(...rest);
    this.functionName = functionName;
  }
}
class SourceBreakpoint extends Breakpoint {
  constructor(location, ...rest) {
    super(...rest);
    this.location = location;
  }
}
class Simple {
  constructor(...args) {
    this.args = args;
  }
}

/** A stub for anything not modelled: callable, constructible, every property another stub. */
function stub(name) {
  const target = function () {};
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'then' || prop === Symbol.hasInstance || prop === Symbol.iterator) return undefined;
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === 'dispose') return () => undefined;
      if (prop === 'toString' || prop === 'toJSON') return () => `[stub ${name}]`;
      if (prop in t) return t[prop];
      return stub(`${name}.${String(prop)}`);
    },
    apply() {
      return stub(`${name}()`);
    },
    construct() {
      return stub(`new ${name}`);
    },
  });
}

function withFallback(name, obj) {
  return new Proxy(obj, {
    get(t, prop) {
      if (prop in t) return t[prop];
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return stub(`${name}.${prop}`);
    },
  });
}

function createTreeView(id, options) {
  return {
    id,
    options,
    description: '',
    message: undefined,
    title: undefined,
    visible: true,
    selection: [],
    onDidChangeSelection: noEvent,
    onDidChangeVisibility: noEvent,
    onDidExpandElement: noEvent,
    onDidCollapseElement: noEvent,
    onDidChangeCheckboxState: noEvent,
    reveal: async () => undefined,
    dispose() {},
  };
}

function outputChannel(name) {
  const lines = [];
  return { name, lines, append: (s) => lines.push(s), appendLine: (s) => lines.push(s), clear() {}, show() {}, hide() {}, replace() {}, dispose() {} };
}

/** Settable from a benchmark: the session `vscode.debug.activeDebugSession` returns. */
const state = { activeDebugSession: undefined, commands: new Map() };

function createApi() {
  const settings = { autoload: true, pollIntervalMs: 10, trace: false };
  const api = {
    version: '1.100.0',
    Disposable,
    EventEmitter,
    Uri,
    TreeItem,
    ThemeIcon,
    ThemeColor,
    MarkdownString,
    Position,
    Range,
    Diagnostic,
    Breakpoint,
    FunctionBreakpoint,
    SourceBreakpoint,
    Location: Simple,
    Hover: Simple,
    CodeLens: Simple,
    CompletionItem: Simple,
    SnippetString: Simple,
    RelativePattern: Simple,
    DebugAdapterExecutable: Simple,
    DebugAdapterServer: Simple,
    DebugAdapterInlineImplementation: Simple,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    CompletionItemKind: new Proxy({}, { get: (_t, p) => (typeof p === 'string' ? p.length : undefined) }),
    StatusBarAlignment: { Left: 1, Right: 2 },
    ViewColumn: { Active: -1, Beside: -2, One: 1, Two: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    DebugConfigurationProviderTriggerKind: { Initial: 1, Dynamic: 2 },
    ExtensionMode: { Production: 1, Development: 2, Test: 3 },
    window: withFallback('window', {
      createOutputChannel: outputChannel,
      createTreeView,
      createStatusBarItem: () => ({ text: '', tooltip: '', command: undefined, show() {}, hide() {}, dispose() {} }),
      createWebviewPanel: () => stub('webviewPanel'),
      showInformationMessage: async () => undefined,
      showWarningMessage: async () => undefined,
      showErrorMessage: async () => undefined,
      showQuickPick: async () => undefined,
      showInputBox: async () => undefined,
      setStatusBarMessage: () => new Disposable(),
      withProgress: async (_o, task) => task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: noEvent }),
      activeTextEditor: undefined,
      visibleTextEditors: [],
      onDidChangeActiveTextEditor: noEvent,
      registerWebviewPanelSerializer: () => new Disposable(),
    }),
    commands: withFallback('commands', {
      registerCommand: (id, fn) => {
        state.commands.set(id, fn);
        return new Disposable(() => state.commands.delete(id));
      },
      executeCommand: async (id, ...args) => (state.commands.has(id) ? state.commands.get(id)(...args) : undefined),
      getCommands: async () => [...state.commands.keys()],
    }),
    debug: withFallback('debug', {
      get activeDebugSession() {
        return state.activeDebugSession;
      },
      breakpoints: [],
      addBreakpoints() {},
      removeBreakpoints() {},
      startDebugging: async () => true,
      registerDebugConfigurationProvider: () => new Disposable(),
      registerDebugAdapterDescriptorFactory: () => new Disposable(),
      registerDebugAdapterTrackerFactory: () => new Disposable(),
      onDidStartDebugSession: noEvent,
      onDidTerminateDebugSession: noEvent,
      onDidChangeActiveDebugSession: noEvent,
      onDidReceiveDebugSessionCustomEvent: noEvent,
      onDidChangeBreakpoints: noEvent,
    }),
    languages: withFallback('languages', {
      createDiagnosticCollection: (name) => {
        const m = new Map();
        return {
          name,
          set: (u, d) => m.set(String(u), d),
          delete: (u) => m.delete(String(u)),
          clear: () => m.clear(),
          get: (u) => m.get(String(u)),
          forEach() {},
          has: (u) => m.has(String(u)),
          dispose() {},
        };
      },
      registerCompletionItemProvider: () => new Disposable(),
      registerHoverProvider: () => new Disposable(),
      registerCodeLensProvider: () => new Disposable(),
      registerDocumentSymbolProvider: () => new Disposable(),
      registerDefinitionProvider: () => new Disposable(),
    }),
    workspace: withFallback('workspace', {
      isTrusted: true,
      workspaceFolders: undefined,
      textDocuments: [],
      getConfiguration: () => ({
        get: (k, d) => (k in settings ? settings[k] : d),
        has: (k) => k in settings,
        inspect: () => undefined,
        update: async () => undefined,
      }),
      onDidOpenTextDocument: noEvent,
      onDidChangeTextDocument: noEvent,
      onDidCloseTextDocument: noEvent,
      onDidSaveTextDocument: noEvent,
      onDidChangeConfiguration: noEvent,
      onDidGrantWorkspaceTrust: noEvent,
      onDidChangeWorkspaceFolders: noEvent,
      getWorkspaceFolder: () => undefined,
      asRelativePath: (p) => String(p),
      findFiles: async () => [],
      openTextDocument: async () => stub('document'),
      fs: stub('workspace.fs'),
    }),
    env: withFallback('env', { clipboard: { writeText: async () => undefined, readText: async () => '' }, language: 'en', appName: 'bench' }),
    extensions: withFallback('extensions', { getExtension: () => undefined, all: [] }),
  };
  return withFallback('vscode', api);
}

let installed;

/** Make `require('vscode')` resolve to the fake. Returns the fake module and its settable state. */
function install() {
  if (installed) return installed;
  const api = createApi();
  const m = new Module(FAKE_ID);
  m.filename = FAKE_ID;
  m.loaded = true;
  m.exports = api;
  require.cache[FAKE_ID] = m;
  const orig = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'vscode') return FAKE_ID;
    return orig.call(this, request, ...rest);
  };
  installed = { vscode: api, state };
  return installed;
}

/** An ExtensionContext good enough for activate(). */
function fakeContext(root) {
  const pkg = require(path.resolve(root, 'package.json'));
  const memento = () => {
    const m = new Map();
    return { get: (k, d) => (m.has(k) ? m.get(k) : d), update: async (k, v) => void m.set(k, v), keys: () => [...m.keys()], setKeysForSync() {} };
  };
  return {
    subscriptions: [],
    extensionPath: path.resolve(root),
    extensionUri: Uri.file(root),
    extension: { id: `${pkg.publisher}.${pkg.name}`, extensionPath: path.resolve(root), extensionUri: Uri.file(root), packageJSON: pkg, isActive: true },
    globalState: memento(),
    workspaceState: memento(),
    storageUri: undefined,
    globalStorageUri: Uri.file(path.join(root, 'out', 'bench', 'global-storage')),
    logUri: Uri.file(path.join(root, 'out', 'bench', 'log')),
    extensionMode: 1,
    asAbsolutePath: (p) => path.join(root, p),
    environmentVariableCollection: stub('environmentVariableCollection'),
    secrets: stub('secrets'),
  };
}

module.exports = { install, fakeContext, state };
