/**
 * The walkthrough's completion events are ones VS Code acts on (an unknown one, such as
 * `onDebug` or `onLanguage:visor`, is dropped with a console error and its step never ticks),
 * and what they name exists: contributed commands and views, context keys the extension sets.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const walkthroughSource = fs.readFileSync(path.join(ROOT, 'src/extension/features/walkthrough.ts'), 'utf8');

/** The event types of VS Code 1.100's walkthrough service (gettingStartedService registerDoneListeners). */
const KNOWN = [
  'onCommand',
  'onView',
  'onContext',
  'onLink',
  'onEvent',
  'onSettingChanged',
  'onExtensionInstalled',
  'extensionInstalled',
  'onStepSelected',
  'stepSelected',
];
/** Context keys the workbench itself sets, which a step may wait for. */
const WORKBENCH_KEYS = ['debugType'];

describe('walkthrough completion events', () => {
  const steps: { id: string; completionEvents: string[] }[] = pkg.contributes.walkthroughs.flatMap((w: { steps: unknown[] }) => w.steps);
  const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
  const views = new Set(
    Object.values(pkg.contributes.views as Record<string, { id: string }[]>)
      .flat()
      .map((v) => v.id),
  );

  it('every step has completion events, all of a kind VS Code knows', () => {
    assert.ok(steps.length >= 5);
    for (const s of steps) {
      assert.ok(s.completionEvents.length, `${s.id} has completion events`);
      for (const e of s.completionEvents) assert.ok(KNOWN.includes(e.split(':')[0]), `${s.id}: '${e}' is not a walkthrough completion event`);
    }
  });

  it('the commands, views and context keys they name exist', () => {
    for (const s of steps) {
      for (const e of s.completionEvents) {
        const [kind, arg] = [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)];
        if (kind === 'onCommand') assert.ok(commands.has(arg), `${s.id}: command ${arg}`);
        if (kind === 'onView') assert.ok(views.has(arg), `${s.id}: view ${arg}`);
        if (kind === 'onContext') {
          const key = arg.split(/\s/)[0];
          assert.ok(WORKBENCH_KEYS.includes(key) || walkthroughSource.includes(`'${key}'`), `${s.id}: context key ${key} is set by the extension`);
        }
      }
    }
  });
});
