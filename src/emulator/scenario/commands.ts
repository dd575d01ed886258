/**
 * The scenario commands' handlers: one function per command, and the table the runner
 * looks a line's command up in. The table has an entry for every kind of command the
 * parser produces (the compiler checks it); the controlvm ones are in
 * controlvmcommands.ts, the `expect` check in expect.ts.
 */
import { THREAD } from '../engine/events';
import { VisorChannel } from '../visorchannel/visorchannel';
import { CONTROLVM_ADDR } from '../backend/commandpartition';
import { SysfsError } from '../sysfs/sysfs';
import { MAX_WAIT_SECONDS } from '../limits';
import { type Command, type DeviceRef, type ScenarioStep, waitJiffies } from './ast';
import {
  runBusConfigure,
  runBusCreate,
  runBusDestroy,
  runChipsetInit,
  runChipsetReady,
  runChipsetSelftest,
  runChipsetStop,
  runControlvmSend,
  runDeviceConfigure,
  runDeviceCreate,
  runDeviceDestroy,
  runDevicePause,
  runDeviceResume,
  runDeviceState,
  runParahotplug,
  runPartitionRecover,
} from './controlvmcommands';
import { checkExpect } from './expect';
import { StepError, type StepRun, targetName } from './steprun';

type Cmd<K extends Command['kind']> = Extract<Command, { kind: K }>;

/** Carries out one line's command; throws a StepError when it cannot. */
export type CommandHandler<C extends Command> = (r: StepRun, c: C, s: ScenarioStep) => void;

function runDriverLoad(r: StepRun, c: Cmd<'driverLoad'>): void {
  const err = r.emu.withBaseDir(r.baseDir, () => r.emu.loadDriver(c.name, c.isPath));
  if (err) throw new StepError(err);
}

function runDriverUnload(r: StepRun, c: Cmd<'driverUnload'>): void {
  const err = r.emu.unloadDriver(c.name);
  if (err) throw new StepError(err);
}

function runAutoload(r: StepRun, c: Cmd<'autoload'>): void {
  r.emu.autoload = c.on;
}

function runWait(r: StepRun, c: Cmd<'wait'>): void {
  const clock = r.emu.engine.clock;
  const j = waitJiffies(c, clock);
  if (!(j <= MAX_WAIT_SECONDS * clock.hz))
    throw new StepError(`wait of ${j} jiffies is too long at HZ=${clock.hz}: one wait is at most ${MAX_WAIT_SECONDS} s of virtual time`);
  r.emu.advance(j);
}

function runExpect(r: StepRun, c: Cmd<'expect'>, s: ScenarioStep): void {
  checkExpect(r.emu, r.file, r.expects, s, c);
}

/** `echo VALUE > /sys/PATH` */
function runEcho(r: StepRun, c: Cmd<'sysfsWrite'>): void {
  try {
    r.emu.sysfs.write(c.path, c.value);
  } catch (e) {
    throw new StepError(
      `echo ${c.value} > ${c.path}: ${e instanceof SysfsError ? e.message.slice(e.path.length + 2) : e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!r.queueOnly()) r.emu.settle();
}

function runSignalInsert(r: StepRun, c: Cmd<'signalInsert'>): void {
  const ch = serverChannel(r, c.device);
  const rc = ch.signalInsert(c.queue, c.data);
  r.emu.engine.emit('backend', ch.label, `back-end signalinsert(queue ${c.queue}, ${c.data.length} bytes) -> ${rc}`, { queue: c.queue, result: rc });
  if (rc < 0) throw new StepError(`signal insert on ${targetName(c.device)} queue ${c.queue} failed: ${rc}${rc === -5 ? ' (queue full or out of range)' : ''}`);
}

function runSignalRemove(r: StepRun, c: Cmd<'signalRemove'>): void {
  const ch = serverChannel(r, c.device);
  const out = new Uint8Array(4096);
  const rc = ch.signalRemove(c.queue, out);
  r.emu.engine.emit('backend', ch.label, `back-end signalremove(queue ${c.queue}) -> ${rc}`, { queue: c.queue, result: rc });
  if (rc < 0) throw new StepError(`signal remove on ${targetName(c.device)} queue ${c.queue} failed: ${rc}${rc === -11 ? ' (queue empty)' : ''}`);
}

function runMemoryWrite(r: StepRun, c: Cmd<'memoryWrite'>): void {
  const { emu } = r;
  let addr: number;
  if ('address' in c.target) addr = c.target.address;
  else {
    const base = c.target.device === 'controlvm' ? CONTROLVM_ADDR : emu.backendDevices.get(`${c.target.device.bus}:${c.target.device.dev}`)?.physaddr;
    if (base === undefined) throw new StepError(`no channel for ${targetName(c.target.device)}`);
    addr = base + c.target.offset;
  }
  if (!emu.memory.isMapped(addr, c.data.length))
    throw new StepError(`memory write at 0x${addr.toString(16)} (+${c.data.length}) is outside mapped guest memory`);
  emu.memory.write(addr, c.data);
  emu.engine.emit('backend', 'memory', `memory write 0x${addr.toString(16)} (${c.data.length} bytes)`, { address: addr, length: c.data.length });
}

/** `disk`, `net`, `keyboard`, `mouse`, `input` and `fault` lines: the device's back-end carries them out. */
function runBackendCommand(r: StepRun, c: Cmd<'backend'>): void {
  const { emu } = r;
  const bd = emu.backendDevices.get(`${c.device.bus}:${c.device.dev}`);
  if (!bd) throw new StepError(`device ${c.device.bus}:${c.device.dev} has no channel (create it first)`);
  const be = emu.backends.find((b) => b.families.includes(c.family) && (c.family === 'fault' ? b.typeGuids.includes(bd.typeGuid) : true));
  if (!be) throw new StepError(`no back-end handles '${c.family}' commands for ${bd.typeGuid}`);
  if (!be.typeGuids.includes(bd.typeGuid))
    throw new StepError(`'${c.family}' commands need a device of type ${be.typeGuids.join(' or ')}, but ${bd.id} is ${bd.typeGuid}`);
  try {
    emu.engine.within({ kind: 'backend', name: `${c.family} ${c.verb} ${bd.id}`, thread: THREAD.backend(bd.bus), device: bd.id }, () =>
      be.command({ family: c.family, device: bd, verb: c.verb, positional: c.positional, options: c.options, baseDir: r.baseDir, data: c.data }),
    );
  } catch (e) {
    throw new StepError(e instanceof Error ? e.message : String(e));
  }
  if (!r.queueOnly()) emu.settle();
}

function runLog(r: StepRun, c: Cmd<'log'>): void {
  r.emu.engine.klog('info', 'scenario', c.message);
}

/** The back-end's own view of a channel (no guest guard). */
function serverChannel(r: StepRun, t: DeviceRef | 'controlvm'): VisorChannel {
  if (t === 'controlvm') return r.emu.cp.controlvm;
  const bd = r.emu.backendDevices.get(`${t.bus}:${t.dev}`);
  if (!bd) throw new StepError(`device ${t.bus}:${t.dev} has no channel`);
  const ch = VisorChannel.create(r.emu.memory, bd.physaddr, bd.typeGuid, `vbus${t.bus}:dev${t.dev} (back-end)`);
  if (typeof ch === 'string') throw new StepError(`channel of ${t.bus}:${t.dev}: ${ch}`);
  return ch;
}

/** The handler of each kind of command, in the order of the command catalogue. */
export const COMMAND_HANDLERS: { readonly [K in Command['kind']]: CommandHandler<Cmd<K>> } = {
  chipsetInit: runChipsetInit,
  chipsetReady: runChipsetReady,
  chipsetSelftest: runChipsetSelftest,
  chipsetStop: runChipsetStop,
  driverLoad: runDriverLoad,
  driverUnload: runDriverUnload,
  autoload: runAutoload,
  busCreate: runBusCreate,
  busConfigure: runBusConfigure,
  busDestroy: runBusDestroy,
  deviceCreate: runDeviceCreate,
  deviceDestroy: runDeviceDestroy,
  devicePause: runDevicePause,
  deviceResume: runDeviceResume,
  deviceConfigure: runDeviceConfigure,
  deviceState: runDeviceState,
  partitionRecover: runPartitionRecover,
  wait: runWait,
  expect: runExpect,
  sysfsWrite: runEcho,
  parahotplug: runParahotplug,
  controlvmSend: runControlvmSend,
  signalInsert: runSignalInsert,
  signalRemove: runSignalRemove,
  memoryWrite: runMemoryWrite,
  backend: runBackendCommand,
  log: runLog,
};
