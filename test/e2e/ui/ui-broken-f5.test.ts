// UI test: F5 on a scenario with a syntax error, as a newcomer presses it (no launch.json): no modal,
// no launch.json created, a non-modal error naming the file and line, and the error in Problems.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { shootFailures, Workbench } from './lib/workbench';

const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');
const BROKEN = path.join(WORKSPACE, 'broken.visor');
const LAUNCH_JSON = path.join(WORKSPACE, '.vscode', 'launch.json');

suite('UI: F5 on a scenario with a syntax error', function () {
  this.timeout(180000);
  let wb: Workbench;

  suiteSetup(async () => {
    fs.writeFileSync(BROKEN, 'chipset init\nbus create 2 name=io\ndevice crate 2:0 type=vhba\n');
    assert.ok(!fs.existsSync(LAUNCH_JSON), 'the workspace starts without a launch.json');
    wb = await Workbench.open(WORKSPACE, 'broken-f5');
    await wb.openScenario('broken.visor', 'device crate');
  });
  suiteTeardown(async () => {
    await wb?.close();
    fs.rmSync(BROKEN, { force: true });
  });
  shootFailures(() => wb);

  test('F5 shows the error with file and line, no modal and no launch.json', async () => {
    const page = wb.page;
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5');
    const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: /cannot debug broken\.visor: line 3: unknown subcommand 'crate'/ });
    await toast.waitFor();
    await wb.screenshot('broken-f5-message');
    assert.strictEqual(await page.locator('.monaco-dialog-box').count(), 0, 'no modal dialog');
    assert.strictEqual(await page.locator('.debug-toolbar').isVisible(), false, 'no debug session started');
    // the Problems view lists the error (the squiggle's diagnostic)
    await toast.getByRole('button', { name: 'Show Problems' }).click();
    await page
      .locator('.markers-panel .monaco-list-row', { hasText: /unknown subcommand 'crate'/ })
      .first()
      .waitFor();
    await wb.screenshot('broken-f5-problems');
    assert.ok(!fs.existsSync(LAUNCH_JSON), 'no .vscode/launch.json was created');
  });
});
