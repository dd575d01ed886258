/**
 * Hovering a device id (`2:0`, `vbus2:dev0`) in a `.visor` scenario: while a visorbus session is
 * stopped, what the device is there (type, channel, driver binding, state, queue fill, through
 * `visorbus/devices`); otherwise the static facts of its `device create` line.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { parseScenario } from '../../emulator/scenario/parser';
import { GUID_ALIASES, GUID_DESCRIPTIONS } from '../../emulator/protocol/guid';
import type { ScenarioStep } from '../../emulator/scenario/ast';
import { SessionState, VisorbusSessions } from '../debug/sessions';
import { DEVICE_PAGE_SIZE, DeviceInfo, deviceDisplayName, hex } from '../protocol';

const SELECTOR: vscode.DocumentSelector = [{ language: 'visor' }];
const DEVICE_RE = /(?:vbus\d{1,5}:dev\d{1,5}|\b\d{1,5}:\d{1,5})\b/;

/** The `device create` step of bus:dev in the scenario, if it has one. */
export function deviceCreateStep(text: string, file: string, bus: number, dev: number): ScenarioStep | undefined {
  return parseScenario(text, file).steps.find((s) => s.command.kind === 'deviceCreate' && s.command.device.bus === bus && s.command.device.dev === dev);
}

function typeText(guid: string): string {
  const alias = Object.keys(GUID_ALIASES).find((a) => GUID_ALIASES[a] === guid);
  return `${alias ? `\`${alias}\` ` : ''}\`${guid}\``;
}

/** The device as the session has it, null when the session has no such device. */
async function liveDevice(st: SessionState, bus: number, dev: number): Promise<DeviceInfo | null> {
  for (let start = 0; start < 100 * DEVICE_PAGE_SIZE; start += DEVICE_PAGE_SIZE) {
    let page;
    try {
      page = await st.client.devices(bus, start, DEVICE_PAGE_SIZE);
    } catch {
      return null; // no such bus
    }
    const found = page.devices.find((d) => d.dev === dev);
    if (found) return found;
    if (page.devices.length === 0 || start + page.devices.length >= page.total) return null;
  }
  return null;
}

function liveRows(d: DeviceInfo): string[] {
  const queues = d.queues.map((q) => `q${q.index} ${q.pending}/${Math.max(0, q.maxSlots - 1)}`).join(' · ');
  const desc = GUID_DESCRIPTIONS[d.typeGuid];
  return [
    `| type | ${typeText(d.typeGuid)}${desc ? ` ${desc}` : ''} |`,
    `| channel | ${d.typeName || 'unknown type'} at ${hex(d.physaddr)}, ${d.nbytes} bytes |`,
    `| driver | ${d.driver ?? 'none bound'} |`,
    `| state | ${d.state} |`,
    `| queues | ${queues || 'none'} (pending/capacity) |`,
  ];
}

function staticRows(step: ScenarioStep | undefined): string[] {
  if (step?.command.kind !== 'deviceCreate') return ['', '*This scenario has no `device create` line for it.*'];
  const c = step.command;
  const desc = GUID_DESCRIPTIONS[c.typeGuid];
  return [
    `| type | ${typeText(c.typeGuid)}${desc ? ` ${desc}` : ''} |`,
    `| channel | ${c.bytes !== undefined ? `${c.bytes} bytes` : 'default size'}${c.addr !== undefined ? ` at ${hex(c.addr)}` : ''} |`,
    `| created | line ${step.loc.line}: \`${step.text.trim()}\` |`,
  ];
}

export class DeviceHoverProvider implements vscode.HoverProvider {
  constructor(private readonly sessions: VisorbusSessions) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const range = doc.getWordRangeAtPosition(pos, DEVICE_RE);
    if (!range || doc.lineAt(pos.line).text.slice(0, range.start.character).includes('#')) return undefined;
    const m = /(\d+):(?:dev)?(\d+)/.exec(doc.getText(range))!;
    const bus = Number(m[1]);
    const dev = Number(m[2]);
    const id = `${bus}:${dev}`;
    const md = new vscode.MarkdownString();
    const st = this.sessions.current;
    const head = `**${deviceDisplayName(id)}** (device ${id})`;
    if (st?.stopped) {
      const d = await liveDevice(st, bus, dev);
      const when = st.last ? ` at t = ${st.last.time.ms} ms` : '';
      md.appendMarkdown(`${head} — live in ${st.session.name}, stopped${when}\n\n`);
      if (d) md.appendMarkdown(['| | |', '|---|---|', ...liveRows(d)].join('\n'));
      else md.appendMarkdown(`${deviceDisplayName(id)} does not exist at this point of the run.`);
      return new vscode.Hover(md, range);
    }
    const file = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString();
    const step = deviceCreateStep(doc.getText(), file, bus, dev);
    const why = st ? `${st.session.name} is running: pause it to see the device live` : 'no debug session: press F5 to see it live';
    md.appendMarkdown(`${head} — as ${path.basename(file)} declares it (${why})\n\n`);
    md.appendMarkdown(['| | |', '|---|---|', ...staticRows(step)].join('\n'));
    return new vscode.Hover(md, range);
  }
}

/** Registered beside the language features: it needs the sessions for the live view. */
export function registerDeviceHovers(context: vscode.ExtensionContext, sessions: VisorbusSessions): void {
  context.subscriptions.push(vscode.languages.registerHoverProvider(SELECTOR, new DeviceHoverProvider(sessions)));
}
