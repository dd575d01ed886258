/**
 * What the Debug Console says back: log lines the run prints again after a step back are marked
 * "[replayed]" (the first time they are not), a mistyped command is called an unknown command with
 * the nearest word, and hovering a driver callback's device parameter (`dev` in `probe(dev)`) shows
 * the device instead of its `dev` field.
 */
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { useClient, VisorClient, fixture } from './helpers/client';

describe('DAP console: replayed output, unknown commands, device hovers', function () {
  this.timeout(60000);
  let dc: VisorClient;
  useClient((c) => (dc = c));

  const next = () => dc.nextLine();
  const back = async () => (await dc.backLine()).line;

  /** The kernel log (stdout) and uevent (console) lines received after `from` events. */
  const linesSince = (from: number) =>
    dc.received
      .slice(from)
      .filter((e) => e.event === 'output' && ['stdout', 'console'].includes((e.body as DebugProtocol.OutputEvent['body']).category ?? ''))
      .map((e) => (e.body as DebugProtocol.OutputEvent['body']).output)
      .join('')
      .split('\n')
      .filter(Boolean);

  for (const checkpoints of [2, 0]) {
    it(`log lines printed again after a step back are marked [replayed] (checkpoints: ${checkpoints})`, async () => {
      await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true, checkpoints });
      await dc.stopped();
      const start = dc.received.length;
      let line = 2;
      while (line < 7) line = await next(); // past `device create 2:0`
      const first = linesSince(start);
      assert.ok(first.some((l) => /registered driver echodrv/.test(l)) && first.some((l) => /uevent: bind .*vbus2:dev0/.test(l)), first.join(' | '));
      assert.ok(
        first.every((l) => !l.includes('[replayed]')),
        'nothing is marked the first time',
      );
      while (line > 3) line = await back();
      const again = dc.received.length;
      while (line < 7) line = await next();
      const replayed = linesSince(again);
      const originals = new Set(first);
      const marked = replayed.filter((l) => l.startsWith('[replayed] '));
      assert.ok(marked.length >= 3, `the lines are printed again, marked: ${replayed.join(' | ')}`);
      for (const l of marked) assert.ok(originals.has(l.slice('[replayed] '.length)), `the same line as before: ${l}`);
      for (const l of replayed) assert.ok(l.startsWith('[replayed] ') || !originals.has(l), `printed again without the marker: ${l}`);
      // past the furthest point reached, lines are new again
      const beyond = dc.received.length;
      while (line < 14) line = await next(); // `device create 2:1`: new uevents
      const fresh = linesSince(beyond);
      assert.ok(
        fresh.some((l) => /^uevent: add .*vbus2:dev1/.test(l)),
        `new lines beyond the furthest stop, unmarked: ${fresh.join(' | ')}`,
      );
      assert.ok(
        fresh.every((l) => !l.includes('[replayed]')),
        `new lines unmarked: ${fresh.join(' | ')}`,
      );
    });
  }

  it('a mistyped command is an unknown command with a suggestion; expressions still work', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor'), stopOnEntry: true });
    await dc.stopped();
    while ((await next()) < 7);
    const err = (e: string) =>
      dc.evaluate(e).then(
        (r) => `no error: ${r.result}`,
        (x: Error) => x.message,
      );
    assert.match(await err('frobnicate'), /^unknown command 'frobnicate' \(help lists the commands and fields\)$/);
    assert.match(await err('lss'), /^unknown command 'lss' — did you mean 'ls'\?/);
    assert.match(await err('devcie pause 2:0'), /^unknown command 'devcie' — did you mean 'device'\?/);
    assert.doesNotMatch(await err('frobnicate'), /needs a device/);
    // fields, globals, devices and commands are not mistaken for typos
    assert.match((await dc.evaluate('jiffies')).result, /^\d+$/);
    assert.equal((await dc.evaluate('2:0.state')).result, '"running"');
    assert.match((await dc.evaluate('vbus2:dev0.queue[0].pending')).result, /^\d+$/);
    assert.match((await dc.evaluate('2:0')).result, /vbus2:dev0/);
    assert.match((await dc.evaluate('ls /sys/bus/visorbus/devices')).result, /vbus2:dev0/);
    assert.match(await err('state'), /needs a device/, 'a field without a device still says what it needs');
  });

  it('hovering `dev` in a driver callback shows the device, expandable', async () => {
    await dc.launchWith({ scenario: fixture('echo.visor') }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'echodrv.probe' }] }));
    const stop = await dc.stopped();
    const frame = (await dc.frames(stop.body.threadId!)).find((f) => /echo\.js$/.test(f.source?.path ?? ''));
    assert.ok(frame, 'a frame in the driver source');
    const hover = await dc.evaluate('dev', frame.id, 'hover');
    assert.match(hover.result, /^vbus2:dev0 /, `the device, not its number: ${hover.result}`);
    assert.ok(hover.variablesReference > 0, 'expandable');
    const vars = (await dc.variablesRequest({ variablesReference: hover.variablesReference })).body.variables;
    assert.ok(
      vars.some((v) => v.name === 'state'),
      vars.map((v) => v.name).join(', '),
    );
    // other words are not the device; the console's `dev` field keeps its meaning
    assert.equal((await dc.evaluate('dev', frame.id, 'repl')).result, '0');
    assert.equal((await dc.evaluate('bus', frame.id, 'hover')).result, '2');
  });
});
