/**
 * `expect` lines: read the subject (a sysfs attribute or link, a channel field, a
 * counter), compare it with the expected value, record the result. A subject that
 * cannot be read compares as `<missing>` or `<error text>` instead of failing the line.
 */
import * as path from 'node:path';
import type { Emulator } from '../emulator';
import { controlvmIdName, statusName } from '../protocol/controlvm';
import { VisorChannel } from '../visorchannel/visorchannel';
import { FieldError, FieldValue, resolveField } from '../inspect/fields';
import { SysfsError } from '../sysfs/sysfs';
import type { Command, DeviceRef, ExpectOp, ScenarioStep } from './ast';
import { type ExpectResult, StepError, targetName } from './steprun';

type ExpectCommand = Extract<Command, { kind: 'expect' }>;

/** Check one expect line and record its result; a failed one is also an error event. */
export function checkExpect(emu: Emulator, file: string, expects: ExpectResult[], s: ScenarioStep, c: ExpectCommand): void {
  const { subject, op, value: expected } = c;
  let actual: string;
  let subjectText: string;
  let numeric: FieldValue | undefined;
  try {
    if (subject.kind === 'sysfs') {
      subjectText = subject.path;
      const link = emu.sysfs.readlink(subject.path);
      if (link !== undefined) actual = link;
      else actual = emu.sysfs.read(subject.path).replace(/\n$/, '');
    } else if (subject.kind === 'field') {
      subjectText = `${targetName(subject.device)}.${subject.field}`;
      numeric = fieldValue(emu, subject.device, subject.field);
      actual = String(numeric);
    } else {
      subjectText = `counter ${subject.name}`;
      const v = allCounters(emu)[subject.name];
      if (v === undefined) throw new StepError(`no counter named '${subject.name}' (known: ${Object.keys(allCounters(emu)).join(', ') || 'none'})`);
      numeric = v;
      actual = String(v);
    }
  } catch (e) {
    if (e instanceof StepError) throw e;
    subjectText = subject.kind === 'sysfs' ? subject.path : subject.kind === 'field' ? `${targetName(subject.device)}.${subject.field}` : subject.name;
    // A path that does not exist reads as <missing>, so `expect PATH == <missing>` checks removal.
    actual =
      e instanceof SysfsError && e.errno === 'ENOENT'
        ? '<missing>'
        : `<${e instanceof SysfsError ? e.message.slice(e.path.length + 2) : e instanceof Error ? e.message : String(e)}>`;
  }
  const pass = compare(actual, op, expected, subject.kind === 'sysfs' && emu.sysfs.readlink(subject.path) !== undefined);
  const r: ExpectResult = { file, line: s.loc.line, column: s.loc.column, subject: subjectText, op, expected, actual, pass };
  expects.push(r);
  if (!pass)
    emu.engine.emit('error', 'scenario', `expect failed at line ${s.loc.line}: ${subjectText} ${op} ${expected} (actual: ${actual})`, {
      category: 'expect',
      line: s.loc.line,
    });
}

/** A field of a device's channel (the guest's view when the device exists, else the back-end's). */
export function fieldValue(emu: Emulator, target: DeviceRef | 'controlvm', field: string): FieldValue {
  if (target === 'controlvm') return resolveField(emu.memory, emu.chipset.controlvm, field);
  const d = emu.device(target.bus, target.dev);
  if (!d) {
    const bd = emu.backendDevices.get(`${target.bus}:${target.dev}`);
    if (!bd) throw new FieldError(`device ${target.bus}:${target.dev} does not exist`);
    const ch = VisorChannel.create(emu.memory, bd.physaddr, bd.typeGuid, bd.id);
    if (typeof ch === 'string') throw new FieldError(ch);
    return resolveField(emu.memory, ch, field);
  }
  return resolveField(emu.memory, d.visorchannel, field, d);
}

/** Every counter `expect counter NAME` can check: the kernel's, the Command partition's, the back-ends'. */
export function allCounters(emu: Emulator): Record<string, number | string> {
  const out: Record<string, number | string> = { ...emu.kernel.allCounters() };
  const cp = emu.cp;
  out['controlvm.sent'] = cp.stats.sent;
  out['controlvm.acks'] = cp.stats.acks;
  out['controlvm.responses'] = cp.stats.responses;
  out['controlvm.failed'] = cp.stats.failed;
  if (cp.lastResponse) {
    out['controlvm.last.id'] = controlvmIdName(cp.lastResponse.id);
    out['controlvm.last.status'] = cp.lastResponse.completionStatus;
    out['controlvm.last.failed'] = cp.lastResponse.failed ? 1 : 0;
    out['controlvm.last.statusname'] = cp.lastResponse.failed ? statusName(cp.lastResponse.completionStatus) : 'SUCCESS';
  }
  out['uevents'] = emu.engine.uevents.length;
  for (const b of emu.backends) Object.assign(out, b.counters?.() ?? {});
  return out;
}

function compare(actual: string, op: ExpectOp, expected: string, isLink: boolean): boolean {
  if (isLink && (op === '==' || op === '!=')) {
    const eq = actual === expected || path.posix.basename(actual) === expected;
    return op === '==' ? eq : !eq;
  }
  const num = (s: string) => (/^-?(0x[0-9a-f]+|\d+)$/i.test(s.trim()) ? Number(s.trim()) : NaN);
  const a = num(actual);
  const b = num(expected);
  const both = !Number.isNaN(a) && !Number.isNaN(b);
  switch (op) {
    case '==':
      return both ? a === b : actual === expected;
    case '!=':
      return both ? a !== b : actual !== expected;
    case 'contains':
      return actual.includes(expected);
    case '<':
      return both && a < b;
    case '<=':
      return both && a <= b;
    case '>':
      return both && a > b;
    case '>=':
      return both && a >= b;
  }
}
