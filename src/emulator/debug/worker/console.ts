/**
 * The Debug Console: `ls`/`cat`/`echo … >` on sysfs, any scenario line (controlvm
 * commands, `signal insert`, `memory write` …) executed through the runner at the stop,
 * and field expressions (also for watch and hover), with completions.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import { StopState, UserError } from './stopstate';
import type { ClientInfo, WorkerState } from '../workerlink';
import type { Journal } from './journal';
import type { Scenario } from '../../scenario/ast';
import type { Inspector } from './inspect';
import type { StackView } from './stackview';
import type { Views } from './views';
import { channelTarget, hexRef, parseDeviceId, queuesOf } from './decode';
import { evaluate, FieldSource, formatValue, modelContext, parseExpression } from './expr';
import { parseScenario, COMMANDS, suggest } from '../../scenario/parser';
import { CHANNEL_HEADER, SIGNAL_QUEUE_HEADER } from '../../protocol/layout';
import { deviceState } from '../../inspect/fields';
import { callbackFunction } from './stack';

const SCENARIO_WORDS = new Set(COMMANDS.map((c) => c.name.split(' ')[0]).concat(['echo']));
const CONSOLE_WORDS = ['help', 'ls', 'cat', 'echo'];
/** Words an expression may start with on their own: fields of the frame's device and globals. */
const BARE_WORDS = [
  'state',
  'driver',
  'typename',
  'bus',
  'dev',
  'physaddr',
  'nbytes',
  'name',
  'typeguid',
  'jiffies',
  'ms',
  'hz',
  'event',
  'callback',
  'result',
  'status',
  'errno',
  'true',
  'false',
];

const HELP = `Visorbus Debug Console
  ls [PATH]                 list a sysfs directory (default /sys/bus/visorbus/devices)
  cat PATH                  print a sysfs attribute (or where a link points)
  echo VALUE > PATH         write a sysfs attribute
  <scenario line>           run any scenario command at the stop, e.g.
                              device pause 2:0      (queued on the controlvm channel; runs on continue)
                              signal insert 2:0 queue=1 hex:0102   memory write 2:0+0x40 u32 7
  2:0  vbus2:dev0  controlvm  show a device
  EXPR                      evaluate a field expression, e.g. 2:0.queue[0].head,
                            queue[0].num_sent > 3 && state == "running"  (fields of the frame's device)
  fields: header.<field>  queue[N].<field>  queue[N].pending  state driver typename bus dev
          physaddr nbytes name typeguid;  globals: jiffies ms hz event callback result`;

/** What the Debug Console needs of the worker: a read view of the model and the stop, and the other views it borrows from. */
export interface ConsoleHost extends FieldSource {
  readonly client: ClientInfo;
  readonly scenario: Scenario | undefined;
  readonly state: WorkerState;
  readonly stop: StopState | undefined;
  readonly journal: Pick<Journal, 'intervene'>;
  readonly inspector: Pick<Inspector, 'fieldLocation' | 'handle'>;
  readonly stack: Pick<StackView, 'deviceOf' | 'frameById'>;
  readonly views: Pick<Views, 'cat' | 'ls' | 'write'>;
}

export class ReplConsole {
  constructor(private readonly ctl: ConsoleHost) {}

  private defaultDevice(frameId: unknown): string | undefined {
    const st = this.ctl.stop;
    if (!st) return undefined;
    if (frameId !== undefined) {
      const f = this.ctl.stack.frameById(Number(frameId));
      if (f?.device) return f.device;
    }
    return this.ctl.stack.deviceOf(st.frames, st.ev);
  }

  evaluate(a: DebugProtocol.EvaluateArguments): DebugProtocol.EvaluateResponse['body'] {
    const expr = String(a.expression ?? '').trim();
    const context = String(a.context ?? 'repl');
    const hex = !!(a.format as { hex?: boolean } | undefined)?.hex;
    if (!expr) throw new UserError('nothing to evaluate');
    if (!this.ctl.run) throw new UserError('no scenario is loaded: launch one first');
    if (context === 'repl') {
      const r = this.command(expr);
      if (r !== undefined) return { result: r, variablesReference: 0 };
      this.checkFirstWord(expr);
    }
    // Hovering a callback's device parameter (`dev` in `probe(dev)`) shows the device, not its `dev` field.
    const hovered = context === 'hover' ? this.callbackDevice(expr, a.frameId) : undefined;
    if (hovered) return this.deviceResult(hovered);
    const dev = /^(\d+:\d+|vbus\d+:dev\d+|controlvm)$/.test(expr) ? parseDeviceId(expr) : undefined;
    if (dev) return this.deviceResult(expr);
    const node = parseExpression(expr);
    const st = this.ctl.stop;
    const device = this.defaultDevice(a.frameId);
    const v = evaluate(node, modelContext(this.ctl, device, st?.ev, st?.frames));
    let memoryReference: string | undefined;
    if (node.k === 'ref' && /^(header|queue\[\d+\])\./.test(node.path)) {
      const loc = this.ctl.inspector.fieldLocation(expr, device);
      if (typeof loc !== 'string') memoryReference = hexRef(loc.addr + loc.f.offset);
    }
    return {
      result: formatValue(v, hex),
      type: typeof v === 'bigint' ? 'u64' : typeof v,
      variablesReference: 0,
      ...(memoryReference ? { memoryReference } : {}),
    };
  }

  /** A first word that is neither a command nor a field is a mistyped command: say so, with the nearest word. */
  private checkFirstWord(text: string): void {
    const m = /^([A-Za-z_]\w*)(?![\w.[:])/.exec(text);
    if (!m || BARE_WORDS.includes(m[1])) return;
    const s = suggest(m[1], [...CONSOLE_WORDS, ...SCENARIO_WORDS, ...BARE_WORDS]);
    throw new UserError(`unknown command '${m[1]}'${s ? ` — did you mean '${s}'?` : ''} (help lists the commands and fields)`);
  }

  /** The device when `expr` names the device parameter of the driver callback of the frame. */
  private callbackDevice(expr: string, frameId: unknown): string | undefined {
    const f = frameId === undefined ? undefined : this.ctl.stack.frameById(Number(frameId))?.model;
    if (f?.kind !== 'driver' || !f.device || !f.callback || !/^[A-Za-z_$][\w$]*$/.test(expr)) return undefined;
    const fn = callbackFunction(f.driver ? this.ctl.run?.emu.bus.drivers.get(f.driver) : undefined, f.callback);
    return fn && firstParameter(fn) === expr ? f.device : undefined;
  }

  private deviceResult(expr: string): DebugProtocol.EvaluateResponse['body'] {
    const emu = this.ctl.emu;
    const p = parseDeviceId(expr)!;
    const id = p === 'controlvm' ? 'controlvm' : `${p.bus}:${p.dev}`;
    const t = channelTarget(emu, id);
    if (!t) throw new UserError(`device ${expr} does not exist`);
    const d = t.device;
    const queues = queuesOf(emu.memory, t)
      .map((g) => `q${g.index} ${g.pending}/${g.maxSlots - 1}`)
      .join(' ');
    const text =
      p === 'controlvm'
        ? `controlvm channel ${hexRef(t.physaddr)} +${t.nbytes}${queues ? `  ${queues}` : ''}`
        : `${d?.name ?? `vbus${id.replace(':', ':dev')}`} ${d ? deviceState(d) : 'destroyed'}${d?.driver ? ` ${d.driver.name}` : ''}${t.typeName ? ` (${t.typeName})` : ''}, channel ${hexRef(t.physaddr)} +${t.nbytes}${queues ? `  ${queues}` : ''}`;
    const ref =
      this.ctl.stop && d && !d.isBus
        ? this.ctl.inspector.handle({ kind: 'device', dev: id })
        : this.ctl.stop
          ? this.ctl.inspector.handle({ kind: 'header', dev: id })
          : 0;
    return { result: text, variablesReference: ref, memoryReference: hexRef(t.physaddr) };
  }

  /** A console command's output, or undefined when the text is not a command. */
  private command(text: string): string | undefined {
    const word = text.split(/\s+/)[0];
    if (word === 'help' || word === '?') return HELP;
    if (word === 'ls') return this.ls(text.slice(2).trim() || '/sys/bus/visorbus/devices');
    if (word === 'cat') {
      const p = text.slice(3).trim();
      if (!p) throw new UserError('usage: cat PATH');
      return this.ctl.views.cat(p);
    }
    const echo = /^echo\s+(.*?)\s*>\s*(\/\S*)\s*$/.exec(text);
    if (echo) {
      let v = echo[1];
      if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
      this.ctl.views.write(echo[2], v);
      return `${echo[2]} = ${v}`;
    }
    if (!SCENARIO_WORDS.has(word)) return undefined;
    // `bus == 2 && …` starts like a scenario command but is an expression over fields.
    const sc = parseScenario(text, this.ctl.scenario?.file ?? '<console>');
    if (sc.diagnostics.some((d) => d.severity === 'error')) {
      try {
        parseExpression(text);
        return undefined;
      } catch {
        /* neither: report the scenario error */
      }
    }
    return this.scenarioLine(text);
  }

  private ls(p: string): string {
    const entries = this.ctl.views.ls(p);
    if (!entries.length) return '(empty)';
    return entries
      .map((e) =>
        e.kind === 'dir' ? `${e.name}/` : e.kind === 'link' ? `${e.name} -> ${e.target}` : `${e.name}${e.writable ? ' (w)' : ''} = ${e.value ?? ''}`,
      )
      .join('\n');
  }

  private scenarioLine(text: string): string {
    const ctl = this.ctl;
    const file = ctl.scenario?.file ?? '<console>';
    const sc = parseScenario(text, file);
    const errors = sc.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new UserError(errors.map((d) => `column ${d.column}: ${d.message}`).join('\n'));
    const step = sc.steps[0];
    if (!step) throw new UserError('nothing to run');
    if (!ctl.stop && ctl.state !== 'idle') throw new UserError(`'${text}' can run only while the session is stopped (pause it first)`);
    const expectsBefore = ctl.run!.expects.length;
    const err = ctl.journal.intervene({ kind: 'command', pos: { n: 0, w: 0 }, text });
    if (err) throw new UserError(`${text}: ${err}`);
    const c = step.command;
    if (c.kind === 'expect') {
      const r = ctl.run!.expects[expectsBefore];
      return r ? `${r.pass ? 'ok' : 'FAILED'}: ${r.subject} ${r.op} ${r.expected} (actual: ${r.actual})` : 'done';
    }
    const controlvm = [
      'chipsetInit',
      'chipsetReady',
      'chipsetSelftest',
      'chipsetStop',
      'busCreate',
      'busConfigure',
      'busDestroy',
      'deviceCreate',
      'deviceDestroy',
      'devicePause',
      'deviceResume',
      'deviceState',
      'deviceConfigure',
      'parahotplug',
      'controlvmSend',
    ];
    if (controlvm.includes(c.kind)) return `queued on the controlvm channel: ${text} (the guest handles it when the session continues)`;
    return `done: ${text}`;
  }

  // ---- completions ----------------------------------------------------------------------

  completions(a: DebugProtocol.CompletionsArguments): DebugProtocol.CompletionsResponse['body'] {
    const text = String(a.text ?? '');
    const one = this.ctl.client.columnsStartAt1 !== false;
    const column = Number(a.column ?? text.length + (one ? 1 : 0));
    const prefix = text.slice(0, Math.max(0, column - (one ? 1 : 0)));
    const targets: DebugProtocol.CompletionItem[] = [];
    const at = (len: number) => prefix.length - len + (one ? 1 : 0);
    const emu = this.ctl.run?.emu;

    const pathMatch = /^(?:ls|cat)\s+(\S*)$/.exec(prefix) ?? /^echo\s+.*>\s*(\S*)$/.exec(prefix);
    if (pathMatch && emu) {
      const p = pathMatch[1] || '/';
      const dir = p.endsWith('/') ? p : path.posix.dirname(p) + (path.posix.dirname(p) === '/' ? '' : '/');
      const base = p.endsWith('/') ? '' : path.posix.basename(p);
      try {
        for (const e of this.ctl.views.ls(dir === '' ? '/' : dir)) {
          if (!e.name.startsWith(base)) continue;
          const t = e.name + (e.kind === 'dir' ? '/' : '');
          targets.push({
            label: t,
            text: t,
            start: at(base.length),
            length: base.length,
            type: e.kind === 'dir' ? 'module' : e.kind === 'link' ? 'reference' : 'file',
          });
        }
      } catch {
        /* no such directory: nothing to offer */
      }
      return { targets };
    }

    const tokenMatch = /([\w:.[\]]*)$/.exec(prefix);
    const token = tokenMatch ? tokenMatch[1] : '';
    const first = !/\s/.test(prefix.trimStart());
    const devices = emu ? [...emu.bus.devices.values()].filter((d) => !d.isBus).map((d) => d.id) : [];
    if (first) {
      for (const w of ['help', 'ls', 'cat', 'echo'])
        if (w.startsWith(token)) targets.push({ label: w, start: at(token.length), length: token.length, type: 'keyword' });
      const seen = new Set<string>();
      for (const c of COMMANDS) {
        const w = c.name.split(' ')[0];
        if (!seen.has(w) && w.startsWith(token)) {
          seen.add(w);
          targets.push({ label: w, start: at(token.length), length: token.length, type: 'keyword', detail: c.syntax });
        }
      }
    } else {
      const words = prefix.trimStart().split(/\s+/);
      if (words.length === 2) {
        for (const c of COMMANDS) {
          const [w0, sub] = c.name.split(' ');
          if (w0 === words[0] && sub && sub.startsWith(words[1]))
            targets.push({ label: sub, start: at(words[1].length), length: words[1].length, type: 'keyword', detail: c.syntax });
        }
      }
    }
    // devices and fields
    const fm = /^(\d+:\d+\.|vbus\d+:dev\d+\.|controlvm\.)?([\w[\].]*)$/.exec(token);
    if (fm) {
      const dev = fm[1] ? fm[1].slice(0, -1) : undefined;
      const part = fm[2];
      if (!dev)
        for (const d of devices)
          if (d.startsWith(part) && part.length) targets.push({ label: d, start: at(part.length), length: part.length, type: 'variable' });
      const fields = this.fieldNames(dev ?? this.defaultDevice(a.frameId));
      if (dev || !first || part.length)
        for (const f of fields) if (f.startsWith(part)) targets.push({ label: f, start: at(part.length), length: part.length, type: 'property' });
    }
    const seen = new Set<string>();
    return { targets: targets.filter((t) => (seen.has(t.label) ? false : (seen.add(t.label), true))) };
  }

  private fieldNames(device: string | undefined): string[] {
    const base = ['state', 'driver', 'typename', 'bus', 'dev', 'physaddr', 'nbytes', 'name', 'typeguid', 'jiffies', 'ms', 'event'];
    const out = [...base, ...CHANNEL_HEADER.fields.map((f) => `header.${f.name}`)];
    const emu = this.ctl.run?.emu;
    const t = device && emu ? channelTarget(emu, device) : undefined;
    const n = t && emu ? queuesOf(emu.memory, t).length : 2;
    for (let q = 0; q < Math.max(n, 1); q++) {
      out.push(`queue[${q}].pending`);
      for (const f of SIGNAL_QUEUE_HEADER.fields) out.push(`queue[${q}].${f.name}`);
    }
    return out;
  }
}

/** The name of a function's first parameter (`probe(dev) {…}`, `function (dev)`, `dev => …`), if it has a plain one. */
export function firstParameter(fn: (...a: never[]) => unknown): string | undefined {
  const src = Function.prototype.toString.call(fn);
  const m = /^\s*(?:async\s*)?(?:function\b[^(]*|[\w$]+\s*)?\(\s*([A-Za-z_$][\w$]*)/.exec(src) ?? /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  return m?.[1];
}
