import * as assert from 'node:assert/strict';
import { makeRun, runAll, runSteps, testDriver, TEST_GUID, TESTDRV_FILE, Recorder } from './helpers/testdriver';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import type { VisorDevice } from '../../src/emulator/visorbus/driver';

const T = TEST_GUID;

describe('visorbus core (§5)', () => {
  it('probes when a device arrives for a loaded driver, and removes on destroy after the response', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\ndevice destroy 2:0\n`,
      { testdrv: () => testDriver(rec) },
      { autoload: false },
    );
    assert.deepEqual(rec.calls, ['probe vbus2:dev0', 'remove vbus2:dev0']);
    const kinds = r.emu.engine.log
      .events()
      .filter((e) => e.kind === 'response' || (e.kind === 'call' && /remove/.test(e.text)))
      .map((e) => e.kind);
    assert.deepEqual(kinds.slice(-2), ['response', 'call'], 'DEVICE_DESTROY is answered before remove() runs');
  });

  it('probes existing devices when the driver loads after them, and removes them on unload', () => {
    const rec: Recorder = { calls: [] };
    const r = makeRun(
      `chipset init\nbus create 2\ndevice create 2:0 type=${T}\ndevice create 2:1 type=${T}\n`,
      { testdrv: () => testDriver(rec) },
      { autoload: false },
    );
    runSteps(r);
    assert.equal(r.emu.sysfs.read('/sys/devices/visorbus2/vbus2:dev0/channel/typename'), '', 'typename is empty (0 bytes) until a driver claims the type');
    assert.equal(r.emu.sysfs.exists('/sys/devices/visorbus2/vbus2:dev0/driver'), false);
    assert.equal(r.emu.loadDriver(TESTDRV_FILE, true), undefined);
    assert.deepEqual(rec.calls, ['probe vbus2:dev0', 'probe vbus2:dev1']);
    assert.equal(r.emu.sysfs.read('/sys/devices/visorbus2/vbus2:dev0/channel/typename'), 'testtype\n');
    assert.equal(r.emu.sysfs.readlink('/sys/devices/visorbus2/vbus2:dev0/driver'), '../../../bus/visorbus/drivers/testdrv');
    assert.equal(r.emu.sysfs.readlink('/sys/bus/visorbus/drivers/testdrv/vbus2:dev1'), '../../../../devices/visorbus2/vbus2:dev1');
    assert.equal(r.emu.unloadDriver('testdrv'), undefined);
    // driver_detach: the most recently bound device is removed first.
    assert.deepEqual(rec.calls.slice(2), ['remove vbus2:dev1', 'remove vbus2:dev0']);
    assert.equal(r.emu.sysfs.exists('/sys/devices/visorbus2/vbus2:dev0/driver'), false);
    assert.equal(r.emu.sysfs.exists('/sys/bus/visorbus/drivers/testdrv'), false);
  });

  it('driver_register -> driver_attach probes in device_add order; driver_detach removes the most recently bound first', () => {
    // Kernel: driver_attach walks the bus klist (device_add appends), driver_detach takes
    // list_last_entry of the driver's klist each time.
    const rec: Recorder = { calls: [] };
    const r = makeRun(
      `chipset init\nbus create 2\ndevice create 2:5 type=${T}\ndevice create 2:1 type=${T}\ndevice create 2:3 type=${T}\n`,
      { testdrv: () => testDriver(rec) },
      { autoload: false },
    );
    runSteps(r);
    assert.equal(r.emu.loadDriver(TESTDRV_FILE, true), undefined);
    assert.deepEqual(rec.calls, ['probe vbus2:dev5', 'probe vbus2:dev1', 'probe vbus2:dev3']);
    assert.equal(r.emu.unloadDriver('testdrv'), undefined);
    assert.deepEqual(rec.calls.slice(3), ['remove vbus2:dev3', 'remove vbus2:dev1', 'remove vbus2:dev5']);
  });

  it('autoload: the DEVICE_CREATE response precedes udev modprobe and the probe (create_visor_device answers after device_add)', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(`chipset init\nbus create 2\ndevice create 2:0 type=${T}\n`, { testdrv: () => testDriver(rec) });
    assert.deepEqual(rec.calls, ['probe vbus2:dev0']);
    const evs = r.emu.engine.log.events();
    const resp = evs.findIndex((e) => e.kind === 'response' && /DEVICE_CREATE/.test(e.text));
    const probe = evs.findIndex((e) => e.kind === 'call' && /probe\(vbus2:dev0\)/.test(e.text));
    const modprobe = evs.findIndex((e) => e.kind === 'log' && /modprobe testdrv/.test(e.text));
    assert.ok(resp >= 0 && modprobe > resp && probe > modprobe, `response ${resp}, modprobe ${modprobe}, probe ${probe}`);
    // A driver that is already loaded still probes inside device_add, before the response.
    const loaded = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\n`, { testdrv: () => testDriver({ calls: [] }) });
    const ev2 = loaded.emu.engine.log.events();
    const probe2 = ev2.findIndex((e) => e.kind === 'call' && /probe\(vbus2:dev0\)/.test(e.text));
    const resp2 = ev2.findIndex((e) => e.kind === 'response' && /DEVICE_CREATE/.test(e.text));
    assert.ok(probe2 >= 0 && probe2 < resp2);
  });

  it('autoload loads the driver named by the module alias of the uevent MODALIAS', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(`chipset init\nbus create 2\ndevice create 2:0 type=${T}\n`, { testdrv: () => testDriver(rec) });
    assert.deepEqual(rec.calls, ['probe vbus2:dev0']);
    const add = r.emu.engine.uevents.find((u) => u.devpath === '/devices/visorbus2/vbus2:dev0');
    assert.deepEqual(add?.env, {
      ACTION: 'add',
      DEVPATH: '/devices/visorbus2/vbus2:dev0',
      SUBSYSTEM: 'visorbus',
      MODALIAS: `visorbus:${T}`,
      SEQNUM: add?.env.SEQNUM,
    });
    assert.ok(r.emu.engine.klogLines.some((l) => l.includes(`modprobe testdrv (alias visorbus:${T})`)));
    const off = runAll(`chipset init\nbus create 2\nautoload off\ndevice create 2:0 type=${T}\n`, { testdrv: () => testDriver({ calls: [] }) });
    assert.equal(off.emu.device(2, 0)?.driver, undefined);
  });

  it('uevents: add, then bind with DRIVER (driver_bound), unbind without it (__device_release_driver), remove; SEQNUM counts up; the uevent file has DRIVER= while bound (dev_uevent)', () => {
    const r = makeRun(`chipset init\nbus create 2\ndevice create 2:0 type=${T}\n`, { testdrv: () => testDriver({ calls: [] }) }, { autoload: false });
    runSteps(r);
    const file = '/sys/devices/visorbus2/vbus2:dev0/uevent';
    assert.equal(r.emu.sysfs.read(file), `MODALIAS=visorbus:${T}\n`);
    assert.equal(r.emu.loadDriver(TESTDRV_FILE, true), undefined);
    assert.equal(r.emu.sysfs.read(file), `DRIVER=testdrv\nMODALIAS=visorbus:${T}\n`);
    assert.equal(r.emu.unloadDriver('testdrv'), undefined);
    assert.equal(r.emu.sysfs.read(file), `MODALIAS=visorbus:${T}\n`);
    const ue = r.emu.engine.uevents.filter((u) => u.devpath === '/devices/visorbus2/vbus2:dev0');
    assert.deepEqual(
      ue.map((u) =>
        Object.entries(u.env)
          .filter(([k]) => k !== 'SEQNUM')
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ),
      [
        `ACTION=add DEVPATH=/devices/visorbus2/vbus2:dev0 SUBSYSTEM=visorbus MODALIAS=visorbus:${T}`,
        `ACTION=bind DEVPATH=/devices/visorbus2/vbus2:dev0 SUBSYSTEM=visorbus DRIVER=testdrv MODALIAS=visorbus:${T}`,
        `ACTION=unbind DEVPATH=/devices/visorbus2/vbus2:dev0 SUBSYSTEM=visorbus MODALIAS=visorbus:${T}`,
      ],
    );
    const seq = r.emu.engine.uevents.map((u) => Number(u.env.SEQNUM));
    assert.deepEqual(
      seq,
      seq.map((_, i) => i + 1),
      "SEQNUM is the kernel's uevent_seqnum: 1, 2, 3, ...",
    );
  });

  it('a probe that fails or throws leaves the device unbound and reports the error; the create still succeeds', () => {
    for (const opts of [{ probeResult: -19 }, { throwIn: 'probe' }]) {
      const r = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\ndevice create 2:1 type=${T}\n`, {
        testdrv: () => testDriver({ calls: [] }, opts),
      });
      const d = r.emu.device(2, 0)!;
      assert.equal(d.driver, undefined);
      assert.equal(r.emu.sysfs.read('/sys/devices/visorbus2/vbus2:dev0/channel/typename'), '');
      const errs = r.emu.engine.log.events().filter((e) => e.kind === 'error');
      assert.ok(
        errs.some((e) => e.data?.category === (opts.throwIn ? 'exception' : 'probe')),
        JSON.stringify(errs.map((e) => e.text)),
      );
      const created = [...r.emu.cp.sent.values()].slice(-2);
      assert.ok(created.every((s) => s.responses.length === 1 && !s.responses[0].failed));
    }
  });

  it('a channel header size below 128 is accepted (visorchannel_create) and left unbound (visor_check_channel: size < min_bytes)', () => {
    const rec: Recorder = { calls: [] };
    const r = makeRun(`chipset init\nbus create 2\ndriver load ./testdrv.js\n`, { testdrv: () => testDriver(rec) }, { autoload: false });
    runSteps(r);
    const { msg, addr } = r.emu.cp.deviceCreate({ bus: 2, dev: 0, typeGuid: T, instGuid: T });
    r.emu.memory.writeU64(addr + 16, 64); // channel_header.size
    const sent = r.emu.cp.send(msg);
    assert.ok(typeof sent !== 'string');
    r.emu.runUntil(() => r.emu.cp.isAcked(sent.handle), 100);
    r.emu.cp.collect();
    assert.equal(sent.responses.length, 1);
    assert.equal(sent.responses[0].failed, false, 'DEVICE_CREATE succeeds');
    assert.equal(r.emu.sysfs.read('/sys/devices/visorbus2/vbus2:dev0/channel/nbytes'), '0x40\n');
    assert.deepEqual(rec.calls, [], 'not probed');
    assert.ok(r.emu.engine.klogLines.some((l) => /Channel mismatch on channel=vbus2:dev0 \(size 64 < 128\)/.test(l)));
  });

  it('binding needs the header chtype, version and signature to match', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T} version=2\ndevice create 2:1 type=${T} chtype=vnic\ndevice create 2:2 type=${T}\n`,
      { testdrv: () => testDriver(rec) },
    );
    assert.deepEqual(rec.calls, ['probe vbus2:dev2']);
    assert.ok(r.emu.engine.klogLines.some((l) => /Channel mismatch on channel=vbus2:dev0 \(version_id 2 != 1\)/.test(l)));
  });

  it('channel_interrupt runs every 10 jiffies after the end of the previous one, only while enabled', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nwait 35j\ndevice pause 2:0\nwait 50j\ndevice resume 2:0\nwait 25j\n`,
      { testdrv: () => testDriver(rec, { poll: true }) },
    );
    const polls = rec.calls.filter((c) => c.startsWith('poll')).map((c) => Number(c.split('@')[1]));
    const probeAt = r.emu.engine.log.events().find((e) => e.kind === 'call' && /probe/.test(e.text))!.jiffies;
    assert.deepEqual(polls.slice(0, 3), [probeAt + 10, probeAt + 20, probeAt + 30]);
    const gaps = polls.slice(1).map((p, i) => p - polls[i]);
    assert.ok(gaps.includes(10));
    assert.ok(!polls.some((p) => p > probeAt + 36 && p < probeAt + 36 + 50), `no polls while paused: ${polls}`);
    assert.ok(polls.length >= 5);
  });

  it('enable_channel_interrupts while polling is already active returns -EINVAL and arms no second timer', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nwait 30j\n`, {
      testdrv: () => testDriver(rec, { poll: true, enableTwice: true }),
    });
    assert.deepEqual(rec.calls.slice(0, 2), ['probe vbus2:dev0', 'enable again -22'], 'the second enable is refused with -EINVAL');
    const polls = rec.calls.filter((c) => c.startsWith('poll')).map((c) => Number(c.split('@')[1]));
    const p = r.emu.engine.log.events().find((e) => e.kind === 'call' && /probe/.test(e.text))!.jiffies;
    assert.deepEqual(polls, [p + 10, p + 20, p + 30], 'one poll per period: a single timer');
  });

  it('enable_channel_interrupts from remove() returns -EINVAL: a device being removed gets no polling', () => {
    const rec: Recorder = { calls: [] };
    runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\ndevice destroy 2:0\nwait 30j\n`, {
      testdrv: () => testDriver(rec, { enableInRemove: true }),
    });
    const i = rec.calls.indexOf('remove vbus2:dev0');
    assert.deepEqual(
      rec.calls.slice(i),
      ['remove vbus2:dev0', 'enable in remove -22'],
      'refused (polling was off: the refusal is for the removal), and no poll after it',
    );
  });

  it('disable cancels the poll timer: a pause and resume within one period poll only from the resume on', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nwait 3j\ndevice pause 2:0\ndevice resume 2:0\nwait 25j\n`,
      { testdrv: () => testDriver(rec, { poll: true }) },
    );
    const at = (re: RegExp) => r.emu.engine.log.events().find((e) => e.kind === 'call' && re.test(e.text))!.jiffies;
    const probeAt = at(/probe/);
    const resumeAt = at(/resume/);
    assert.ok(resumeAt < probeAt + 10, `paused and resumed (${resumeAt}) before the first poll was due (${probeAt + 10})`);
    const polls = rec.calls.filter((c) => c.startsWith('poll')).map((c) => Number(c.split('@')[1]));
    assert.deepEqual(polls, [resumeAt + 10, resumeAt + 20]);
  });

  it('a channel_interrupt that stops its own polling and starts the other device polling: each call and return names its own device', () => {
    const drv = testDriver({ calls: [] });
    const devs: VisorDevice[] = [];
    drv.probe = (dev) => {
      devs.push(dev);
      return devs.length === 1 ? dev.enableChannelInterrupts() : 0;
    };
    // dev0's first poll hands polling over to dev1 (which takes the slot dev0 gave back); dev1's gives it back.
    drv.channelInterrupt = (dev) => {
      dev.disableChannelInterrupts();
      const other = devs[dev === devs[0] ? 1 : 0];
      assert.equal(other.enableChannelInterrupts(), 0);
    };
    const r = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\ndevice create 2:1 type=${T}\nwait 35j\n`, {
      testdrv: () => drv,
    });
    const polls = r.emu.engine.log.events().filter((e) => (e.kind === 'call' || e.kind === 'return') && e.data?.callback === 'channel_interrupt');
    assert.deepEqual(polls.map((e) => `${e.kind} ${e.subject} ${e.text}`).slice(0, 4), [
      'call vbus2:dev0 testdrv.channel_interrupt(vbus2:dev0)',
      'return vbus2:dev0 testdrv.channel_interrupt(vbus2:dev0) returned 0',
      'call vbus2:dev1 testdrv.channel_interrupt(vbus2:dev1)',
      'return vbus2:dev1 testdrv.channel_interrupt(vbus2:dev1) returned 0',
    ]);
    assert.deepEqual(
      polls.map((e) => e.jiffies - polls[0].jiffies),
      [0, 0, 10, 10, 20, 20, 30, 30].slice(0, polls.length),
    );
    assert.ok(polls.length >= 6, `${polls.length} poll events`);
  });

  it('pollIntervalMs changes the channel_interrupt period', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nwait 100j\n`,
      { testdrv: () => testDriver(rec, { poll: true }) },
      { pollIntervalMs: 25 },
    );
    const polls = rec.calls.filter((c) => c.startsWith('poll')).map((c) => Number(c.split('@')[1]));
    const p = r.emu.engine.log.events().find((e) => e.kind === 'call' && /probe/.test(e.text))!.jiffies;
    assert.deepEqual(polls, [p + 25, p + 50, p + 75, p + 100]);
  });

  it('a driver that touches its channel while paused: the access happens (the kernel has no guard) and a warning is reported', () => {
    const drv = testDriver({ calls: [] });
    drv.pause = (dev, complete) => {
      complete(0);
      dev.channel.signalInsert(0, new Uint8Array(128)); // after a successful pause: forbidden
      return 0;
    };
    const r = runAll(`chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\ndevice pause 2:0\n`, { testdrv: () => drv });
    const e = r.emu.engine.log.events().find((x) => x.kind === 'log' && x.data?.category === 'pausedAccess');
    assert.match(e?.text ?? '', /channel access while paused: testdrv touched the channel of vbus2:dev0 while paused/);
    assert.equal(e?.data?.level, 'warn');
    // visorchannel_signalinsert is a plain memcpy: the signal is in slot 1.
    assert.equal(r.emu.memory.readU32(r.emu.device(2, 0)!.visorchannel.physaddr + 128 + 60), 1, 'the insert happened');
  });

  it('publishes the chipset, bus and device records in the vbus channel (client_bus_info)', () => {
    const r = runAll(
      `chipset init\nbus create 2 name=io\ndriver load ./testdrv.js\ndevice create 2:1 type=${T}\n`,
      { testdrv: () => testDriver({ calls: [] }) },
      { fixKernelBugs: ['busConfigureName'] },
    );
    const info = r.emu.sysfs.read('/sys/kernel/debug/visorbus/visorbus2/client_bus_info');
    assert.match(info, /^Client device\/driver info for io partition \(vbus #2\):\n {3}chipset {10}visorchipset/);
    assert.match(info, /\[1\]testtype {9}testdrv {10}kernel ver\./);
  });
});

describe('sysfs names (seed documentation example)', () => {
  const seed = `chipset init\nbus create 1 name=console\nbus create 2 name=io\ndevice create 1:1 type=${T}\ndevice create 1:2 type=${T}\ndevice create 1:3 type=${T}\ndevice create 2:0 type=${T}\ndevice create 2:1 type=${T}\ndevice create 2:2 type=${T}\n`;

  it('/sys/bus/visorbus/devices lists exactly the seed example links', () => {
    const r = runAll(seed, { testdrv: () => testDriver({ calls: [] }) });
    const links = r.emu.sysfs.list('/sys/bus/visorbus/devices').map((e) => `${e.name} -> ${e.target}`);
    assert.deepEqual(links, [
      'vbus1:dev1 -> ../../../devices/visorbus1/vbus1:dev1',
      'vbus1:dev2 -> ../../../devices/visorbus1/vbus1:dev2',
      'vbus1:dev3 -> ../../../devices/visorbus1/vbus1:dev3',
      'vbus2:dev0 -> ../../../devices/visorbus2/vbus2:dev0',
      'vbus2:dev1 -> ../../../devices/visorbus2/vbus2:dev1',
      'vbus2:dev2 -> ../../../devices/visorbus2/vbus2:dev2',
      'visorbus1 -> ../../../devices/visorbus1',
      'visorbus2 -> ../../../devices/visorbus2',
    ]);
  });

  it('device directories hold channel/*, driver and subsystem as documented', () => {
    const r = runAll(seed, { testdrv: () => testDriver({ calls: [] }) });
    const fs = r.emu.sysfs;
    const dir = '/sys/devices/visorbus2/vbus2:dev0';
    assert.deepEqual(
      fs.list(`${dir}/channel`).map((e) => e.name),
      ['clientpartition', 'nbytes', 'physaddr', 'typeguid', 'typename', 'zoneguid'],
    );
    assert.equal(fs.readlink(`${dir}/subsystem`), '../../../bus/visorbus');
    assert.equal(fs.readlink(`${dir}/driver`), '../../../bus/visorbus/drivers/testdrv');
    assert.equal(fs.read(`${dir}/channel/typeguid`), T.toUpperCase() + '\n');
    assert.match(fs.read(`${dir}/channel/physaddr`), /^0x[0-9a-f]+\n$/);
    assert.equal(fs.read(`${dir}/channel/nbytes`), '0x10000\n');
    assert.equal(fs.read(`${dir}/modalias`), `visorbus:${T}\n`);
    // links resolve: reading through /sys/bus/visorbus/devices reaches the same files
    assert.equal(fs.read('/sys/bus/visorbus/devices/vbus2:dev0/channel/typename'), 'testtype\n');
    assert.deepEqual(
      fs.list('/sys/devices/platform/visorchipset/install').map((e) => e.name),
      ['boottotool', 'error', 'remainingsteps', 'textid', 'toolaction'],
    );
    assert.deepEqual(
      fs.list('/sys/devices/platform/visorchipset/parahotplug').map((e) => `${e.name}:${e.writable}:${e.value}`),
      ['devicedisabled:true:undefined', 'deviceenabled:true:undefined'],
    );
  });
});

describe('determinism and stop points', () => {
  const text = `chipset init\nbus create 2\ndriver load ./testdrv.js\ndevice create 2:0 type=${T}\nsignal insert 2:0 queue=0 "ping"\nsignal insert 2:0 queue=0 "pong"\nwait 30ms\ndevice pause 2:0\ndevice resume 2:0\nwait 20ms\n`;
  const run = () => runAll(text, { testdrv: () => testDriver({ calls: [] }, { poll: true }) });
  const memHash = (r: ScenarioRun) => {
    const h: string[] = [];
    for (const reg of r.emu.memory.listRegions()) h.push(reg.label, Buffer.from(r.emu.memory.read(reg.base, reg.size)).toString('base64'));
    return h.join('|');
  };

  it('two runs give identical traces, checksums and memory', () => {
    const a = run();
    const b = run();
    assert.deepEqual(a.emu.engine.log.events(), b.emu.engine.log.events());
    assert.equal(a.emu.engine.log.checksum, b.emu.engine.log.checksum);
    assert.equal(memHash(a), memHash(b));
  });

  it('stops between two channel operations inside channel_interrupt, inspects, and continues to the same end state', () => {
    const ref = run();
    const r = makeRun(text, { testdrv: () => testDriver({ calls: [] }, { poll: true }) });
    let seen = 0;
    let inspected: { frames: string[]; head: number; tail: number } | undefined;
    r.emu.engine.log.hook = (ev, frames) => {
      if (ev.kind !== 'channel' || ev.subject !== 'vbus2:dev0') return;
      seen++;
      if (seen === 1) {
        // between the signalremove (done) and the signalinsert (not yet) of the same callback
        const ch = r.emu.device(2, 0)!.visorchannel;
        inspected = {
          frames: frames.map((f) => f.kind),
          head: r.emu.memory.readU32(ch.physaddr + 256 + 60),
          tail: r.emu.memory.readU32(ch.physaddr + 128 + 72),
        };
      }
    };
    runSteps(r);
    assert.deepEqual(inspected, { frames: ['scenario', 'timer', 'driver', 'channel'], head: 0, tail: 1 });
    assert.equal(r.emu.engine.log.checksum, ref.emu.engine.log.checksum);
    assert.equal(memHash(r), memHash(ref));
  });
});
