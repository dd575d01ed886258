import * as assert from 'node:assert/strict';
import {
  CHANNEL_HEADER,
  CONTROLVM_CHANNEL,
  CONTROLVM_MESSAGE_HEADER,
  INPUT_CHANNEL,
  IO_CHANNEL,
  SIGNAL_QUEUE_HEADER,
  StructLayout,
  VBUS,
  field,
} from '../../src/emulator/protocol/layout';
import { MSG, SEGMENT_STATE } from '../../src/emulator/protocol/controlvm';
import { GUIDS, bytesToGuid, bytesToGuidRaw, guidToBytes } from '../../src/emulator/protocol/guid';

function offsets(l: StructLayout): Record<string, [number, number]> {
  return Object.fromEntries(l.fields.map((f) => [f.name, [f.offset, f.size]]));
}

describe('struct layouts (protocol reference §1–§7)', () => {
  it('channel_header is 128 bytes with the reference offsets', () => {
    assert.equal(CHANNEL_HEADER.size, 128);
    assert.deepEqual(offsets(CHANNEL_HEADER), {
      signature: [0, 8],
      legacy_state: [8, 4],
      header_size: [12, 4],
      size: [16, 8],
      features: [24, 8],
      chtype: [32, 16],
      partition_handle: [48, 8],
      handle: [56, 8],
      ch_space_offset: [64, 8],
      version_id: [72, 4],
      partition_index: [76, 4],
      zone_guid: [80, 16],
      cli_str_offset: [96, 4],
      cli_state_boot: [100, 4],
      cmd_state_cli: [104, 4],
      cli_state_os: [108, 4],
      ch_characteristic: [112, 4],
      cmd_state_srv: [116, 4],
      srv_state: [120, 4],
      cli_error_boot: [124, 1],
      cli_error_os: [125, 1],
      filler: [126, 1],
      recover_channel: [127, 1],
    });
  });

  it('signal_queue_header is 128 bytes with the reference offsets', () => {
    assert.equal(SIGNAL_QUEUE_HEADER.size, 128);
    assert.deepEqual(offsets(SIGNAL_QUEUE_HEADER), {
      version: [0, 4],
      chtype: [4, 4],
      size: [8, 8],
      sig_base_offset: [16, 8],
      features: [24, 8],
      num_sent: [32, 8],
      num_overflows: [40, 8],
      signal_size: [48, 4],
      max_slots: [52, 4],
      max_signals: [56, 4],
      head: [60, 4],
      num_received: [64, 8],
      tail: [72, 4],
      reserved1: [76, 4],
      reserved2: [80, 8],
      client_queue: [88, 8],
      num_irq_received: [96, 8],
      num_empty: [104, 8],
      errorflags: [112, 4],
      filler: [116, 12],
    });
  });

  it('controlvm message header is 48 bytes and packet fields sit at the derived absolute offsets', () => {
    assert.equal(CONTROLVM_MESSAGE_HEADER.size, 48);
    assert.equal(field(CONTROLVM_MESSAGE_HEADER, 'message_handle').offset, 24);
    assert.equal(field(CONTROLVM_MESSAGE_HEADER, 'payload_vm_offset').offset, 32);
    assert.equal(field(CONTROLVM_MESSAGE_HEADER, 'payload_bytes').offset, 44);
    // §3.5 "absolute message offsets worth remembering"
    assert.deepEqual(
      [MSG.bus_no, MSG.dev_no, MSG.channel_addr, MSG.channel_bytes, MSG.type_guid, MSG.inst_guid, MSG.cs_state, MSG.cs_flags, MSG.init_features],
      [48, 52, 56, 64, 72, 88, 56, 58, 56],
    );
  });

  it('controlvm channel fields and queues (§3.2, §3.3)', () => {
    assert.equal(CONTROLVM_CHANNEL.saved_crash_message_count, 3014);
    assert.equal(CONTROLVM_CHANNEL.installation_error, 3020);
    assert.equal(CONTROLVM_CHANNEL.tool_action, 3030);
    assert.equal(CONTROLVM_CHANNEL.efi_visor_ind, 3032);
    assert.deepEqual(
      [CONTROLVM_CHANNEL.request_queue, CONTROLVM_CHANNEL.response_queue, CONTROLVM_CHANNEL.event_queue, CONTROLVM_CHANNEL.event_ack_queue],
      [3072, 3200, 3328, 3456],
    );
    assert.deepEqual(
      [
        CONTROLVM_CHANNEL.request_msg,
        CONTROLVM_CHANNEL.response_msg,
        CONTROLVM_CHANNEL.event_msg,
        CONTROLVM_CHANNEL.event_ack_msg,
        CONTROLVM_CHANNEL.saved_crash_msg,
      ],
      [3584, 11776, 19968, 28160, 36352],
    );
  });

  it('vbus, IO and input channel offsets (§5.10, §7.1, §7.5)', () => {
    assert.deepEqual([VBUS.hdr_info, VBUS.chp_info, VBUS.bus_info, VBUS.dev_info], [128, 256, 512, 768]);
    assert.deepEqual(
      [IO_CHANNEL.cmd_q, IO_CHANNEL.rsp_q, IO_CHANNEL.vhba_max, IO_CHANNEL.vnic_num_rcv_bufs, IO_CHANNEL.vnic_mtu, IO_CHANNEL.client_string],
      [128, 256, 392, 390, 394, 414],
    );
    assert.deepEqual([IO_CHANNEL.SIZEOF_PROTOCOL, IO_CHANNEL.SIZEOF_CMDRSP, IO_CHANNEL.MIN_IO_CHANNEL_SIZE], [1472, 1216, 159744]);
    assert.deepEqual([INPUT_CHANNEL.queue, INPUT_CHANNEL.reports, INPUT_CHANNEL.report_size, INPUT_CHANNEL.slots], [136, 264, 16, 50]);
  });

  it('segment states have the derived values', () => {
    assert.deepEqual(SEGMENT_STATE, { running: 0xf7, paused: 0x77, standby: 0x73 });
  });

  it('GUIDs are stored mixed-endian and printed in the three kernel formats', () => {
    const b = guidToBytes(GUIDS.vhba);
    assert.equal(Buffer.from(b).toString('hex'), 'ed1548418cc5da1195a900e08161165f');
    assert.equal(bytesToGuid(b), GUIDS.vhba);
    assert.equal(bytesToGuidRaw(b), 'ed154841-8cc5-da11-95a9-00e08161165f');
    assert.equal(Buffer.from(guidToBytes(GUIDS.controlvm)).toString('hex'), '102d3c2bf57ed84ab9663448b7386b3d');
    assert.throws(() => guidToBytes('not-a-guid'), /malformed GUID/);
  });
});
