// UI test of the webview and the views against the documented DAP contract: code-server attaches
// (launch.json `attach`) to the fixture server of test/e2e/fixtures, so the inspector's rendering,
// hover highlighting, keyboard editing and the tree context menus are seen in the real workbench.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_CONTRACT_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import { ChildProcess } from 'child_process';
import { startContractAdapter } from '../lib/contractAdapter';
import * as fs from 'fs';
import * as path from 'path';
import { Workbench } from './lib/workbench';

/** The contract workspace folder; the suite fails (does not skip) when the runner did not provide it. */
function contractWorkspace(): string {
  const ws = process.env.E2E_CONTRACT_WORKSPACE;
  if (!ws) throw new Error('E2E_CONTRACT_WORKSPACE is not set: run the UI suites with `npm run test:e2e` (scripts/e2e/run.mjs creates the contract workspace and sets it)');
  return ws;
}


suite('UI: views and channel inspector against the DAP contract (attach)', function () {
  this.timeout(180000);
  let wb: Workbench;
  let adapter: ChildProcess;

  suiteSetup(async function () {
    const WORKSPACE = contractWorkspace();
    const { child, port } = await startContractAdapter();
    adapter = child;
    fs.mkdirSync(path.join(WORKSPACE, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(WORKSPACE, '.vscode', 'launch.json'), JSON.stringify({
      version: '0.2.0', configurations: [{ type: 'visorbus', request: 'attach', name: 'Attach to contract server', port }],
    }, null, 2));
    wb = await Workbench.open(WORKSPACE, 'contract');
  });
  suiteTeardown(async () => {
    await wb?.close();
    adapter?.kill();
  });
  teardown(async function () {
    if (this.currentTest?.state === 'failed') await wb.failureShot(this.currentTest.title);
  });

  test('attach from launch.json, stop at a probe breakpoint, devices listed with Load more…', async () => {
    const page = wb.page;
    // open a scenario and wait for its CodeLens: the extension host is up and the extension active
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).click();
    await page.locator('.editor-instance .codelens-decoration', { hasText: 'Debug' }).waitFor();
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5'); // launch.json's first configuration: attach
    await wb.pausedOn(/(paused|stopped) on entry/i);
    await wb.addFunctionBreakpoint('probe');
    await page.keyboard.press('F5');
    await wb.pausedOn(/function breakpoint/i);
    // the views also sit in the Run and Debug view while a visorbus session runs
    await wb.pane('Visorbus: Buses & Devices').waitFor();
    await wb.palette('View: Show Visorbus');
    await wb.expandPane('Buses & Devices');
    const devices = wb.pane('Buses & Devices');
    await wb.row('vbus2:dev0', devices).waitFor();
    await wb.row('visorbus3', devices).locator('.label-description', { hasText: '10000 devices' }).waitFor();
    await wb.screenshot('devices');
  });

  test('inspector: header decoded, queue ring drawn, hover highlights bytes, Enter edits a field', async () => {
    await wb.contextMenu(wb.row('vbus2:dev0', wb.pane('Buses & Devices')), 'Open Channel Inspector');
    const frame = wb.webview();
    const signature = frame.locator('tr[data-field="signature"]');
    await signature.waitFor();
    assert.match(await signature.innerText(), /ECNL/);
    assert.match(await frame.locator('#status').innerText(), /stopped/);
    // a queue ring with one pending slot, and its pending signal decoded
    await frame.locator('svg.ring path.slot.full').first().waitFor();
    assert.strictEqual(await frame.locator('svg.ring').first().locator('path.slot').count(), 16);
    await frame.locator('summary', { hasText: 'CMD_SCSI_TYPE' }).waitFor();
    // hover: the field's bytes light up in the hex view
    await frame.locator('tr[data-field="chtype"]').hover();
    await frame.locator('.byte.hl').nth(15).waitFor();
    assert.strictEqual(await frame.locator('.byte.hl').count(), 16);
    await wb.screenshot('inspector-hover');
    // keyboard: focus the features row, Enter opens the editor, Enter writes
    const features = frame.locator('tr[data-field="features"]');
    await features.focus();
    await wb.page.keyboard.press('Enter');
    const editor = frame.locator('input.editor');
    await editor.waitFor();
    await editor.fill('0x48');
    await wb.page.keyboard.press('Enter');
    await frame.locator('tr[data-field="features"] td.value', { hasText: /^72$/ }).waitFor();
    // a bad value is refused with a message, nothing written
    await features.focus();
    await wb.page.keyboard.press('Enter');
    await frame.locator('input.editor').fill('nonsense');
    await wb.page.keyboard.press('Enter');
    await frame.locator('#error', { hasText: /features: expected a number/ }).waitFor();
    await frame.locator('tr[data-field="features"] td.value', { hasText: /^72$/ }).waitFor();
    await wb.screenshot('inspector-edit');
  });

  test('sysfs: reveal a device from its context menu, edit a writable attribute inline', async () => {
    await wb.contextMenu(wb.row('vbus2:dev0', wb.pane('Buses & Devices')), 'Reveal in sysfs');
    const sysfs = wb.pane('sysfs');
    await sysfs.locator('.monaco-list-row.selected', { hasText: 'vbus2:dev0' }).waitFor();
    await wb.row('typeguid', sysfs).locator('.label-description', { hasText: '414815ed-c58c-11da-95a9-00e08161165f' }).waitFor();
    await wb.screenshot('sysfs');
  });
});
