// UI tests: the VSIX installed into a fresh code-server (VS Code 1.100.3), driven in Debian's
// Chromium with playwright-core, as a user would: open the example workspace, F5 on a scenario,
// watch Buses & Devices, stop at a probe breakpoint, open the channel inspector.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import * as path from 'path';
import { Browser, chromium, FrameLocator, Locator, Page } from 'playwright-core';

const URL_ = process.env.E2E_URL ?? 'http://127.0.0.1:8080';
const WORKSPACE = process.env.E2E_WORKSPACE ?? path.resolve(__dirname, '../../../examples/workspace');
const SHOTS = process.env.E2E_SHOTS ?? path.resolve(__dirname, '../../../test-output/e2e');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

suite('UI: Visorbus Studio in VS Code (code-server + Chromium)', function () {
  this.timeout(180000);
  let browser: Browser;
  let page: Page;
  let shot = 0;

  async function screenshot(name: string): Promise<void> {
    await page.waitForTimeout(400); // let animations (toasts, view transitions) settle for the picture only
    await page.screenshot({ path: path.join(SHOTS, `${++shot}-${name}.png`) });
  }

  async function palette(command: string): Promise<void> {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>' + command);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor();
    await page.keyboard.press('Enter');
  }

  function row(text: string | RegExp, scope = page.locator('.monaco-workbench')): Locator {
    return scope.locator('.monaco-list-row', { hasText: text }).first();
  }

  /** Expand a view pane by its title when it starts collapsed. */
  async function expandPane(title: string): Promise<void> {
    const header = page.locator('.pane-header', { hasText: title }).first();
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  }

  function inspectorFrame(): FrameLocator {
    return page.frameLocator('iframe.webview').frameLocator('#active-frame');
  }

  suiteSetup(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(30000);
    page.on('pageerror', e => console.log('[pageerror]', e.message));
    await page.goto(`${URL_}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.locator('.monaco-workbench').waitFor();
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).waitFor();
  });

  suiteTeardown(async () => {
    if (this.ctx.currentTest?.state === 'failed' && page) await page.screenshot({ path: path.join(SHOTS, 'failure.png') }).catch(() => {});
    await browser?.close();
  });

  teardown(async function () {
    if (this.currentTest?.state === 'failed') await page.screenshot({ path: path.join(SHOTS, `failure-${shot + 1}.png`) }).catch(() => {});
  });

  test('the scenario opens with visor highlighting and the Run | Debug CodeLens', async () => {
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
    await screenshot('scenario-editor');
  });

  test('F5 on the open scenario starts the visorbus debugger, stopped on entry', async () => {
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5');
    await page.locator('.debug-toolbar').waitFor();
    await row(/Paused on entry/i).waitFor();
    await page.locator('.statusbar-item', { hasText: /visorbus .* · stopped/ }).first().waitFor();
    await screenshot('debug-stopped-on-entry');
  });

  test('a function breakpoint on vbus2:dev0.probe stops in the driver; Buses & Devices fills', async () => {
    await palette('Debug: Add Function Breakpoint');
    const input = page.locator('.debug-breakpoints input, .breakpoints-view input, .pane-body input[aria-label*="unction"]').first();
    await input.waitFor();
    await input.fill('vbus2:dev0.probe');
    await page.keyboard.press('Enter');
    await row('vbus2:dev0.probe').waitFor();
    await page.keyboard.press('F5'); // continue
    await row(/Paused on function breakpoint/i).waitFor();
    await row(/probe/, page.locator('.debug-call-stack')).waitFor();
    await screenshot('breakpoint-on-probe');

    await palette('View: Show Visorbus');
    const devices = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Buses & Devices' }) }).first();
    await expandPane('Buses & Devices');
    for (const name of ['visorbus1', 'vbus1:dev1', 'vbus1:dev2', 'vbus1:dev3', 'visorbus2', 'vbus2:dev0']) {
      await row(name, devices).waitFor();
    }
    await row('vbus2:dev0', devices).locator('.label-description', { hasText: 'visorhba' }).waitFor();
    await expandPane('Function Drivers');
    await row('visorhba', page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Function Drivers' }) }).first()).waitFor();
    await screenshot('buses-and-devices');
  });

  test('the channel inspector of vbus2:dev0 shows the decoded header (signature ECNL)', async () => {
    const devices = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Buses & Devices' }) }).first();
    await row('vbus2:dev0', devices).click({ button: 'right' });
    await page.locator('.monaco-menu .action-label', { hasText: 'Open Channel Inspector' }).first().click();
    const frame = inspectorFrame();
    const signature = frame.locator('tr[data-field="signature"]').first();
    await signature.waitFor();
    assert.match(await signature.innerText(), /ECNL/);
    await signature.hover();
    await frame.locator('.byte.hl').nth(7).waitFor(); // the 8 bytes of the signature are highlighted
    assert.strictEqual(await frame.locator('.byte.hl').count(), 8);
    await frame.locator('svg.ring').first().waitFor();
    await screenshot('channel-inspector');
  });

  test('stopping the session ends it (toolbar gone)', async () => {
    await page.keyboard.press('Shift+F5');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
