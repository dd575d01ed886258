import * as assert from 'node:assert/strict';
import { runAll, testDriver, TEST_GUID, Recorder } from './helpers/testdriver';
import { ScenarioRun } from '../../src/emulator/scenario/runner';
import { CONTROLVM_ID, ControlvmMessage, MSG } from '../../src/emulator/protocol/controlvm';
import { CONTROLVM_CHANNEL } from '../../src/emulator/protocol/layout';

/** Every message the CP sent, in order, with what came back. */
function sent(r: ScenarioRun) {
  return [...r.emu.cp.sent.values()];
}
function last(r: ScenarioRun) {
  const s = sent(r);
  return s[s.length - 1];
}
function only(msgs: ControlvmMessage[]): ControlvmMessage {
  assert.equal(msgs.length, 1, `expected exactly one response, got ${msgs.length}`);
  return msgs[0];
}
const drv = (rec: Recorder = { calls: [] }) => ({ testdrv: () => testDriver(rec) });

describe('visorchipset: controlvm messages (§4)', () => {
  it('CHIPSET_INIT answers features (request & 2) | 1, then ALREADY_DONE with features 0', () => {
    const r = runAll('chipset init features=0x7\nchipset init features=0x2\n', drv());
    const [a, b] = sent(r);
    const ra = only(a.responses);
    assert.equal(ra.failed, false);
    assert.equal(ra.u32(MSG.init_features), 0x3);
    const rb = only(b.responses);
    assert.equal(rb.failed, true);
    assert.equal(rb.completionStatus, 1);
    assert.equal(rb.u32(MSG.init_features), 0);
  });

  it('every processed message is ACKed with the header (payload fields zeroed) and answered on the REQUEST queue', () => {
    const r = runAll('chipset init\nbus create 1\nbus configure 1 handle=0x10 name=io guid=vbus\n', drv());
    assert.equal(sent(r).length, 3);
    for (const s of sent(r)) {
      assert.equal(s.acked, true);
      const ack = only(s.acks);
      assert.equal(ack.id, s.id, 'the ACK carries the header id');
      assert.equal(ack.u64(MSG.message_handle), s.handle, 'the ACK carries the header handle');
      assert.equal(ack.u64(MSG.payload_vm_offset), 0, 'payload_vm_offset zeroed');
      assert.equal(ack.u32(MSG.payload_max_bytes), 0, 'payload_max_bytes zeroed');
      assert.equal(ack.u32(MSG.payload_bytes), 0, 'payload_bytes zeroed');
      assert.deepEqual([...ack.bytes.subarray(48)], new Array(80).fill(0), 'nothing past the 48-byte header');
      const resp = only(s.responses);
      assert.equal(resp.u64(MSG.message_handle), s.handle, 'the response echoes message_handle');
      assert.equal(resp.id, s.id);
    }
    // queue roles: the guest read EVENT(2), wrote ACK(3) and REQUEST(0)
    assert.equal(r.emu.cp.controlvm.signalEmpty(2), true);
    assert.ok(r.emu.memory.readU64(r.emu.cp.controlvm.physaddr + CONTROLVM_CHANNEL.event_ack_queue + 32) >= 3, 'ACK queue num_sent');
    assert.ok(r.emu.memory.readU64(r.emu.cp.controlvm.physaddr + CONTROLVM_CHANNEL.request_queue + 32) >= 3, 'REQUEST queue num_sent');
  });

  it('dev_no 0xffffffff in CHANGESTATE finds the bus device (visorbus_get_device_by_id): no response, then BUS_DESTROY fails with EEXIST', () => {
    // visorchipset.c device_changestate -> visorbus_get_device_by_id(bus, 0xffffffff) is the
    // bus itself; no driver is bound, so no response; its pending header makes BUS_DESTROY -EEXIST.
    const r = runAll('chipset init\nbus create 2\ncontrolvm send id=0x204 bus=2 dev=0xffffffff flags=2 state=0xf7\nbus destroy 2\n', drv());
    const s = sent(r);
    assert.equal(s[2].acked, true);
    assert.equal(s[2].responses.length, 0, 'no response: the bus device has no driver');
    const d = only(s[3].responses);
    assert.equal(d.failed, true);
    assert.equal(d.completionStatus, 17, 'EEXIST');
  });

  it('dev_no 0xffffffff in DEVICE_DESTROY unregisters the bus device (visorbus_get_device_by_id + remove_visor_device)', () => {
    const r = runAll('chipset init\nbus create 2\ncontrolvm send id=0x202 bus=2 dev=0xffffffff flags=2\n', drv());
    const resp = only(last(r).responses);
    assert.equal(resp.failed, false);
    assert.equal(r.emu.busDevice(2), undefined);
    assert.equal(r.emu.sysfs.exists('/sys/bus/visorbus/devices/visorbus2'), false);
  });

  it('duplicate bus, device on a missing bus, duplicate device: errno status with failed set', () => {
    const r = runAll(
      `chipset init\nbus create 1\nbus create 1\ncontrolvm send id=0x201 bus=5 dev=0\ndriver load ./testdrv.js\ndevice create 1:0 type=${TEST_GUID}\ndevice create 1:0 type=${TEST_GUID}\n`,
      drv(),
    );
    const s = sent(r);
    const status = (i: number) => {
      const m = only(s[i].responses);
      return m.failed ? m.completionStatus : 0;
    };
    assert.equal(status(1), 0);
    assert.equal(status(2), 17, 'EEXIST');
    assert.equal(status(3), 19, 'ENODEV: device on a missing bus');
    assert.equal(status(4), 0);
    assert.equal(status(5), 17, 'EEXIST: duplicate device');
  });

  it('destroy of missing objects, unknown ids and DEVICE_CONFIGURE', () => {
    const r = runAll(
      'chipset init\nbus destroy 9\ncontrolvm send id=0x202 bus=9 dev=1\ncontrolvm send id=0x105 bus=1\ncontrolvm send id=0\nbus create 1\ncontrolvm send id=0x203 bus=1 dev=0\n',
      drv(),
    );
    const s = sent(r);
    const m = (i: number) => only(s[i].responses);
    assert.equal(m(1).completionStatus, 19);
    assert.equal(m(2).completionStatus, 19);
    assert.equal(m(3).completionStatus, 4, 'BUS_CHANGESTATE is not handled: ID_UNKNOWN');
    assert.equal(m(3).failed, true);
    assert.equal(m(4).completionStatus, 4);
    assert.equal(m(6).failed, false, 'DEVICE_CONFIGURE is a success no-op');
  });

  it('no response when response_expected is 0; a test message is dropped without ACK', () => {
    const r = runAll('chipset init\ncontrolvm send id=0x304 flags=0\n', drv());
    const s = sent(r);
    assert.equal(s[1].acked, true);
    assert.equal(s[1].responses.length, 0);
    assert.equal(r.emu.engine.uevents.length, 1, 'CHIPSET_READY was still acted upon');
    // A test message: consumed, no ACK, no response. The runner reports the missing ACK.
    const r2 = runAll('chipset init\ncontrolvm send id=0x304 flags=0xa\n', drv());
    assert.equal(sent(r2)[1].acked, false);
    assert.equal(sent(r2)[1].responses.length, 0);
    assert.match(r2.errors[0].message, /did not acknowledge CONTROLVM_CHIPSET_READY/);
  });

  it('CHIPSET_READY / SELFTEST / STOP send uevents online / change / offline on the platform device', () => {
    const r = runAll('chipset init\nchipset ready\nchipset selftest\nchipset stop\n', drv());
    const ue = r.emu.engine.uevents.map((u) => `${u.action} ${u.devpath} ${JSON.stringify(u.env)}`);
    // kobject_uevent_env: ACTION, DEVPATH, SUBSYSTEM, the caller's variables, SEQNUM.
    assert.deepEqual(ue, [
      'online /devices/platform/visorchipset {"ACTION":"online","DEVPATH":"/devices/platform/visorchipset","SUBSYSTEM":"platform","SEQNUM":"1"}',
      'change /devices/platform/visorchipset {"ACTION":"change","DEVPATH":"/devices/platform/visorchipset","SUBSYSTEM":"platform","SPARSP_SELFTEST":"1","SEQNUM":"2"}',
      'offline /devices/platform/visorchipset {"ACTION":"offline","DEVPATH":"/devices/platform/visorchipset","SUBSYSTEM":"platform","SEQNUM":"3"}',
    ]);
  });

  it('BUS_CONFIGURE sets the client partition, the partition GUID (raw byte order) and name', () => {
    const r = runAll('chipset init\nbus create 2 name=io handle=0x10000000 guid=414815ed-c58c-11da-95a9-00e08161165f\n', drv());
    const fs = r.emu.sysfs;
    assert.equal(fs.read('/sys/devices/visorbus2/partition_handle'), '0x10000000\n');
    // parser_name_get reads &phdr + name_offset (the kernel stack), not the payload: not "io".
    assert.equal(fs.read('/sys/devices/visorbus2/partition_name'), '\n');
    assert.equal(fs.read('/sys/devices/visorbus2/partition_guid'), '{ed154841-8cc5-da11-95a9-00e08161165f}\n');
    const r2 = runAll('chipset init\nbus create 2\n', drv());
    assert.equal(r2.emu.sysfs.read('/sys/devices/visorbus2/partition_name'), '(null)\n');
    const fixed = runAll('chipset init\nbus create 2 name=io\n', drv(), { fixKernelBugs: ['busConfigureName'] });
    assert.equal(fixed.emu.sysfs.read('/sys/devices/visorbus2/partition_name'), 'io\n');
  });

  it('a channel at an unmapped address fails with ENOMEM', () => {
    const r = runAll('chipset init\ncontrolvm send id=0x101 bus=4\n', drv());
    assert.equal(only(last(r).responses).completionStatus, 12);
  });

  it('a payload over 128 KiB is never ACKed and retried at every poll (parser_init_stream retry): the controlvm loop is wedged', () => {
    const r = runAll('chipset init\nbus create 1\ncontrolvm send id=0x104 bus=1 payload_bytes=200000\nbus create 2\n', drv());
    const s = sent(r);
    assert.equal(s[2].acked, false);
    assert.equal(s[2].responses.length, 0);
    assert.equal(s[3].acked, false, 'nothing behind it is handled');
    assert.equal(r.errors.length, 2, 'both lines fail: not acknowledged');
    assert.equal(r.emu.engine.log.events().filter((e) => e.kind === 'controlvm').length, 3, 'one "received" event, not one per retry');
  });

  it('fixKernelBugs oversizedPayload: a payload over 128 KiB is refused with PAYLOAD_INVALID and the loop goes on', () => {
    const r = runAll('chipset init\nbus create 1\ncontrolvm send id=0x104 bus=1 payload_bytes=200000\nbus create 2\n', drv(), {
      fixKernelBugs: ['oversizedPayload'],
    });
    const s = sent(r);
    const m = only(s[2].responses);
    assert.equal(m.failed, true);
    assert.equal(m.completionStatus, 400);
    assert.equal(only(s[3].responses).failed, false, 'the controlvm loop goes on');
  });

  it('DEVICE_CHANGESTATE: paused (0x77) gets no response and leaves the device stuck with status 5', () => {
    const rec: Recorder = { calls: [] };
    const r = runAll(
      `chipset init\nbus create 1\ndriver load ./testdrv.js\ndevice create 1:0 type=${TEST_GUID}\ndevice state 1:0 paused\ndevice destroy 1:0\ndevice pause 1:0\n`,
      { testdrv: () => testDriver(rec) },
    );
    const s = sent(r);
    assert.equal(s[3].responses.length, 0, 'no response to the paused state');
    assert.equal(only(s[4].responses).completionStatus, 5);
    assert.equal(only(s[5].responses).completionStatus, 5);
    assert.deepEqual(rec.calls, ['probe vbus1:dev0']);
  });

  it('CHANGESTATE of a device with no driver gets no response', () => {
    const r = runAll(`chipset init\nbus create 1\nautoload off\ndevice create 1:0 type=${TEST_GUID}\ndevice pause 1:0\n`, drv());
    assert.equal(last(r).acked, true);
    assert.equal(last(r).responses.length, 0);
  });

  it('pause/resume completion answers with standby / running and the device numbers', () => {
    const r = runAll(`chipset init\nbus create 1\ndriver load ./testdrv.js\ndevice create 1:3 type=${TEST_GUID}\ndevice pause 1:3\ndevice resume 1:3\n`, drv());
    const s = sent(r);
    const p = only(s[3].responses);
    assert.equal(p.u16(MSG.cs_state), 0x73);
    assert.equal(p.u32(MSG.bus_no), 1);
    assert.equal(p.u32(MSG.dev_no), 3);
    assert.equal(only(s[4].responses).u16(MSG.cs_state), 0xf7);
  });

  it('a pause that never completes leaves later requests busy (EBUSY) or stuck (EIO)', () => {
    const never = { testdrv: () => testDriver({ calls: [] }, { completePause: false }) };
    // without response_expected no pending header is kept: the next request finds the pause in progress
    const r = runAll(
      `chipset init\nbus create 1\ndriver load ./testdrv.js\ndevice create 1:0 type=${TEST_GUID}\ncontrolvm send id=0x204 bus=1 dev=0 state=0x73 flags=0\ndevice resume 1:0\n`,
      never,
    );
    const s = sent(r);
    assert.equal(s[3].responses.length, 0);
    assert.equal(only(s[4].responses).completionStatus, 16);
    // with response_expected the pending header stays: the device is stuck with status 5
    const r2 = runAll(
      `chipset init\nbus create 1\ndriver load ./testdrv.js\ndevice create 1:0 type=${TEST_GUID}\ndevice pause 1:0\ndevice resume 1:0\n`,
      never,
    );
    assert.equal(only(last(r2).responses).completionStatus, 5);
  });

  it('vhba DEVICE_CREATE saves the crash message, and fails with 5 when saved_crash_message_count != 2', () => {
    const ok = runAll('chipset init\nbus create 1\nautoload off\ndevice create 1:0 type=vhba\n', drv());
    const cv = ok.emu.cp.controlvm.physaddr;
    const saved = new ControlvmMessage(ok.emu.memory.read(cv + CONTROLVM_CHANNEL.saved_crash_msg + 128, 128));
    assert.equal(saved.id, CONTROLVM_ID.DEVICE_CREATE);
    const bad = runAll('chipset init\nbus create 1\nautoload off\nmemory write controlvm+3014 u16 1\ndevice create 1:0 type=vhba\n', drv());
    assert.equal(only(last(bad).responses).completionStatus, 5);
    assert.equal(bad.emu.device(1, 0), undefined);
  });

  it('parahotplug: enable answered at once; disable answered on devicedisabled, or UDEV_TIMEOUT after 2 s (not failed)', () => {
    const r = runAll(
      'chipset init\nbus create 2\nparahotplug 2:10 enable\nparahotplug 2:10 disable\necho 2 > /sys/devices/platform/visorchipset/parahotplug/devicedisabled\nparahotplug 2:11 disable\nwait 2100ms\n',
      drv(),
    );
    const s = sent(r);
    const en = only(s[2].responses);
    assert.equal(en.u32(MSG.cs_flags) & 1, 1);
    assert.equal(en.u32(MSG.bus_no), 0);
    assert.equal(only(s[3].responses).failed, false);
    assert.equal(only(s[3].responses).u16(MSG.cs_state) & 2, 0, 'active bit cleared');
    const to = only(s[4].responses);
    assert.equal(to.failed, false, '1400 is passed as a positive value: not failed');
    const ue = r.emu.engine.uevents.filter((u) => u.env.VISOR_PARAHOTPLUG);
    assert.deepEqual(ue[0].env, {
      ACTION: 'change',
      DEVPATH: '/devices/platform/visorchipset',
      SUBSYSTEM: 'platform',
      VISOR_PARAHOTPLUG: '1',
      VISOR_PARAHOTPLUG_ID: '1',
      VISOR_PARAHOTPLUG_STATE: '1',
      VISOR_PARAHOTPLUG_BUS: '2',
      VISOR_PARAHOTPLUG_DEVICE: '1',
      VISOR_PARAHOTPLUG_FUNCTION: '2',
      SEQNUM: ue[0].env.SEQNUM,
    });
    assert.deepEqual(Object.keys(ue[0].env).slice(-1), ['SEQNUM'], 'SEQNUM comes last');
    assert.ok(r.emu.engine.klogLines.some((l) => /parahotplug request 3 timed out/.test(l)));
  });

  it('writing an unknown id to devicedisabled is rejected with EINVAL and located', () => {
    const r = runAll('chipset init\necho 42 > /sys/devices/platform/visorchipset/parahotplug/devicedisabled\n', drv());
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].line, 2);
    assert.match(r.errors[0].message, /no parahotplug request 42/);
  });

  it('install attributes read and write the controlvm channel fields', () => {
    const r = runAll(
      'chipset init\necho 7 > /sys/devices/platform/visorchipset/install/textid\necho 1 > /sys/devices/platform/visorchipset/install/boottotool\necho 300 > /sys/devices/platform/visorchipset/install/toolaction\n',
      drv(),
    );
    const cv = r.emu.cp.controlvm.physaddr;
    assert.equal(r.emu.memory.readU32(cv + CONTROLVM_CHANNEL.installation_text_id), 7);
    assert.equal(r.emu.memory.readU8(cv + CONTROLVM_CHANNEL.efi_visor_ind), 8);
    assert.equal(r.emu.sysfs.read('/sys/devices/platform/visorchipset/install/boottotool'), '1\n');
    assert.match(r.errors[0].message, /Numerical result out of range: 300 is not in 0\.\.255 \(kstrtou8\)/);
  });

  it('sysfs stores parse as kstrtou8/u16/u32/int: a leading + is accepted, -1 only where signed, no spaces, one trailing newline', () => {
    const base = '/sys/devices/platform/visorchipset/install';
    const r = runAll('chipset init\n', drv());
    const fs = r.emu.sysfs;
    const err = (path: string, v: string) => {
      try {
        fs.write(path, v);
      } catch (e) {
        return (e as { errno?: string }).errno;
      }
      return 'ok';
    };
    // toolaction_store: kstrtou8
    assert.equal(err(`${base}/toolaction`, '+5'), 'ok');
    assert.equal(fs.read(`${base}/toolaction`), '5\n');
    assert.equal(err(`${base}/toolaction`, '6\n'), 'ok');
    assert.equal(err(`${base}/toolaction`, ' 7'), 'EINVAL');
    assert.equal(err(`${base}/toolaction`, '7 '), 'EINVAL');
    assert.equal(err(`${base}/toolaction`, '-1'), 'EINVAL');
    assert.equal(err(`${base}/toolaction`, '0x10'), 'EINVAL');
    assert.equal(err(`${base}/toolaction`, '256'), 'ERANGE');
    assert.equal(fs.read(`${base}/toolaction`), '6\n');
    // remaining_steps_store: kstrtou16
    assert.equal(err(`${base}/remainingsteps`, '65536'), 'ERANGE');
    assert.equal(err(`${base}/remainingsteps`, '65535'), 'ok');
    // boottotool_store: kstrtoint, then value & 1 into bit 3
    assert.equal(err(`${base}/boottotool`, '-1'), 'ok');
    assert.equal(fs.read(`${base}/boottotool`), '1\n');
    assert.equal(err(`${base}/boottotool`, '2147483648'), 'ERANGE');
  });

  it('parahotplug uevent: parahotplug_request_kickoff prints BUS and DEVICE with %d', () => {
    const r = runAll('chipset init\nparahotplug 2147483649:17 enable\n', drv());
    const ue = r.emu.engine.uevents.find((u) => u.env.VISOR_PARAHOTPLUG);
    assert.equal(ue?.env.VISOR_PARAHOTPLUG_BUS, '-2147483647');
    assert.equal(ue?.env.VISOR_PARAHOTPLUG_DEVICE, '2');
    assert.equal(ue?.env.VISOR_PARAHOTPLUG_FUNCTION, '1');
  });

  it('polls every jiffy while busy and every 100 jiffies after 10 s idle', () => {
    const r = runAll('chipset init\nwait 9s\n', drv());
    const p1 = r.emu.chipset.stats.polls;
    r.emu.advance(2000); // crosses the 10 s idle mark
    const p2 = r.emu.chipset.stats.polls;
    r.emu.advance(1000);
    const p3 = r.emu.chipset.stats.polls;
    assert.ok(p1 >= 9000, `busy polling: ${p1}`);
    assert.ok(p2 - p1 > 900 && p2 - p1 < 1100, `still fast until idle: ${p2 - p1}`);
    assert.equal(p3 - p2, 10, 'slow polling: 1000 jiffies / 100');
  });
});
