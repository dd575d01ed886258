/**
 * Runs a parsed scenario on an Emulator, one step (line) at a time. A controlvm command
 * becomes a message the Command partition queues; the runner then lets virtual time run
 * until the guest's chipset has taken and ACKed it (its handling is synchronous after
 * the ACK), and collects the guest's answer. Each command's own work is its handler's
 * (commands.ts).
 */
import * as path from 'node:path';
import { Emulator } from '../emulator';
import { THREAD } from '../engine/events';
import { ControlvmMessage, controlvmIdName } from '../protocol/controlvm';
import type { FieldValue } from '../inspect/fields';
import { oopsSummary } from '../kernel/oops';
import type { Command, DeviceRef, Scenario, ScenarioStep } from './ast';
import { COMMAND_HANDLERS, type CommandHandler } from './commands';
import { allCounters, fieldValue } from './expect';
import { type ExpectResult, StepError, type StepRun } from './steprun';

export type { ExpectResult } from './steprun';

/** How long the runner lets the guest take to pick up a controlvm message (10 s idle poll + margin). */
export const CONTROLVM_WAIT_JIFFIES_SECONDS = 12;

export interface RunError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export class ScenarioRun {
  index = 0;
  readonly expects: ExpectResult[] = [];
  readonly errors: RunError[] = [];
  readonly baseDir: string;
  /** What the command handlers see of this run. */
  private readonly stepRun: StepRun;

  constructor(
    readonly emu: Emulator,
    readonly scenario: Scenario,
  ) {
    this.baseDir = path.dirname(path.resolve(scenario.file));
    this.stepRun = {
      emu,
      file: scenario.file,
      baseDir: this.baseDir,
      queueOnly: () => this.queueOnly,
      expects: this.expects,
      deliver: (msg) => this.deliver(msg),
    };
    // A kernel oops is an error of the line that led to it (the run goes on, as for any error).
    emu.setOopsHandler((o) => {
      const s = this.scenario.steps[Math.max(0, this.index - 1)];
      if (s) this.errors.push({ file: this.scenario.file, line: s.loc.line, column: s.loc.column, message: oopsSummary(o) });
    });
  }

  get done(): boolean {
    return this.index >= this.scenario.steps.length;
  }

  get current(): ScenarioStep | undefined {
    return this.scenario.steps[this.index];
  }

  /** Execute the next line and everything it causes. */
  step(): ScenarioStep | undefined {
    const s = this.scenario.steps[this.index];
    if (!s) return undefined;
    this.index++;
    const e = this.emu.engine;
    e.within({ kind: 'scenario', name: `line ${s.loc.line}: ${s.text}`, thread: THREAD.scenario, line: s.loc.line }, () => {
      e.emit('step', 'scenario', `line ${s.loc.line}: ${s.text}`, { line: s.loc.line });
      try {
        this.exec(s, s.command);
      } catch (err) {
        if (err instanceof StepError) this.fail(s, err.message);
        else throw err;
      }
      this.emu.cp.collect();
    });
    return s;
  }

  runToEnd(): void {
    while (!this.done) this.step();
  }

  /** Set while `execAtStop` runs: controlvm messages are queued, not waited for. */
  private queueOnly = false;

  /**
   * Execute one command while the model is stopped in the debugger (its console, the
   * views' device actions). Nothing runs virtual time: a controlvm message is put on the
   * EVENT queue and the guest's next poll handles it once the run continues; commands
   * that need time to pass are refused. Returns an error text, or undefined.
   */
  execAtStop(s: ScenarioStep): string | undefined {
    const kind = s.command.kind;
    if (kind === 'wait') return 'wait needs virtual time to pass: continue or step instead';
    if (kind === 'partitionRecover') return 'partition recover needs the guest to answer between its steps: put it in the scenario';
    this.queueOnly = true;
    try {
      this.exec(s, s.command);
      return undefined;
    } catch (err) {
      if (err instanceof StepError) return err.message;
      throw err;
    } finally {
      this.queueOnly = false;
    }
  }

  private fail(s: ScenarioStep, message: string): void {
    this.errors.push({ file: this.scenario.file, line: s.loc.line, column: s.loc.column, message });
    this.emu.engine.klog('err', 'scenario', `${path.basename(this.scenario.file)}:${s.loc.line}: ${message}`);
  }

  // ---- controlvm delivery -------------------------------------------------------------------

  /** Queue a message and run until the guest ACKs it. Returns the guest's responses so far. */
  private deliver(msg: ControlvmMessage): ControlvmMessage[] {
    const rec = this.emu.cp.send(msg);
    if (typeof rec === 'string') throw new StepError(rec);
    if (this.queueOnly) return rec.responses;
    const hz = this.emu.engine.clock.hz;
    const ok = this.emu.runUntil(() => this.emu.cp.isAcked(rec.handle), CONTROLVM_WAIT_JIFFIES_SECONDS * hz);
    if (!ok) {
      throw new StepError(
        `the guest did not acknowledge ${controlvmIdName(msg.id)} within ${CONTROLVM_WAIT_JIFFIES_SECONDS} s (ACK queue full, or the chipset is not polling)`,
      );
    }
    this.emu.cp.collect();
    return rec.responses;
  }

  /** Carry out one line's command through its handler. */
  private exec(s: ScenarioStep, c: Command): void {
    const handler = COMMAND_HANDLERS[c.kind] as CommandHandler<Command>;
    handler(this.stepRun, c, s);
  }

  fieldValue(target: DeviceRef | 'controlvm', field: string): FieldValue {
    return fieldValue(this.emu, target, field);
  }

  allCounters(): Record<string, number | string> {
    return allCounters(this.emu);
  }
}
