/**
 * Runs a parsed scenario on an Emulator, one step (line) at a time. A controlvm command
 * becomes a message the Command partition queues; the runner then lets virtual time run
 * until the guest's chipset has taken and ACKed it (its handling is synchronous after
 * the ACK), and collects the guest's answer.
 */
import * as path from 'node:path';
import { Emulator, instanceGuid } from '../emulator';
import { THREAD } from '../engine/events';
import { CONTROLVM_ID, ControlvmMessage, MSG, SEGMENT_STATE, controlvmIdName } from '../protocol/controlvm';
import { statusName } from '../protocol/controlvm';
import { VisorChannel } from '../visorchannel/visorchannel';
import { CONTROLVM_ADDR, PAYLOAD_OFFSET } from '../backend/commandpartition';
import type { BackendDevice } from '../backend/servicepartition';
import { FieldError, FieldValue, resolveField } from '../inspect/fields';
import { SysfsError } from '../sysfs/sysfs';
import { oopsSummary } from '../kernel/oops';
import { Command, DeviceRef, ExpectOp, Scenario, ScenarioStep } from './ast';
import { MAX_WAIT_SECONDS } from '../limits';

/** How long the runner lets the guest take to pick up a controlvm message (10 s idle poll + margin). */
export const CONTROLVM_WAIT_JIFFIES_SECONDS = 12;

export interface ExpectResult {
  file: string;
  line: number;
  column: number;
  subject: string;
  op: ExpectOp;
  expected: string;
  actual: string;
  pass: boolean;
}

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

  constructor(
    readonly emu: Emulator,
    readonly scenario: Scenario,
  ) {
    this.baseDir = path.dirname(path.resolve(scenario.file));
    // A kernel oops is an error of the line that led to it (the run goes on, as for any error).
    emu.onOops((o) => {
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
      throw new StepError(`the guest did not acknowledge ${controlvmIdName(msg.id)} within ${CONTROLVM_WAIT_JIFFIES_SECONDS} s (ACK queue full, or the chipset is not polling)`);
    }
    this.emu.cp.collect();
    return rec.responses;
  }

  private exec(s: ScenarioStep, c: Command): void {
    const emu = this.emu;
    const cp = emu.cp;
    switch (c.kind) {
      case 'chipsetInit':
        this.deliver(cp.chipsetInit(c.features));
        return;
      case 'chipsetReady':
        this.deliver(cp.message(CONTROLVM_ID.CHIPSET_READY));
        return;
      case 'chipsetSelftest':
        this.deliver(cp.message(CONTROLVM_ID.CHIPSET_SELFTEST));
        return;
      case 'chipsetStop':
        this.deliver(cp.message(CONTROLVM_ID.CHIPSET_STOP));
        return;
      case 'driverLoad': {
        const err = emu.withBaseDir(this.baseDir, () => emu.loadDriver(c.name, c.isPath));
        if (err) throw new StepError(err);
        return;
      }
      case 'driverUnload': {
        const err = emu.unloadDriver(c.name);
        if (err) throw new StepError(err);
        return;
      }
      case 'autoload':
        emu.autoload = c.on;
        return;
      case 'busCreate': {
        const { msg, addr } = this.allocating(() => cp.busCreate({ bus: c.bus, bytes: c.bytes, addr: c.addr, devCount: c.devCount, instGuid: instanceGuid(c.bus, 0xffffffff) }));
        // A refused bus (duplicate, bad channel) never uses the channel laid out for it: give it
        // back; so does a message the guest could not be given (its channel would be unmapped by then).
        const responses = this.releasingOnThrow(addr, () => this.deliver(msg));
        if (responses.some((r) => r.failed) && emu.busDevice(c.bus)?.visorchannel.physaddr !== addr) cp.release(addr);
        if (c.name !== undefined || c.handle !== undefined || c.partitionGuid !== undefined) this.deliver(cp.busConfigure(c.bus, c.handle ?? 0, c.name, c.partitionGuid));
        return;
      }
      case 'busConfigure':
        this.deliver(cp.busConfigure(c.bus, c.handle ?? 0, c.name, c.partitionGuid));
        return;
      case 'busDestroy': {
        const addr = emu.busDevice(c.bus)?.visorchannel.physaddr;
        const responses = this.deliver(cp.busMessage(CONTROLVM_ID.BUS_DESTROY, c.bus));
        // The guest has let go of the bus channel: the back-end releases it (child devices keep their own).
        if (addr !== undefined && responses.some((r) => !r.failed) && !emu.busDevice(c.bus)) cp.release(addr);
        return;
      }
      case 'deviceCreate': {
        const key = `${c.device.bus}:${c.device.dev}`;
        const known = emu.backendDevices.get(key);
        if (known && emu.memory.isMapped(known.physaddr, 1) && emu.device(c.device.bus, c.device.dev)) {
          // Still send it: the guest answers a duplicate with EEXIST.
          this.deliver(cp.deviceMessage(CONTROLVM_ID.DEVICE_CREATE, c.device.bus, c.device.dev).setU64(MSG.channel_addr, known.physaddr).setGuid(MSG.type_guid, known.typeGuid));
          return;
        }
        if (known) this.forgetDevice(known); // the guest never took (or has dropped) that channel
        const { msg, addr, bytes } = this.allocating(() =>
          cp.deviceCreate({
            bus: c.device.bus,
            dev: c.device.dev,
            typeGuid: c.typeGuid,
            instGuid: c.instanceGuid ?? instanceGuid(c.device.bus, c.device.dev),
            bytes: c.bytes,
            addr: c.addr,
            zoneGuid: c.zoneGuid,
            partition: c.partition,
            version: c.version,
            headerTypeGuid: c.headerTypeGuid,
          }),
        );
        const bd = { bus: c.device.bus, dev: c.device.dev, id: key, typeGuid: c.typeGuid, physaddr: addr, nbytes: Math.ceil(bytes / 4096) * 4096 };
        emu.backendDevices.set(key, bd);
        emu.backendFor(c.typeGuid)?.deviceCreated?.(bd);
        let responses: ControlvmMessage[];
        try {
          responses = this.deliver(msg);
        } catch (e) {
          this.forgetDevice(bd);
          throw e;
        }
        if (responses.some((r) => r.failed)) this.forgetDevice(bd);
        return;
      }
      case 'deviceDestroy': {
        const key = `${c.device.bus}:${c.device.dev}`;
        const responses = this.deliver(cp.deviceMessage(CONTROLVM_ID.DEVICE_DESTROY, c.device.bus, c.device.dev));
        const bd = emu.backendDevices.get(key);
        if (bd && responses.some((r) => !r.failed) && !emu.device(c.device.bus, c.device.dev)) {
          emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
          emu.backendDevices.delete(key);
          cp.release(bd.physaddr);
        }
        return;
      }
      case 'devicePause':
        this.deliver(cp.changeState(c.device.bus, c.device.dev, SEGMENT_STATE.standby));
        return;
      case 'deviceResume':
        this.deliver(cp.changeState(c.device.bus, c.device.dev, SEGMENT_STATE.running));
        return;
      case 'deviceState':
        this.deliver(cp.changeState(c.device.bus, c.device.dev, c.state));
        return;
      case 'deviceConfigure':
        this.deliver(cp.deviceMessage(CONTROLVM_ID.DEVICE_CONFIGURE, c.device.bus, c.device.dev));
        return;
      case 'partitionRecover':
        return this.recover(c.bus);
      case 'wait': {
        const clock = emu.engine.clock;
        const j =
          c.unit === 'jiffies' ? c.amount : c.unit === 'ms' ? clock.msToJiffies(c.amount) : c.unit === 's' ? clock.msToJiffies(c.amount * 1000) : clock.msToJiffies(c.amount / 1000);
        if (!(j <= MAX_WAIT_SECONDS * clock.hz)) throw new StepError(`wait of ${j} jiffies is too long at HZ=${clock.hz}: one wait is at most ${MAX_WAIT_SECONDS} s of virtual time`);
        emu.advance(j);
        return;
      }
      case 'expect':
        return this.expect(s, c.subject, c.op, c.value);
      case 'sysfsWrite':
        try {
          emu.sysfs.write(c.path, c.value);
        } catch (e) {
          throw new StepError(`echo ${c.value} > ${c.path}: ${e instanceof SysfsError ? e.message.slice(e.path.length + 2) : e instanceof Error ? e.message : String(e)}`);
        }
        if (!this.queueOnly) emu.settle();
        return;
      case 'parahotplug':
        this.deliver(cp.changeState(c.device.bus, c.device.dev, c.enable ? SEGMENT_STATE.running : SEGMENT_STATE.running & ~2, true));
        return;
      case 'controlvmSend': {
        const m = this.rawMessage(c.id, c.fields);
        const busAddr = c.id === CONTROLVM_ID.BUS_DESTROY ? emu.busDevice(m.busNo)?.visorchannel.physaddr : undefined;
        this.deliver(m);
        // The CP knows what it sent: a raw destroy the guest carried out frees that channel too.
        if (busAddr !== undefined && !emu.busDevice(m.busNo)) cp.release(busAddr);
        if (c.id === CONTROLVM_ID.DEVICE_DESTROY) {
          const bd = emu.backendDevices.get(`${m.busNo}:${m.devNo}`);
          if (bd && !emu.device(m.busNo, m.devNo)) {
            emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
            emu.backendDevices.delete(bd.id);
            cp.release(bd.physaddr);
          }
        }
        return;
      }
      case 'signalInsert': {
        const ch = this.serverChannel(c.device);
        const rc = ch.signalInsert(c.queue, c.data);
        emu.engine.emit('backend', ch.label, `back-end signalinsert(queue ${c.queue}, ${c.data.length} bytes) -> ${rc}`, { queue: c.queue, result: rc });
        if (rc < 0) throw new StepError(`signal insert on ${this.targetName(c.device)} queue ${c.queue} failed: ${rc}${rc === -5 ? ' (queue full or out of range)' : ''}`);
        return;
      }
      case 'signalRemove': {
        const ch = this.serverChannel(c.device);
        const out = new Uint8Array(4096);
        const rc = ch.signalRemove(c.queue, out);
        emu.engine.emit('backend', ch.label, `back-end signalremove(queue ${c.queue}) -> ${rc}`, { queue: c.queue, result: rc });
        if (rc < 0) throw new StepError(`signal remove on ${this.targetName(c.device)} queue ${c.queue} failed: ${rc}${rc === -11 ? ' (queue empty)' : ''}`);
        return;
      }
      case 'memoryWrite': {
        let addr: number;
        if ('address' in c.target) addr = c.target.address;
        else {
          const base = c.target.device === 'controlvm' ? CONTROLVM_ADDR : emu.backendDevices.get(`${c.target.device.bus}:${c.target.device.dev}`)?.physaddr;
          if (base === undefined) throw new StepError(`no channel for ${this.targetName(c.target.device)}`);
          addr = base + c.target.offset;
        }
        if (!emu.memory.isMapped(addr, c.data.length)) throw new StepError(`memory write at 0x${addr.toString(16)} (+${c.data.length}) is outside mapped guest memory`);
        emu.memory.write(addr, c.data);
        emu.engine.emit('backend', 'memory', `memory write 0x${addr.toString(16)} (${c.data.length} bytes)`, { address: addr, length: c.data.length });
        return;
      }
      case 'backend': {
        const bd = emu.backendDevices.get(`${c.device.bus}:${c.device.dev}`);
        if (!bd) throw new StepError(`device ${c.device.bus}:${c.device.dev} has no channel (create it first)`);
        const be = emu.backends.find((b) => b.families.includes(c.family) && (c.family === 'fault' ? b.typeGuids.includes(bd.typeGuid) : true));
        if (!be) throw new StepError(`no back-end handles '${c.family}' commands for ${bd.typeGuid}`);
        if (!be.typeGuids.includes(bd.typeGuid)) throw new StepError(`'${c.family}' commands need a device of type ${be.typeGuids.join(' or ')}, but ${bd.id} is ${bd.typeGuid}`);
        try {
          emu.engine.within({ kind: 'backend', name: `${c.family} ${c.verb} ${bd.id}`, thread: THREAD.backend(bd.bus), device: bd.id }, () =>
            be.command({ family: c.family, device: bd, verb: c.verb, positional: c.positional, options: c.options, baseDir: this.baseDir, data: c.data }),
          );
        } catch (e) {
          throw new StepError(e instanceof Error ? e.message : String(e));
        }
        if (!this.queueOnly) emu.settle();
        return;
      }
      case 'log':
        emu.engine.klog('info', 'scenario', c.message);
        return;
    }
  }

  /** The back-end lets go of a device channel the guest does not use. */
  private forgetDevice(bd: BackendDevice): void {
    this.emu.backendFor(bd.typeGuid)?.deviceDestroyed?.(bd);
    if (this.emu.backendDevices.get(bd.id) === bd) this.emu.backendDevices.delete(bd.id);
    if (this.emu.memory.isMapped(bd.physaddr, 1)) this.emu.cp.release(bd.physaddr);
  }

  /** Run `fn`; if it throws, give back the channel at `addr` first. */
  private releasingOnThrow<T>(addr: number, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.emu.cp.release(addr);
      throw e;
    }
  }

  private allocating<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new StepError(e instanceof Error ? e.message : String(e));
    }
  }

  private targetName(t: DeviceRef | 'controlvm'): string {
    return t === 'controlvm' ? 'controlvm' : `${t.bus}:${t.dev}`;
  }

  /** The back-end's own view of a channel (no guest guard). */
  private serverChannel(t: DeviceRef | 'controlvm'): VisorChannel {
    if (t === 'controlvm') return this.emu.cp.controlvm;
    const bd = this.emu.backendDevices.get(`${t.bus}:${t.dev}`);
    if (!bd) throw new StepError(`device ${t.bus}:${t.dev} has no channel`);
    const ch = VisorChannel.create(this.emu.memory, bd.physaddr, bd.typeGuid, `vbus${t.bus}:dev${t.dev} (back-end)`);
    if (typeof ch === 'string') throw new StepError(`channel of ${t.bus}:${t.dev}: ${ch}`);
    return ch;
  }

  private rawMessage(id: number, fields: Record<string, number | string>): ControlvmMessage {
    const m = this.emu.cp.message(id);
    for (const [k, v] of Object.entries(fields)) {
      const n = typeof v === 'number' ? v : Number(v);
      switch (k) {
        case 'bus':
          m.setU32(MSG.bus_no, n);
          break;
        case 'dev':
          m.setU32(MSG.dev_no, n);
          break;
        case 'flags':
          m.setU32(MSG.flags, n);
          break;
        case 'status':
          m.setU32(MSG.completion_status, n);
          break;
        case 'handle':
          m.setU64(MSG.message_handle, n);
          break;
        case 'state':
          m.setU16(MSG.cs_state, n);
          break;
        case 'size':
          m.setU32(MSG.message_size, n);
          break;
        case 'payload': {
          const hex = String(v).replace(/^hex:/, '');
          const data = Buffer.from(hex, 'hex');
          this.emu.memory.write(this.emu.cp.controlvm.physaddr + PAYLOAD_OFFSET, data);
          m.setU64(MSG.payload_vm_offset, PAYLOAD_OFFSET).setU32(MSG.payload_bytes, data.length);
          break;
        }
        case 'payload_bytes':
          m.setU64(MSG.payload_vm_offset, PAYLOAD_OFFSET).setU32(MSG.payload_bytes, n);
          break;
        default:
          throw new StepError(`unknown controlvm field '${k}'`);
      }
    }
    return m;
  }

  /** partition recover: pause every device of the bus, restart the back-end, resume them. */
  private recover(bus: number): void {
    const devs = [...this.emu.backendDevices.values()].filter((d) => d.bus === bus && this.emu.device(d.bus, d.dev)).sort((a, b) => a.dev - b.dev);
    if (!devs.length && !this.emu.busDevice(bus)) throw new StepError(`bus ${bus} does not exist`);
    this.emu.engine.klog('info', 'scenario', `service partition of bus ${bus} recovering: pausing ${devs.length} device(s)`);
    for (const d of devs) this.deliver(this.emu.cp.changeState(d.bus, d.dev, SEGMENT_STATE.standby));
    for (const b of this.emu.backends) b.recover?.(bus);
    for (const d of devs) this.deliver(this.emu.cp.changeState(d.bus, d.dev, SEGMENT_STATE.running));
  }

  // ---- expect ---------------------------------------------------------------------------

  private expect(s: ScenarioStep, subject: Command & { kind: 'expect' } extends { subject: infer S } ? S : never, op: ExpectOp, expected: string): void {
    let actual: string;
    let subjectText: string;
    let numeric: FieldValue | undefined;
    try {
      if (subject.kind === 'sysfs') {
        subjectText = subject.path;
        const link = this.emu.sysfs.readlink(subject.path);
        if (link !== undefined) actual = link;
        else actual = this.emu.sysfs.read(subject.path).replace(/\n$/, '');
      } else if (subject.kind === 'field') {
        subjectText = `${this.targetName(subject.device)}.${subject.field}`;
        numeric = this.fieldValue(subject.device, subject.field);
        actual = String(numeric);
      } else {
        subjectText = `counter ${subject.name}`;
        const v = this.counterValue(subject.name);
        if (v === undefined) throw new StepError(`no counter named '${subject.name}' (known: ${Object.keys(this.allCounters()).join(', ') || 'none'})`);
        numeric = v;
        actual = String(v);
      }
    } catch (e) {
      if (e instanceof StepError) throw e;
      subjectText = subject.kind === 'sysfs' ? subject.path : subject.kind === 'field' ? `${this.targetName(subject.device)}.${subject.field}` : subject.name;
      // A path that does not exist reads as <missing>, so `expect PATH == <missing>` checks removal.
      actual = e instanceof SysfsError && e.errno === 'ENOENT' ? '<missing>' : `<${e instanceof SysfsError ? e.message.slice(e.path.length + 2) : e instanceof Error ? e.message : String(e)}>`;
    }
    const pass = compare(actual, op, expected, subject.kind === 'sysfs' && this.emu.sysfs.readlink(subject.path) !== undefined);
    const r: ExpectResult = { file: this.scenario.file, line: s.loc.line, column: s.loc.column, subject: subjectText, op, expected, actual, pass };
    this.expects.push(r);
    if (!pass) this.emu.engine.emit('error', 'scenario', `expect failed at line ${s.loc.line}: ${subjectText} ${op} ${expected} (actual: ${actual})`, { category: 'expect', line: s.loc.line });
  }

  fieldValue(target: DeviceRef | 'controlvm', field: string): FieldValue {
    if (target === 'controlvm') return resolveField(this.emu.memory, this.emu.chipset.controlvm, field);
    const d = this.emu.device(target.bus, target.dev);
    if (!d) {
      const bd = this.emu.backendDevices.get(`${target.bus}:${target.dev}`);
      if (!bd) throw new FieldError(`device ${target.bus}:${target.dev} does not exist`);
      const ch = VisorChannel.create(this.emu.memory, bd.physaddr, bd.typeGuid, bd.id);
      if (typeof ch === 'string') throw new FieldError(ch);
      return resolveField(this.emu.memory, ch, field);
    }
    return resolveField(this.emu.memory, d.visorchannel, field, d);
  }

  allCounters(): Record<string, number | string> {
    const out: Record<string, number | string> = { ...this.emu.kernel.allCounters() };
    const cp = this.emu.cp;
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
    out['uevents'] = this.emu.engine.uevents.length;
    for (const b of this.emu.backends) Object.assign(out, b.counters?.() ?? {});
    return out;
  }

  private counterValue(name: string): number | string | undefined {
    return this.allCounters()[name];
  }
}

class StepError extends Error {}

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
