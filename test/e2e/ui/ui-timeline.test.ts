// UI tests of time travel, as a user does it: run the example scenario to its end, look at a
// device there, step back twice with the toolbar, open the Timeline and click a probe landmark;
// the call stack, the editor and Buses & Devices move to that probe.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as path from 'path';
import { shootFailures, Workbench } from './lib/workbench';

const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');

suite('UI: the end of a run and the timeline (real emulator)', function () {
  this.timeout(180000);
  let wb: Workbench;

  suiteSetup(async () => {
    wb = await Workbench.open(WORKSPACE, 'timeline');
    await wb.openScenario('devices.visor', 'chipset init');
  });
  suiteTeardown(() => wb?.close());
  shootFailures(() => wb);

  test('the run stops at its end and a device can be inspected there', async () => {
    const page = wb.page;
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5');
    await wb.pausedOn(/(paused|stopped) on entry/i);
    // Continue until the end (the other UI suite may have left a breakpoint on a probe in this workspace).
    const stack = wb.pane('Call Stack');
    for (let i = 0; i < 3 && !(await stack.getByText(/Scenario finished/).count()); i++) {
      await page.keyboard.press('F5');
      await stack
        .getByText(/Scenario finished|breakpoint/i)
        .first()
        .waitFor();
    }
    await wb.pausedOn(/Scenario finished/);
    await page
      .locator('.statusbar-item', { hasText: /visorbus .* · finished/ })
      .first()
      .waitFor();
    await wb.palette('View: Show Visorbus');
    await wb.expandPane('Buses & Devices');
    const devices = wb.pane('Buses & Devices');
    await wb.row('vbus2:dev2', devices).waitFor();
    await wb.contextMenu(wb.row('vbus2:dev0', devices), 'Open Channel Inspector');
    await wb.webview().locator('tr[data-field="signature"]', { hasText: 'ECNL' }).first().waitFor();
    await wb.screenshot('end-of-run-inspector');
    await page.keyboard.press('Control+W'); // close the inspector
  });

  test('step back twice from the end with the toolbar', async () => {
    // Closing the inspector's webview leaves the keyboard focus nowhere: give it back to the editor first.
    await wb.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await wb.palette('View: Show Run and Debug');
    const stack = wb.pane('Call Stack');
    const stepBack = wb.page.locator('.debug-toolbar .action-item .codicon-debug-step-back').first();
    await stepBack.click();
    await wb.row(/line 24: wait 10ms/, stack).waitFor();
    await stepBack.click();
    await wb.row(/line 23: device resume 2:1/, stack).waitFor();
    await wb.screenshot('stepped-back-twice');
  });

  test('clicking a probe landmark in the Timeline moves the call stack, the editor and the tree there', async () => {
    await wb.palette('View: Show Visorbus');
    await wb.expandPane('Timeline');
    const timeline = wb.pane('Timeline');
    await wb.row(/line 5: chipset init/, timeline).waitFor();
    // Narrow the list to one device with the view's text filter.
    await wb.palette('Visorbus: Filter Timeline by Text', /Filter Timeline by Text/);
    const input = wb.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('vbus2:dev0');
    await wb.page.keyboard.press('Enter');
    await wb.row(/line 5: chipset init/, timeline).waitFor({ state: 'detached' });
    const probe = wb.row('visorhba.probe(vbus2:dev0)', timeline);
    await probe.waitFor();
    await probe.click();
    // The editor opens the driver's source at the probe; the tree shows the devices of that moment.
    await wb.page.locator('.tabs-container .tab', { hasText: 'visorhba.ts' }).first().waitFor();
    const devices = wb.pane('Buses & Devices');
    await wb.row('vbus2:dev0', devices).waitFor();
    await wb.row('vbus2:dev2', devices).waitFor({ state: 'detached' });
    await wb.screenshot('timeline-goto-probe');
    await wb.palette('View: Show Run and Debug');
    await wb.pausedOn(/Went to event \d+: visorhba\.probe\(vbus2:dev0\)/);
    await wb.row(/visorhba\.probe\(vbus2:dev0\)/, wb.pane('Call Stack')).waitFor();
    await wb.page.keyboard.press('Shift+F5');
    await wb.page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
