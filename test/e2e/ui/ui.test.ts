// UI tests: the VSIX installed into a fresh code-server (VS Code 1.100.3), driven in Debian's
// Chromium with playwright-core, as a user would: open the example workspace, F5 on a scenario,
// watch Buses & Devices, stop at a probe breakpoint, open the channel inspector.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import * as path from 'path';
import { shootFailures, Workbench } from './lib/workbench';

const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');

suite('UI: debugging the example scenario (real emulator)', function () {
  this.timeout(180000);
  let wb: Workbench;

  suiteSetup(async () => {
    wb = await Workbench.open(WORKSPACE, 'ui');
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).waitFor();
  });
  suiteTeardown(() => wb?.close());
  shootFailures(() => wb);

  test('the scenario opens with visor highlighting and the Run | Debug CodeLens', async () => {
    const page = wb.page;
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).click();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: 'chipset init' }).waitFor();
    await editor.locator('.codelens-decoration', { hasText: 'Run' }).waitFor();
    await editor.locator('.codelens-decoration', { hasText: 'Debug' }).waitFor();
    // the grammar colours "chipset" (keyword) differently from a comment
    const keyword = editor.locator('.view-line span span', { hasText: /^chipset$/ }).first();
    const comment = editor.locator('.view-line span span', { hasText: /^#.The.bus.layout/ }).first();
    assert.notStrictEqual(await keyword.getAttribute('class'), await comment.getAttribute('class'), 'keyword and comment tokens differ');
    await page.locator('.statusbar-item', { hasText: 'Visorbus Scenario' }).first().waitFor();
    await wb.screenshot('scenario-editor');
  });

  test('F5 on the open scenario starts the visorbus debugger, stopped on entry', async () => {
    const page = wb.page;
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5');
    await page.locator('.debug-toolbar').waitFor();
    await wb.pausedOn(/(paused|stopped) on entry/i);
    await page
      .locator('.statusbar-item', { hasText: /visorbus .* · stopped/ })
      .first()
      .waitFor();
    await wb.screenshot('debug-stopped-on-entry');
  });

  test('a function breakpoint on vbus2:dev0.probe stops in the driver; Buses & Devices fills', async () => {
    await wb.addFunctionBreakpoint('vbus2:dev0.probe');
    await wb.page.keyboard.press('F5'); // continue
    await wb.pausedOn(/function breakpoint/i);
    await wb.row(/probe/, wb.page.locator('.debug-call-stack')).waitFor();
    await wb.screenshot('breakpoint-on-probe');

    await wb.palette('View: Show Visorbus');
    await wb.expandPane('Buses & Devices');
    const devices = wb.pane('Buses & Devices');
    for (const name of ['visorbus1', 'vbus1:dev1', 'vbus1:dev2', 'vbus1:dev3', 'visorbus2', 'vbus2:dev0']) {
      await wb.row(name, devices).waitFor();
    }
    await wb.row('vbus2:dev0', devices).locator('.label-description', { hasText: 'visorhba' }).waitFor();
    await wb.expandPane('Function Drivers');
    await wb.row('visorhba', wb.pane('Function Drivers')).waitFor();
    await wb.screenshot('buses-and-devices');
  });

  test('the channel inspector of vbus2:dev0 shows the decoded header (signature ECNL)', async () => {
    await wb.contextMenu(wb.row('vbus2:dev0', wb.pane('Buses & Devices')), 'Open Channel Inspector');
    const frame = wb.webview();
    const signature = frame.locator('tr[data-field="signature"]').first();
    await signature.waitFor();
    assert.match(await signature.innerText(), /ECNL/);
    await signature.hover();
    await frame.locator('.byte.hl').nth(7).waitFor(); // the 8 bytes of the signature are highlighted
    assert.strictEqual(await frame.locator('.byte.hl').count(), 8);
    await frame.locator('svg.ring').first().waitFor();
    await wb.screenshot('channel-inspector');
  });

  test('stopping the session ends it (toolbar gone)', async () => {
    await wb.page.keyboard.press('Shift+F5');
    await wb.page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
