// UI test: the "Get started with Visorbus Studio" walkthrough ticks its steps as the user does
// them — opening a scenario, Run Scenario from the palette, F5 (a visorbus debug session, not a
// Visorbus command), the Visorbus views, the channel inspector. A step's checkbox is the
// `aria-checked` of its button in the walkthrough page. A fresh browser profile starts with no
// step done.
import * as path from 'path';
import { shootFailures, Workbench } from './lib/workbench';

const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');

suite('UI: the walkthrough ticks its steps', function () {
  this.timeout(240000);
  let wb: Workbench;

  /** The walkthrough step's button (its id ends with #STEP). */
  const step = (id: string, done: boolean) => wb.page.locator(`button.getting-started-step[data-step-id$="#${id}"][aria-checked="${done}"]`);

  /** Open the walkthrough from the palette (opening a file may have replaced its tab). */
  const showWalkthrough = async () => {
    await wb.palette('Welcome: Open Walkthrough', /Open Walkthrough/);
    await wb.row('Get started with Visorbus Studio', wb.page.locator('.quick-input-widget')).click();
  };

  suiteSetup(async () => {
    wb = await Workbench.open(WORKSPACE, 'walkthrough');
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).waitFor();
  });
  suiteTeardown(() => wb?.close());
  shootFailures(() => wb);

  test('the walkthrough opens with no step done', async () => {
    await showWalkthrough();
    for (const id of ['newScenario', 'debug', 'views', 'inspect', 'run']) await step(id, false).waitFor();
    await wb.screenshot('walkthrough-fresh');
  });

  test('opening a scenario ticks "Write a scenario"; Run Scenario from the palette ticks "Run headless"', async () => {
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).dblclick();
    await wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'chipset init' }).first().waitFor();
    await wb.palette('Visorbus: Run Scenario');
    await wb.page
      .locator('.statusbar-item', { hasText: /devices\.visor passed/ })
      .first()
      .waitFor({ timeout: 120000 });
    await showWalkthrough();
    await step('newScenario', true).waitFor();
    await step('run', true).waitFor();
    await step('debug', false).waitFor();
  });

  test('F5 ticks "Debug it"; the Visorbus views tick "Watch the bus"; the inspector ticks "Inspect a channel"', async () => {
    await wb.page.locator('.tabs-container .tab', { hasText: 'devices.visor' }).first().click();
    await wb.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await wb.page.keyboard.press('F5');
    await wb.pausedOn(/(paused|stopped) on entry/i);
    await wb.palette('View: Show Visorbus');
    await wb.palette('Visorbus: Open Channel Inspector');
    await wb.row('controlvm', wb.page.locator('.quick-input-widget')).click();
    await wb.page
      .locator('.tabs-container .tab', { hasText: /Channel/ })
      .first()
      .waitFor();
    // The inspector's webview has the keyboard focus: give it back to the editor for F1.
    await wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'chipset init' }).first().click();
    await showWalkthrough();
    for (const id of ['debug', 'views', 'inspect']) await step(id, true).waitFor();
    await wb.screenshot('walkthrough-done');
    await wb.page.keyboard.press('Shift+F5');
    await wb.page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
