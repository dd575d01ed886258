/**
 * The model's threads as the client sees them: the scenario, controlvm, one poll thread per
 * bus, one per bus with a back-end, and the threads of the stop's frames. Finding the bus and
 * back-end threads walks every device, at every stop and every `threads` request; with 10,000
 * devices that was a good part of a step. They are kept until the topology changes (the
 * emulator says so) or the run is another one.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ScenarioRun } from '../../scenario/runner';
import { THREAD, threadName } from '../../engine/events';

export class ThreadList {
  private generation = 0;
  private kept: { run: ScenarioRun; generation: number; backends: number; ids: Set<number>; threads: DebugProtocol.Thread[] } | undefined;

  /** A bus or device came or went (emulator.onChanged). */
  topologyChanged(): void {
    this.generation++;
  }

  /**
   * The threads, by id. The same array comes back while nothing changed (callers do not
   * change it), so a caller can tell "the same threads" by identity.
   */
  threads(run: ScenarioRun, extra: Iterable<number>): DebugProtocol.Thread[] {
    const { ids, threads } = this.topology(run);
    const more = [...new Set(extra)].filter((id) => !ids.has(id));
    if (!more.length) return threads;
    return [...threads, ...more.map((id) => ({ id, name: threadName(id) }))].sort((a, b) => a.id - b.id);
  }

  private topology(run: ScenarioRun): { ids: Set<number>; threads: DebugProtocol.Thread[] } {
    const emu = run.emu;
    const k = this.kept;
    if (k && k.run === run && k.generation === this.generation && k.backends === emu.backendDevices.size) return k;
    const ids = new Set<number>([THREAD.scenario, THREAD.controlvm]);
    for (const d of emu.bus.devices.values()) ids.add(THREAD.busPoll(d.busNo));
    for (const bd of emu.backendDevices.values()) if (emu.backendFor(bd.typeGuid)) ids.add(THREAD.backend(bd.bus));
    const threads = [...ids].sort((a, b) => a - b).map((id) => ({ id, name: threadName(id) }));
    this.kept = { run, generation: this.generation, backends: emu.backendDevices.size, ids, threads };
    return this.kept;
  }
}
