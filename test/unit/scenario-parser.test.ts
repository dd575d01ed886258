import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import type { Command, Diagnostic, Scenario } from '../../src/emulator/scenario/ast';
import { GUIDS } from '../../src/emulator/protocol/guid';
import { COMMANDS } from '../../src/emulator/scenario/catalogue';
import { formatDiagnostic, parseScenario } from '../../src/emulator/scenario/parser';

const FILE = 'test.visor';

function parse(text: string): Scenario {
  return parseScenario(text, FILE);
}

function commands(text: string): Command[] {
  const s = parse(text);
  assert.deepEqual(s.diagnostics, [], 'expected no diagnostics');
  return s.steps.map((st) => st.command);
}

/** The one command of a scenario whose last line is the command under test (earlier lines set up buses). */
function lastCommand(text: string): Command {
  const cmds = commands(text);
  return cmds[cmds.length - 1];
}

/** Exactly one diagnostic; returns it. */
function oneDiag(text: string): Diagnostic {
  const s = parse(text);
  assert.equal(s.diagnostics.length, 1, `expected one diagnostic, got: ${s.diagnostics.map(formatDiagnostic).join(' | ')}`);
  return s.diagnostics[0];
}

/** Assert the single diagnostic of `text`: message, line, column, endColumn (1-based, end exclusive). */
function expectError(text: string, message: string, line: number, column: number, endColumn: number): void {
  const d = oneDiag(text);
  assert.deepEqual(
    { message: d.message, line: d.line, column: d.column, endColumn: d.endColumn, severity: d.severity, file: d.file },
    { message, line, column, endColumn, severity: 'error', file: FILE },
  );
}

/** Column range of `token` within `line` (first occurrence), 1-based, end exclusive. */
function range(line: string, token: string): [number, number] {
  const i = line.indexOf(token);
  assert.ok(i >= 0, `'${token}' not in '${line}'`);
  return [i + 1, i + 1 + token.length];
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The `data` a back-end command may carry (disk write, net send/xmit). */
function dataOf(c: Command): Uint8Array | undefined {
  return c.kind === 'backend' ? c.data : undefined;
}

const PRODUCT_EXAMPLE = `chipset init
driver load visorhba            # also visornic, visorinput, or a path to a driver module
bus create 2 name=io
device create 2:0 type=vhba bytes=0x10000
device create 2:1 type=vnic
wait 10ms                       # advance the virtual clock (channel_interrupt polls run)
net 2:1 send "hello"            # back-end delivers a frame to the guest
device pause 2:0                # DEVICE_CHANGESTATE -> standby; driver pause()
device resume 2:0
partition recover 2             # service partition recovery: pause every device on bus 2, then resume
expect /sys/bus/visorbus/devices/vbus2:dev0/driver == visorhba
device destroy 2:1
bus destroy 2
`;

describe('scenario parser', () => {
  describe('the PRODUCT.md example', () => {
    it('parses with no diagnostics into the expected commands', () => {
      const s = parse(PRODUCT_EXAMPLE);
      assert.deepEqual(s.diagnostics, []);
      assert.equal(s.file, FILE);
      const cmds = s.steps.map((st) => st.command);
      assert.deepEqual(cmds, [
        { kind: 'chipsetInit', features: 0 },
        { kind: 'driverLoad', name: 'visorhba', isPath: false },
        { kind: 'busCreate', bus: 2, name: 'io' },
        { kind: 'deviceCreate', device: { bus: 2, dev: 0 }, typeGuid: GUIDS.vhba, bytes: 0x10000 },
        { kind: 'deviceCreate', device: { bus: 2, dev: 1 }, typeGuid: GUIDS.vnic },
        { kind: 'wait', amount: 10_000, unit: 'us' },
        {
          kind: 'backend',
          family: 'net',
          device: { bus: 2, dev: 1 },
          verb: 'send',
          positional: ['hello'],
          options: {},
          data: utf8('hello'),
        },
        { kind: 'devicePause', device: { bus: 2, dev: 0 } },
        { kind: 'deviceResume', device: { bus: 2, dev: 0 } },
        { kind: 'partitionRecover', bus: 2 },
        {
          kind: 'expect',
          subject: { kind: 'sysfs', path: '/sys/bus/visorbus/devices/vbus2:dev0/driver' },
          op: '==',
          value: 'visorhba',
        },
        { kind: 'deviceDestroy', device: { bus: 2, dev: 1 } },
        { kind: 'busDestroy', bus: 2 },
      ]);
    });

    it('gives each step its line, its column range and its text without the comment', () => {
      const s = parse(PRODUCT_EXAMPLE);
      assert.deepEqual(
        s.steps.map((st) => st.loc.line),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
      );
      assert.deepEqual(s.steps[1].loc, { line: 2, column: 1, endColumn: 21 });
      assert.equal(s.steps[1].text, 'driver load visorhba');
      assert.equal(s.steps[6].text, 'net 2:1 send "hello"');
      assert.deepEqual(parse('   bus create 2   # two\n').steps[0].loc, { line: 1, column: 4, endColumn: 16 });
    });
  });

  describe('diagnostics: message and exact position', () => {
    it('unknown command with a suggestion', () => {
      expectError('bux create 2', "unknown command 'bux' (did you mean 'bus'?)", 1, 1, 4);
      expectError('bus create 2\n  devcie destroy 2:0', "unknown command 'devcie' (did you mean 'device'?)", 2, 3, 9);
    });

    it('keywords are lower-case', () => {
      expectError('Bus create 2', "unknown command 'Bus' (did you mean 'bus'?)", 1, 1, 4);
    });

    it('unknown command without a close match lists the commands', () => {
      const d = oneDiag('frobnicate 1');
      assert.match(d.message, /^unknown command 'frobnicate' \(commands: .*\bdevice\b.*\)$/);
      assert.deepEqual([d.column, d.endColumn], [1, 11]);
    });

    it('bad number points at the value', () => {
      const line = 'bus create 2 bytes=0xZZ';
      expectError(line, "bad number '0xZZ'", 1, ...range(line, '0xZZ'));
      expectError('bus create 2 addr=12abc', "bad number '12abc'", 1, 19, 24);
      expectError('bus create 0xZZ', "bad number '0xZZ'", 1, 12, 16);
    });

    it('unknown GUID alias', () => {
      const line = 'device create 2:0 type=vhab';
      expectError(
        'bus create 2\n' + line,
        "unknown GUID alias 'vhab' (use vhba, vnic, keyboard, mouse, controlvm, vbus or a GUID in 8-4-4-4-12 form)",
        2,
        ...range(line, 'vhab'),
      );
    });

    it('malformed GUID', () => {
      const line = 'device create 2:0 type=vhba zone=414815ed-c58c-11da-95a9-00e0816116';
      const d = oneDiag('bus create 2\n' + line);
      assert.match(d.message, /^malformed GUID '414815ed-c58c-11da-95a9-00e0816116' \(expected 8-4-4-4-12/);
      assert.deepEqual([d.line, d.column, d.endColumn], [2, ...range(line, '414815ed-c58c-11da-95a9-00e0816116')]);
      assert.deepEqual([d.column, d.endColumn], [34, 68]);
    });

    it('malformed device name', () => {
      expectError('bus create 2\ndevice create 2-0 type=vhba', "malformed device name '2-0' (expected BUS:DEV, e.g. 2:0)", 2, 15, 18);
      expectError('device pause 2', "malformed device name '2' (expected BUS:DEV, e.g. 2:0)", 1, 14, 15);
    });

    it('device numbers must be below 2^32', () => {
      expectError('device pause 4294967296:0', "bus number '4294967296' is too large (at most 0xffffffff)", 1, 14, 24);
      expectError('device pause 1:0x100000000', "device number '0x100000000' is too large (at most 0xffffffff)", 1, 16, 27);
      assert.deepEqual(lastCommand('device pause 0xffffffff:4294967295'), {
        kind: 'devicePause',
        device: { bus: 0xffffffff, dev: 0xffffffff },
      });
    });

    it('device on a bus no earlier bus create declares', () => {
      expectError('bus create 2\ndevice create 3:0 type=vhba', "device 3:0 is on bus 3, which no earlier 'bus create 3' declares", 2, 15, 18);
    });

    it('tracks bus create and bus destroy in file order', () => {
      const s = parse('device create 2:0 type=vhba\nbus create 2\ndevice create 2:1 type=vhba\nbus destroy 2\ndevice create 2:2 type=vhba');
      assert.deepEqual(
        s.diagnostics.map((d) => d.line),
        [1, 5],
      );
      assert.deepEqual(
        s.steps.map((st) => st.loc.line),
        [2, 3, 4],
      );
      // only 'device create' is checked: other device commands on undeclared buses are runtime matters
      assert.deepEqual(parse('device pause 7:0').diagnostics, []);
      // hex and decimal name the same bus
      assert.deepEqual(parse('bus create 0x10\ndevice create 16:0 type=vnic').diagnostics, []);
    });

    it('missing required option', () => {
      const d = oneDiag('bus create 2\ndevice create 2:0');
      assert.ok(d.message.startsWith("missing argument type=... for 'device create'"), d.message);
      assert.deepEqual([d.line, d.column, d.endColumn], [2, 1, 14]);
    });

    it('unknown option lists the options', () => {
      const line = 'device create 2:0 type=vhba bites=5';
      expectError(
        'bus create 2\n' + line,
        "unknown option 'bites' for 'device create' (expected one of: type, bytes, addr, zone, partition, version, chtype, inst)",
        2,
        ...range(line, 'bites'),
      );
    });

    it('option given twice', () => {
      expectError('bus create 2 name=a name=b', "option 'name' is given twice", 1, 21, 25);
    });

    it('positional GUID where type= was meant', () => {
      expectError('bus create 2\ndevice create 2:0 vhba', "unexpected argument 'vhba' for 'device create' (did you mean type=vhba?)", 2, 19, 23);
    });

    it('wait without a unit, with a bad unit, negative or fractional', () => {
      expectError('wait 10', "missing unit in '10' (use ms, s, us or j for jiffies)", 1, 6, 8);
      expectError('wait 10min', "unknown unit 'min' in '10min' (use ms, s, us or j for jiffies)", 1, 8, 11);
      expectError('wait -1ms', "a wait cannot be negative: '-1ms'", 1, 6, 10);
      expectError('wait 1.5s', "'1.5s' is not a whole number of s (use a smaller unit, e.g. ms or us)", 1, 6, 10);
    });

    it('unknown driver', () => {
      expectError(
        'driver load visorfoo',
        "unknown driver 'visorfoo' (built-in drivers: visorhba, visornic, visorinput; give a path like ./my-driver.js for your own)",
        1,
        13,
        21,
      );
    });

    it('unknown subcommand and missing subcommand', () => {
      expectError('bus crate 2', "unknown subcommand 'crate' for 'bus' (did you mean 'create'? expected one of: create, configure, destroy)", 1, 5, 10);
      expectError('chipset', "missing subcommand for 'chipset' (use init, ready, selftest or stop)", 1, 1, 8);
    });

    it('unknown back-end verb and fault kind', () => {
      expectError('net 2:1 sned "x"', "unknown verb 'sned' for 'net' (did you mean 'send'? expected one of: send, xmit, link, open, close)", 1, 9, 13);
      expectError(
        'fault 2:0 explode',
        "unknown fault kind 'explode' for 'fault' (expected one of: medium-error, lost-response, backend-error, timeout, drop-frame, queue-full)",
        1,
        11,
        18,
      );
      expectError('net send 2:1 "x"', "the device comes before the verb: write 'net BUS:DEV send ...'", 1, 5, 9);
    });

    it('unexpected extra argument', () => {
      const d = oneDiag('chipset ready now');
      assert.equal(d.message, "unexpected argument 'now' for 'chipset ready' (syntax: chipset ready)");
      assert.deepEqual([d.column, d.endColumn], [15, 18]);
    });

    it('a line with an error produces no step, other lines still do', () => {
      const s = parse('bus create 2\nbus create 2 bytes=0xZZ\nbus destroy 2');
      assert.deepEqual(
        s.steps.map((st) => st.command.kind),
        ['busCreate', 'busDestroy'],
      );
      assert.equal(s.diagnostics.length, 1);
      assert.equal(s.diagnostics[0].line, 2);
    });

    it('lexer errors: unterminated string, bad escape, control character', () => {
      expectError('log "hello', 'unterminated string (missing closing ")', 1, 5, 11);
      expectError('log "a\\qb"', "unknown escape '\\q' in string (use \\\", \\\\, \\n, \\t or \\xNN)", 1, 7, 9);
      expectError('log "\\x4g"', "bad escape '\\x4' in string (\\x takes two hex digits, e.g. \\x0a)", 1, 6, 9);
      expectError('log a\x01b', 'unexpected control character U+0001', 1, 6, 7);
    });

    it('formatDiagnostic gives file:line:column: severity: message', () => {
      const d = oneDiag('\n\nbux create 2');
      assert.equal(formatDiagnostic(d), "test.visor:3:1: error: unknown command 'bux' (did you mean 'bus'?)");
      assert.equal(formatDiagnostic({ file: 'a.visor', line: 4, column: 7, endColumn: 9, severity: 'warning', message: 'hm' }), 'a.visor:4:7: warning: hm');
    });
  });

  describe('numbers', () => {
    it('decimal and 0x hex', () => {
      assert.deepEqual(lastCommand('bus create 10 addr=0x1000 handle=4096'), { kind: 'busCreate', bus: 10, addr: 0x1000, handle: 4096 });
      assert.deepEqual(lastCommand('bus create 0x1f'), { kind: 'busCreate', bus: 31 });
      assert.deepEqual(lastCommand('chipset init features=0x3'), { kind: 'chipsetInit', features: 3 });
    });

    it('sizes take k/K (x1024) and M (x1048576)', () => {
      assert.deepEqual(lastCommand('bus create 2 bytes=64k'), { kind: 'busCreate', bus: 2, bytes: 65536 });
      assert.deepEqual(lastCommand('bus create 2 bytes=4K'), { kind: 'busCreate', bus: 2, bytes: 4096 });
      assert.deepEqual(lastCommand('bus create 2 bytes=2M'), { kind: 'busCreate', bus: 2, bytes: 2 * 1048576 });
      assert.deepEqual(lastCommand('bus create 2 bytes=0x10k'), { kind: 'busCreate', bus: 2, bytes: 16 * 1024 });
    });

    it('suffixes only where a byte count is expected, and no separators', () => {
      expectError('bus create 2 addr=64k', "bad number '64k'", 1, 19, 22);
      expectError('bus create 2 handle=1_000', "bad number '1_000'", 1, 21, 26);
      expectError('bus create 2 bytes=64m', "bad number '64m' (a size is a number, optionally followed by k or M, e.g. 64k)", 1, 20, 23);
    });

    it('range checks', () => {
      expectError('device state 2:0 0x10000', "segment state '0x10000' is too large (at most 0xffff)", 1, 18, 25);
      expectError('bus create 2 addr=9007199254740993', "value of addr= '9007199254740993' is too large (at most 2^53-1)", 1, 19, 35);
    });
  });

  describe('GUIDs', () => {
    it('aliases resolve to the channel type GUIDs', () => {
      const setup = 'bus create 2\n';
      for (const alias of ['vhba', 'vnic', 'keyboard', 'mouse', 'controlvm', 'vbus'] as const) {
        const c = lastCommand(`${setup}device create 2:0 type=${alias}`);
        assert.equal(c.kind === 'deviceCreate' && c.typeGuid, GUIDS[alias], alias);
      }
    });

    it('literal GUIDs are kept canonical lower-case, in every GUID option', () => {
      const c = lastCommand(
        'bus create 2 guid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\n' +
          'device create 2:0 type=414815ED-C58C-11DA-95A9-00E08161165F zone=00000000-0000-0000-0000-000000000001 ' +
          'chtype=vnic inst=12345678-1234-1234-1234-123456789abc partition=1 version=2 addr=0x2000',
      );
      assert.deepEqual(c, {
        kind: 'deviceCreate',
        device: { bus: 2, dev: 0 },
        typeGuid: GUIDS.vhba,
        addr: 0x2000,
        zoneGuid: '00000000-0000-0000-0000-000000000001',
        partition: 1,
        version: 2,
        headerTypeGuid: GUIDS.vnic,
        instanceGuid: '12345678-1234-1234-1234-123456789abc',
      });
      assert.deepEqual(commands('bus create 2 guid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE')[0], {
        kind: 'busCreate',
        bus: 2,
        partitionGuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      });
    });
  });

  describe('lexing', () => {
    it('# starts a comment, but not inside a quoted string', () => {
      const s = parse('# a whole-line comment\nlog "issue #42" # trailing\n   # indented comment\n');
      assert.deepEqual(s.diagnostics, []);
      assert.deepEqual(
        s.steps.map((st) => st.command),
        [{ kind: 'log', message: 'issue #42' }],
      );
      assert.equal(s.steps[0].loc.line, 2);
      assert.equal(s.steps[0].text, 'log "issue #42"');
      assert.deepEqual(lastCommand('bus create 2#comment'), { kind: 'busCreate', bus: 2 });
    });

    it('quoted strings take \\" \\\\ \\n \\t \\xNN escapes', () => {
      assert.deepEqual(lastCommand('log "say \\"hi\\"\\\\ \\n\\t\\x41"'), { kind: 'log', message: 'say "hi"\\ \n\tA' });
      assert.deepEqual(lastCommand('bus create 2 name="my bus"'), { kind: 'busCreate', bus: 2, name: 'my bus' });
    });

    it('CRLF line endings do not change line numbers, columns or values', () => {
      const s = parse('bus create 2\r\ndevice create 2:0 type=vhba\r\nbux\r\nlog "x"\r\n');
      assert.deepEqual(
        s.steps.map((st) => [st.loc.line, st.text]),
        [
          [1, 'bus create 2'],
          [2, 'device create 2:0 type=vhba'],
          [4, 'log "x"'],
        ],
      );
      assert.deepEqual(s.steps[1].loc, { line: 2, column: 1, endColumn: 28 });
      assert.deepEqual(
        s.diagnostics.map((d) => [d.line, d.column, d.endColumn]),
        [[3, 1, 4]],
      );
      assert.deepEqual(s.steps[2].command, { kind: 'log', message: 'x' });
    });

    it('a lone CR also ends a line; a BOM is ignored', () => {
      const s = parse('\ufeffbus create 2\rbus destroy 2');
      assert.deepEqual(s.diagnostics, []);
      assert.deepEqual(
        s.steps.map((st) => st.loc),
        [
          { line: 1, column: 1, endColumn: 13 },
          { line: 2, column: 1, endColumn: 14 },
        ],
      );
    });

    it('empty input and blank lines give no steps and no diagnostics', () => {
      assert.deepEqual(parse(''), { file: FILE, steps: [], diagnostics: [] });
      assert.deepEqual(parse('\n \t \n\n'), { file: FILE, steps: [], diagnostics: [] });
    });
  });

  describe('hostile input', () => {
    it('binary garbage: one diagnostic at 1:1 and no steps', () => {
      const withNul = parse('bus create 2\n\0\x01\x02garbage\nbus create 3');
      assert.deepEqual(withNul, {
        file: FILE,
        steps: [],
        diagnostics: [{ file: FILE, line: 1, column: 1, endColumn: 2, severity: 'error', message: 'not a scenario: the file looks binary' }],
      });
      let noise = '';
      for (let i = 0; i < 4096; i++) noise += String.fromCharCode(i % 3 === 0 ? 0x41 : 1 + (i % 30));
      const s = parse(noise);
      assert.equal(s.steps.length, 0);
      assert.deepEqual(
        s.diagnostics.map((d) => [d.line, d.column, d.message]),
        [[1, 1, 'not a scenario: the file looks binary']],
      );
    });

    it('a few control characters in text are line errors, not "binary"', () => {
      const s = parse('bus create 2\nlog a\x07b\nbus destroy 2');
      assert.deepEqual(
        s.diagnostics.map((d) => [d.line, d.message]),
        [[2, 'unexpected control character U+0007']],
      );
      assert.equal(s.steps.length, 2);
    });

    it('a 100 MB line gets one diagnostic and is skipped', () => {
      const huge = 'a'.repeat(100 * 1024 * 1024);
      const s = parse(`bus create 2\n${huge}\nbus destroy 2\n`);
      assert.equal(s.diagnostics.length, 1);
      const d = s.diagnostics[0];
      assert.equal(d.message, `line is too long (${100 * 1024 * 1024} bytes; at most 65536)`);
      assert.deepEqual([d.line, d.column, d.severity], [2, 1, 'error']);
      assert.deepEqual(
        s.steps.map((st) => st.loc.line),
        [1, 3],
      );
    });

    it('the limit is 65536 bytes of UTF-8', () => {
      const atLimit = 'log ' + 'a'.repeat(65536 - 4);
      assert.deepEqual(parse(atLimit).diagnostics, []);
      const under = 'log ' + '\u00e9'.repeat(32766); // 4 + 65532 bytes
      assert.deepEqual(parse(under).diagnostics, []);
      const d = oneDiag('log ' + '\u00e9'.repeat(32767)); // 4 + 65534 bytes
      assert.equal(d.message, 'line is too long (65538 bytes; at most 65536)');
    });

    it('stops listing problems after 1000, but keeps parsing valid lines', () => {
      const s = parse('bux\n'.repeat(1500) + 'bus create 2');
      assert.equal(s.diagnostics.length, 1001);
      assert.deepEqual(s.diagnostics[1000], {
        file: FILE,
        line: 1001,
        column: 1,
        endColumn: 2,
        severity: 'warning',
        message: 'too many problems; only the first 1000 are shown',
      });
      assert.deepEqual(
        s.steps.map((st) => st.loc.line),
        [1501],
      );
    });

    it('never throws and reports sane positions for arbitrary text', () => {
      const piece = fc.oneof(
        fc.string(),
        fc.constantFrom(
          'bus',
          'create',
          'device',
          '2:0',
          'type=vhba',
          'expect',
          '==',
          'echo',
          '>',
          '/sys/x',
          'memory',
          'write',
          'u64',
          'hex:',
          'hex:0',
          'signal',
          'insert',
          'queue=1',
          'controlvm',
          'wait',
          '10ms',
          'net',
          'send',
          'fault',
          '"',
          '\\',
          '#',
          '\n',
          '\r\n',
          ' ',
          'log',
          'counter',
          'disk',
          'attach',
          'lun=',
          'mouse',
          'move',
          '-',
        ),
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
          const text = parts.join(' ');
          const s = parseScenario(text, FILE);
          for (const d of s.diagnostics) {
            assert.ok(d.line >= 1 && d.column >= 1 && d.endColumn > d.column, formatDiagnostic(d));
            assert.ok(d.message.length > 0);
          }
          for (const st of s.steps) assert.ok(st.loc.endColumn > st.loc.column);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('commands', () => {
    const SETUP = 'bus create 2\n';

    it('chipset, driver and autoload', () => {
      assert.deepEqual(commands('chipset ready\nchipset selftest\nchipset stop\nautoload on\nautoload off'), [
        { kind: 'chipsetReady' },
        { kind: 'chipsetSelftest' },
        { kind: 'chipsetStop' },
        { kind: 'autoload', on: true },
        { kind: 'autoload', on: false },
      ]);
      assert.deepEqual(commands('driver load ./drivers/my.js\ndriver load mydrv.ts\ndriver load "dir/with space/x"\ndriver unload visornic'), [
        { kind: 'driverLoad', name: './drivers/my.js', isPath: true },
        { kind: 'driverLoad', name: 'mydrv.ts', isPath: true },
        { kind: 'driverLoad', name: 'dir/with space/x', isPath: true },
        { kind: 'driverUnload', name: 'visornic' },
      ]);
      expectError('autoload maybe', "unknown autoload setting 'maybe' (use on or off)", 1, 10, 15);
    });

    it('bus configure and device lifecycle commands', () => {
      assert.deepEqual(
        commands(
          SETUP +
            'bus configure 2 handle=0x10 name=io guid=vbus\ndevice configure 2:0\ndevice state 2:0 running\n' +
            'device state 2:0 standby\ndevice state 2:0 paused\ndevice state 2:0 0x33',
        ).slice(1),
        [
          { kind: 'busConfigure', bus: 2, handle: 16, name: 'io', partitionGuid: GUIDS.vbus },
          { kind: 'deviceConfigure', device: { bus: 2, dev: 0 } },
          { kind: 'deviceState', device: { bus: 2, dev: 0 }, state: 0xf7 },
          { kind: 'deviceState', device: { bus: 2, dev: 0 }, state: 0x73 },
          { kind: 'deviceState', device: { bus: 2, dev: 0 }, state: 0x77 },
          { kind: 'deviceState', device: { bus: 2, dev: 0 }, state: 0x33 },
        ],
      );
      assert.deepEqual(lastCommand('bus create 3 devcount=16'), { kind: 'busCreate', bus: 3, devCount: 16 });
      expectError(
        'device state 2:0 runing',
        "unknown device state 'runing' (did you mean 'running'? use running, standby, paused or a number like 0x77)",
        1,
        18,
        24,
      );
    });

    it('wait units (stored as microseconds, or jiffies)', () => {
      assert.deepEqual(commands('wait 250us\nwait 10ms\nwait 2s\nwait 5j\nwait 0ms'), [
        { kind: 'wait', amount: 250, unit: 'us' },
        { kind: 'wait', amount: 10_000, unit: 'us' },
        { kind: 'wait', amount: 2_000_000, unit: 'us' },
        { kind: 'wait', amount: 5, unit: 'jiffies' },
        { kind: 'wait', amount: 0, unit: 'us' },
      ]);
    });

    it('expect subjects: sysfs, device field, controlvm field, counter', () => {
      assert.deepEqual(
        commands(
          'expect 2:0.queue[0].num_sent == 5\nexpect controlvm.header.size >= 0x100\n' +
            'expect counter "disk 2:0 lun=0 reads" > 0\nexpect counter keys_pressed != 3\n' +
            'expect counter input "visor Keyboard".keys == 1\nexpect /sys/bus/visorbus/devices/vbus2:dev0/driver contains hba',
        ),
        [
          { kind: 'expect', subject: { kind: 'field', device: { bus: 2, dev: 0 }, field: 'queue[0].num_sent' }, op: '==', value: '5' },
          { kind: 'expect', subject: { kind: 'field', device: 'controlvm', field: 'header.size' }, op: '>=', value: '0x100' },
          { kind: 'expect', subject: { kind: 'counter', name: 'disk 2:0 lun=0 reads' }, op: '>', value: '0' },
          { kind: 'expect', subject: { kind: 'counter', name: 'keys_pressed' }, op: '!=', value: '3' },
          { kind: 'expect', subject: { kind: 'counter', name: 'input "visor Keyboard".keys' }, op: '==', value: '1' },
          { kind: 'expect', subject: { kind: 'sysfs', path: '/sys/bus/visorbus/devices/vbus2:dev0/driver' }, op: 'contains', value: 'hba' },
        ],
      );
    });

    it('expect values: rest of the line, quotes removed, escapes applied, "" only for == and !=', () => {
      assert.deepEqual(lastCommand('expect /sys/x == two words  # note'), {
        kind: 'expect',
        subject: { kind: 'sysfs', path: '/sys/x' },
        op: '==',
        value: 'two words',
      });
      assert.deepEqual(lastCommand('expect /sys/x == "a \\"q\\" # not a comment\\n"'), {
        kind: 'expect',
        subject: { kind: 'sysfs', path: '/sys/x' },
        op: '==',
        value: 'a "q" # not a comment\n',
      });
      assert.deepEqual(lastCommand('expect /sys/x != ""'), { kind: 'expect', subject: { kind: 'sysfs', path: '/sys/x' }, op: '!=', value: '' });
      expectError('expect /sys/x contains ""', "an empty value only works with == or != (not with 'contains')", 1, 24, 26);
      expectError('expect /sys/x ==', "missing value after '=='", 1, 15, 17);
      expectError('expect /sys/x is 1', "unknown comparison 'is' (use ==, !=, <, <=, >, >= or contains)", 1, 15, 17);
      expectError('expect /sys/x==1', "missing spaces around the comparison in '/sys/x==1' (write e.g. 'expect /sys/x == ...')", 1, 8, 17);
      expectError('expect /proc/x == 1', "sysfs path must start with /sys/, got '/proc/x'", 1, 8, 15);
      expectError('expect 2:0 == 1', "missing field after '2:0' (e.g. 2:0.header.size)", 1, 8, 11);
      expectError('expect x < y', "unknown expect subject 'x' (use a /sys/ path, BUS:DEV.FIELD, controlvm.FIELD or counter NAME)", 1, 8, 9);
      expectError('expect /sys/x < big', "'<' compares numbers, but 'big' is not a number", 1, 17, 20);
    });

    it('echo VALUE > PATH', () => {
      assert.deepEqual(commands('echo 5 > /sys/devices/platform/visorchipset/install/textid\necho "a b" >/sys/x\necho 1 2 > /sys/y'), [
        { kind: 'sysfsWrite', path: '/sys/devices/platform/visorchipset/install/textid', value: '5' },
        { kind: 'sysfsWrite', path: '/sys/x', value: 'a b' },
        { kind: 'sysfsWrite', path: '/sys/y', value: '1 2' },
      ]);
      expectError('echo 1 > /tmp/x', "sysfs path must start with /sys/, got '/tmp/x'", 1, 10, 16);
      expectError('echo 1', "missing '> PATH' for 'echo' (syntax: echo VALUE > /sys/PATH)", 1, 1, 5);
    });

    it('parahotplug and partition recover', () => {
      assert.deepEqual(commands('parahotplug 2:3 enable\nparahotplug 2:3 disable\npartition recover 0x2'), [
        { kind: 'parahotplug', device: { bus: 2, dev: 3 }, enable: true },
        { kind: 'parahotplug', device: { bus: 2, dev: 3 }, enable: false },
        { kind: 'partitionRecover', bus: 2 },
      ]);
    });

    it('controlvm send', () => {
      assert.deepEqual(lastCommand('controlvm send id=0x105 bus=2 dev=1 flags=2 status=0 handle=0x99 state=0xf7 size=128 payload=hex:00FF'), {
        kind: 'controlvmSend',
        id: 0x105,
        fields: { bus: 2, dev: 1, flags: 2, status: 0, handle: 0x99, state: 0xf7, size: 128, payload: '00ff' },
      });
      assert.ok(oneDiag('controlvm send bus=2').message.startsWith("missing argument id=... for 'controlvm send'"));
      const line = 'controlvm send id=1 colour=2';
      const d = oneDiag(line);
      assert.equal(
        d.message,
        "unknown option 'colour' for 'controlvm send' (expected one of: id, bus, dev, flags, status, handle, state, size, payload, payload_bytes)",
      );
      assert.deepEqual([d.column, d.endColumn], range(line, 'colour'));
    });

    it('signal insert and remove', () => {
      assert.deepEqual(commands('signal insert 2:0 queue=1 "hi\\xff"\nsignal insert controlvm queue=2 hex:0011aa\nsignal remove 2:0 queue=0'), [
        { kind: 'signalInsert', device: { bus: 2, dev: 0 }, queue: 1, data: bytes(0x68, 0x69, 0xff) },
        { kind: 'signalInsert', device: 'controlvm', queue: 2, data: bytes(0x00, 0x11, 0xaa) },
        { kind: 'signalRemove', device: { bus: 2, dev: 0 }, queue: 0 },
      ]);
      expectError('signal insert 2:0 queue=1 hex:0g', "bad hex digit 'g' in 'hex:0g'", 1, 32, 33);
      expectError('signal insert 2:0 queue=1 hex:001', "odd number of hex digits in 'hex:001' (write two digits per byte)", 1, 27, 34);
      assert.ok(oneDiag('signal remove 2:0').message.startsWith("missing argument queue=... for 'signal remove'"));
    });

    it('memory write: targets and data forms (little-endian integers)', () => {
      assert.deepEqual(
        commands(
          'memory write 0x1000 hex:4543\nmemory write 2:0+0x40 u32 7\nmemory write controlvm+8 u16 0x1234\n' +
            'memory write 2:0+0 u8 255\nmemory write 2:0+0 u64 0x0102030405060708\nmemory write 2:0+1 "AB"',
        ),
        [
          { kind: 'memoryWrite', target: { address: 0x1000 }, data: bytes(0x45, 0x43) },
          { kind: 'memoryWrite', target: { device: { bus: 2, dev: 0 }, offset: 0x40 }, data: bytes(7, 0, 0, 0) },
          { kind: 'memoryWrite', target: { device: 'controlvm', offset: 8 }, data: bytes(0x34, 0x12) },
          { kind: 'memoryWrite', target: { device: { bus: 2, dev: 0 }, offset: 0 }, data: bytes(255) },
          { kind: 'memoryWrite', target: { device: { bus: 2, dev: 0 }, offset: 0 }, data: bytes(8, 7, 6, 5, 4, 3, 2, 1) },
          { kind: 'memoryWrite', target: { device: { bus: 2, dev: 0 }, offset: 1 }, data: bytes(0x41, 0x42) },
        ],
      );
      const max = lastCommand('memory write 0 u64 18446744073709551615');
      assert.deepEqual(max.kind === 'memoryWrite' && max.data, new Uint8Array(8).fill(0xff));
      expectError('memory write 0 u8 256', "value '256' does not fit in u8 (at most 0xff)", 1, 19, 22);
      expectError('memory write 2:0 u8 1', "missing offset in '2:0' (write 2:0+OFFSET, e.g. 2:0+0x40)", 1, 14, 17);
    });

    it('disk back-end', () => {
      assert.deepEqual(commands('disk 2:0 attach lun=0 image="disks/a b.img" size=64M\ndisk 2:0 read lun=0 lba=8 count=2\n' + 'disk 2:0 flush lun=1'), [
        {
          kind: 'backend',
          family: 'disk',
          device: { bus: 2, dev: 0 },
          verb: 'attach',
          positional: [],
          options: { lun: 0, image: 'disks/a b.img', size: 64 * 1048576 },
        },
        { kind: 'backend', family: 'disk', device: { bus: 2, dev: 0 }, verb: 'read', positional: [], options: { lun: 0, lba: 8, count: 2 } },
        { kind: 'backend', family: 'disk', device: { bus: 2, dev: 0 }, verb: 'flush', positional: [], options: { lun: 1 } },
      ]);
      const w = lastCommand('disk 2:0 write lun=0 lba=1 hex:00ff');
      assert.deepEqual(w, {
        kind: 'backend',
        family: 'disk',
        device: { bus: 2, dev: 0 },
        verb: 'write',
        positional: ['hex:00ff'],
        options: { lun: 0, lba: 1 },
        data: bytes(0, 0xff),
      });
      assert.deepEqual(dataOf(lastCommand('disk 2:0 write lun=0 lba=1 "ab"')), utf8('ab'));
      assert.ok(oneDiag('disk 2:0 read lun=0 lba=0').message.startsWith("missing argument count=... for 'disk read'"));
      expectError(
        'disk 2:0 attach lun=0 image=x.img bogus=1',
        "unknown option 'bogus' for 'disk attach' (expected one of: lun, id, image, size, readonly, vendor, model)",
        1,
        35,
        40,
      );
    });

    it('net back-end', () => {
      const dev = { bus: 2, dev: 1 };
      assert.deepEqual(
        commands('net 2:1 xmit "frame"\nnet 2:1 link up\nnet 2:1 link down\nnet 2:1 open\nnet 2:1 close').map(
          (c) => c.kind === 'backend' && [c.verb, c.positional],
        ),
        [
          ['xmit', ['frame']],
          ['link', ['up']],
          ['link', ['down']],
          ['open', []],
          ['close', []],
        ],
      );
      assert.deepEqual(lastCommand('net 2:1 send hex:ffff'), {
        kind: 'backend',
        family: 'net',
        device: dev,
        verb: 'send',
        positional: ['hex:ffff'],
        options: {},
        data: bytes(0xff, 0xff),
      });
      expectError('net 2:1 link sideways', "unknown link state 'sideways' (use up or down)", 1, 14, 22);
      expectError('net 2:1 send plain', 'bad data \'plain\' (use a "quoted string" or hex:0011aa...)', 1, 14, 19);
    });

    it('keyboard, mouse and input back-ends', () => {
      const kb = (v: string, p: (string | number)[]): Command => ({
        kind: 'backend',
        family: 'keyboard',
        device: { bus: 2, dev: 2 },
        verb: v,
        positional: p,
        options: {},
      });
      assert.deepEqual(commands('keyboard 2:2 type "Hi!"\nkeyboard 2:2 press leftshift\nkeyboard 2:2 release f1\nkeyboard 2:2 tap 0x1c'), [
        kb('type', ['Hi!']),
        kb('press', ['leftshift']),
        kb('release', ['f1']),
        kb('tap', [0x1c]),
      ]);
      const ms = (v: string, p: (string | number)[]): Command => ({
        kind: 'backend',
        family: 'mouse',
        device: { bus: 2, dev: 3 },
        verb: v,
        positional: p,
        options: {},
      });
      assert.deepEqual(
        commands('mouse 2:3 move -5 10\nmouse 2:3 click\nmouse 2:3 dclick right\nmouse 2:3 down middle\nmouse 2:3 up left\nmouse 2:3 wheel -3'),
        [ms('move', [-5, 10]), ms('click', []), ms('dclick', ['right']), ms('down', ['middle']), ms('up', ['left']), ms('wheel', [-3])],
      );
      assert.deepEqual(
        commands('input 2:2 open\ninput 2:2 close').map((c) => c.kind === 'backend' && c.verb),
        ['open', 'close'],
      );
      expectError('mouse 2:3 click lefft', "unknown mouse button 'lefft' (did you mean 'left'? use left, right or middle)", 1, 17, 22);
      expectError('mouse 2:3 move 1', "missing Y for 'mouse move' (syntax: mouse BUS:DEV move X Y)", 1, 1, 15);
    });

    it('an unknown key name is a warning and the step still runs', () => {
      const s = parse('keyboard 2:2 press entr');
      assert.deepEqual(s.diagnostics, [
        { file: FILE, line: 1, column: 20, endColumn: 24, severity: 'warning', message: "unknown key name 'entr' (did you mean 'enter'?)" },
      ]);
      assert.equal(s.steps.length, 1);
    });

    it('fault kinds take free-form options (numbers parsed)', () => {
      assert.deepEqual(lastCommand('fault 2:0 medium-error lun=0 count=0x2 mode=once'), {
        kind: 'backend',
        family: 'fault',
        device: { bus: 2, dev: 0 },
        verb: 'medium-error',
        positional: [],
        options: { lun: 0, count: 2, mode: 'once' },
      });
      for (const k of ['lost-response', 'backend-error', 'timeout', 'drop-frame', 'queue-full']) {
        const c = lastCommand(`fault 2:0 ${k}`);
        assert.equal(c.kind === 'backend' && c.verb, k);
      }
    });

    it('log takes a quoted message or the rest of the line', () => {
      assert.deepEqual(commands('log "hello world"\nlog hello   world'), [
        { kind: 'log', message: 'hello world' },
        { kind: 'log', message: 'hello   world' },
      ]);
    });
  });

  describe('the COMMANDS catalog', () => {
    /** Expand a snippet with its default choices: ${1:x} -> x, ${1|a,b|} -> a, $1 -> ''. */
    function expand(snippet: string): string {
      return snippet
        .replace(/\$\{\d+\|([^,|]*)[^}]*\|\}/g, '$1')
        .replace(/\$\{\d+:([^}]*)\}/g, '$1')
        .replace(/\$\d+/g, '');
    }

    it('every entry has a name, a syntax line, a description and a snippet', () => {
      assert.ok(COMMANDS.length >= 40);
      const names = new Set<string>();
      for (const c of COMMANDS) {
        assert.ok(!names.has(c.name), `duplicate ${c.name}`);
        names.add(c.name);
        const [word] = c.name.split(' ');
        assert.ok(c.syntax.startsWith(word + ' '), `${c.name}: syntax '${c.syntax}'`);
        assert.ok(c.snippet.startsWith(word), `${c.name}: snippet '${c.snippet}'`);
        assert.ok(c.description.length > 5, c.name);
      }
    });

    it('covers every command and verb', () => {
      const names = COMMANDS.map((c) => c.name);
      for (const n of [
        'chipset init',
        'chipset ready',
        'chipset selftest',
        'chipset stop',
        'driver load',
        'driver unload',
        'autoload',
        'bus create',
        'bus configure',
        'bus destroy',
        'device create',
        'device destroy',
        'device pause',
        'device resume',
        'device configure',
        'device state',
        'partition recover',
        'wait',
        'expect',
        'echo',
        'parahotplug',
        'controlvm send',
        'signal insert',
        'signal remove',
        'memory write',
        'disk attach',
        'disk read',
        'disk write',
        'disk flush',
        'net send',
        'net xmit',
        'net link',
        'net open',
        'net close',
        'keyboard type',
        'keyboard press',
        'keyboard release',
        'keyboard tap',
        'mouse move',
        'mouse click',
        'mouse dclick',
        'mouse down',
        'mouse up',
        'mouse wheel',
        'input open',
        'input close',
        'fault',
        'log',
      ]) {
        assert.ok(names.includes(n), `COMMANDS lacks '${n}'`);
      }
    });

    it('every snippet, expanded with its defaults, parses cleanly into one step', () => {
      for (const c of COMMANDS) {
        const line = expand(c.snippet);
        const s = parse('bus create 2\n' + line);
        assert.deepEqual(s.diagnostics, [], `${c.name}: '${line}'`);
        assert.equal(s.steps.length, 2, `${c.name}: '${line}'`);
      }
    });

    it('the syntax line names every option the parser accepts', () => {
      const dc = COMMANDS.find((c) => c.name === 'device create');
      assert.equal(dc?.syntax, 'device create BUS:DEV type=GUID|alias [bytes=N] [addr=N] [zone=GUID] [partition=N] [version=N] [chtype=GUID] [inst=GUID]');
      for (const opt of ['bytes', 'addr', 'zone', 'partition', 'version', 'chtype', 'inst']) {
        assert.ok(dc?.syntax.includes(`[${opt}=`), opt);
      }
    });
  });
});
