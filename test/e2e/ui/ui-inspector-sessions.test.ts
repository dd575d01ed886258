// UI test: a channel inspector tab across sessions, as the user sees it: it says "no session" with
// the old values greyed out when the session ends, and shows the channel again after a new F5.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import * as path from 'path';
import { shootFailures, Workbench } from './lib/workbench';

const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');

suite('UI: the channel inspector across sessions', function () {
  this.timeout(180000);
  let wb: Workbench;

  suiteSetup(async () => {
    wb = await Workbench.open(WORKSPACE, 'inspector-sessions');
    await wb.openScenario('devices.visor', 'chipset init');
  });
  suiteTeardown(() => wb?.close());
  shootFailures(() => wb);

  async function f5(): Promise<void> {
    await wb.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await wb.page.keyboard.press('F5');
    await wb.pausedOn(/(paused|stopped) on entry/i);
  }

  test('the controlvm inspector shows the channel while stopped', async () => {
    await f5();
    await wb.palette('Visorbus: Open Channel Inspector');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'controlvm' }).first().click();
    const frame = wb.webview();
    await frame.locator('tr[data-field="signature"]').first().waitFor();
    await frame.locator('#status', { hasText: /^stopped/ }).waitFor();
    assert.strictEqual(await frame.locator('body.stale').count(), 0);
  });

  test('when the session ends the tab says "no session" and greys out the old values', async () => {
    await wb.page.keyboard.press('Shift+F5');
    await wb.page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
    const frame = wb.webview();
    await frame.locator('#status', { hasText: /^no session$/ }).waitFor();
    await frame.locator('body.stale').waitFor({ state: 'attached' });
    assert.match(await frame.locator('#notice').innerText(), /No visorbus debug session\. The values below are from the session that ended/);
    assert.doesNotMatch(await frame.locator('#status').innerText(), /running|stopped/);
    await wb.screenshot('inspector-no-session');
  });

  test('a new F5 fills the same tab again', async () => {
    const frame = wb.webview();
    await wb.page.locator('.tab', { hasText: 'devices.visor' }).first().click();
    await wb.page.locator('.editor-instance .monaco-editor .codelens-decoration', { hasText: 'Debug' }).first().waitFor();
    await f5();
    await frame.locator('#status', { hasText: /^stopped/ }).waitFor();
    assert.strictEqual(await wb.page.locator('.tab', { hasText: 'Channel controlvm' }).count(), 1, 'one tab');
    await frame.locator('tr[data-field="signature"]').first().waitFor();
    assert.strictEqual(await frame.locator('body.stale').count(), 0, 'live again');
    await wb.screenshot('inspector-reattached');
    await wb.page.keyboard.press('Shift+F5');
    await wb.page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
