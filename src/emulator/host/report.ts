/** Text and JSON reports of a finished run: the event trace, the bus/device tree, expect results. */
import * as path from 'node:path';
import { EmuEvent, threadName } from '../engine/events';
import { ScenarioRun } from '../scenario/runner';
import { deviceState, queueCount, queueSummary } from '../inspect/fields';
import { printable } from '../protocol/printable';

/** `FILE:LINE:COL: error: MESSAGE` of a run error, printable. */
export function formatRunError(e: { file: string; line: number; column: number; message: string }): string {
  return `${printable(e.file)}:${e.line}:${e.column}: error: ${printable(e.message)}`;
}

export function formatEvent(ev: EmuEvent, hz: number): string {
  const secs = (ev.jiffies / hz).toFixed(3).padStart(9);
  return `${String(ev.n).padStart(6)} ${secs}s  ${ev.kind.padEnd(9)} ${printable(ev.subject).padEnd(14)} ${printable(ev.text)}`;
}

export function formatTree(run: ScenarioRun): string {
  const emu = run.emu;
  const lines: string[] = [];
  const c = emu.chipset;
  lines.push(
    `visorchipset: ${c.initialized ? `initialised, features 0x${c.features.toString(16)}` : 'not initialised'}; ${c.stats.messages} controlvm messages, ${c.stats.errors} error responses`,
  );
  const buses = emu.bus.buses();
  const orphanBuses = new Set([...emu.bus.devices.values()].filter((d) => !d.isBus).map((d) => d.busNo));
  for (const b of buses) orphanBuses.delete(b.busNo);
  for (const b of buses) {
    const ch = b.visorchannel;
    lines.push(
      `${b.name}${b.partitionName ? ` (${printable(b.partitionName)})` : ''}  channel 0x${ch.physaddr.toString(16)} +0x${ch.nbytes.toString(16)}  partition 0x${ch.partitionHandle.toString(16)}`,
    );
    lines.push(...deviceLines(run, b.busNo));
  }
  for (const bn of [...orphanBuses].sort((a, b) => a - b)) {
    lines.push(`visorbus${bn} (destroyed; devices left in place)`);
    lines.push(...deviceLines(run, bn));
  }
  if (!buses.length && !orphanBuses.size) lines.push('(no buses)');
  const drivers = [...emu.bus.drivers.keys()];
  lines.push(`drivers: ${drivers.length ? drivers.join(', ') : '(none loaded)'}`);
  return lines.join('\n');
}

function deviceLines(run: ScenarioRun, bus: number): string[] {
  const emu = run.emu;
  const out: string[] = [];
  for (const d of emu.bus.devicesOn(bus)) {
    const ch = d.visorchannel;
    const queues: string[] = [];
    const n = queueCount(emu.memory, ch);
    for (let q = 0; q < n; q++) {
      const s = queueSummary(emu.memory, ch, q);
      if (s) queues.push(`q${q} ${s.pending}/${s.maxSlots - 1}`);
    }
    out.push(
      `  ${d.name.padEnd(12)} ${(d.typeName || '-').padEnd(10)} ${(d.driver?.name ?? '-').padEnd(11)} ${deviceState(d).padEnd(8)} 0x${ch.physaddr.toString(16)} +0x${ch.nbytes.toString(16)}${queues.length ? '  ' + queues.join(' ') : ''}`,
    );
  }
  return out;
}

export function formatExpects(run: ScenarioRun): string[] {
  return run.expects.map((r) => {
    const loc = `${printable(path.relative(process.cwd(), r.file) || r.file)}:${r.line}:${r.column}`;
    const [subject, expected, actual] = [r.subject, r.expected, r.actual].map(printable);
    return r.pass
      ? `${loc}: ok: ${subject} ${r.op} ${expected}`
      : `${loc}: FAILED: ${subject} ${r.op} ${expected}\n    expected: ${expected}\n    actual:   ${actual}`;
  });
}

export function jsonReport(run: ScenarioRun): unknown {
  const emu = run.emu;
  const hz = emu.engine.clock.hz;
  return {
    scenario: run.scenario.file,
    hz,
    jiffies: emu.engine.jiffies,
    eventCount: emu.engine.log.count,
    checksum: emu.engine.log.checksum.toString(16).padStart(8, '0'),
    events: emu.engine.log.events().map((e) => ({
      n: e.n,
      jiffies: e.jiffies,
      kind: e.kind,
      thread: threadName(e.thread),
      subject: e.subject,
      text: e.text,
      ...(e.data ? { data: e.data } : {}),
    })),
    sysfs: emu.sysfs.snapshot('/sys'),
    uevents: emu.engine.uevents,
    kernelLog: emu.engine.klogLines,
    expects: run.expects,
    errors: run.errors,
    counters: run.allCounters(),
    tree: emu.bus.buses().map((b) => ({
      bus: b.busNo,
      name: b.name,
      devices: emu.bus.devicesOn(b.busNo).map((d) => ({
        name: d.name,
        state: deviceState(d),
        driver: d.driver?.name ?? null,
        typename: d.typeName,
        typeGuid: d.channelTypeGuid,
        physaddr: d.visorchannel.physaddr,
        nbytes: d.visorchannel.nbytes,
      })),
    })),
  };
}
