// UI test of the webview and the views on the real debug adapter: code-server attaches (launch.json
// `attach`, with the server's token) to `visorbus-emu dap --port N` running a scenario with vhba and
// vnic devices and a bus of 10,000 devices, so the inspector's rendering, hover highlighting,
// keyboard editing, paging and the tree's context menus are seen in the real workbench.
// Env (set by scripts/e2e/run.mjs): E2E_URL, E2E_CONTRACT_WORKSPACE, E2E_SHOTS, E2E_CHROMIUM.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DapServer, startDapServer } from '../lib/dapServer';
import { BULK_DEVICES, Scenario, VHBA_GUID, writeCombinedScenario } from '../lib/scenarios';
import { shootFailures, Workbench } from './lib/workbench';

/** out/e2e/ui -> the repository root, whose dist/emulator.js is the adapter the VSIX ships. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Creating 10,000 devices takes tens of seconds on a loaded machine. */
const RUN_MS = 240000;

/** The contract workspace folder; the suite fails (does not skip) when the runner did not provide it. */
function contractWorkspace(): string {
  const ws = process.env.E2E_CONTRACT_WORKSPACE;
  if (!ws)
    throw new Error(
      'E2E_CONTRACT_WORKSPACE is not set: run the UI suites with `npm run test:e2e` (scripts/e2e/run.mjs creates the contract workspace and sets it)',
    );
  return ws;
}

/** F5 attaches (launch.json), F9 sets a breakpoint after the devices, and the Devices tree pages bus 3. */
async function attachAndPage(wb: Workbench, scenario: Scenario): Promise<void> {
  const page = wb.page;
  // the small example's CodeLens says the extension host is up and the extension active (a file of
  // 10,000 lines gets none), then the contract scenario is opened
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'devices.visor' }).click();
  await page.locator('.editor-instance .codelens-decoration', { hasText: 'Debug' }).waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: path.basename(scenario.file) }).click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.view-lines', { hasText: 'device create 3:0 ' }).waitFor();
  await editor.locator('.view-lines').click();
  await page.keyboard.press('F5'); // launch.json's first configuration: attach
  await wb.pausedOn(/(paused|stopped) on entry/i);
  // a line breakpoint on the first wait after the devices: Go to Line (":N" in the palette), then F9
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${scenario.settleLine}`);
  await page.keyboard.press('Enter');
  await editor.locator('.view-lines', { hasText: 'wait 100ms' }).waitFor();
  await page.keyboard.press('F9');
  await editor.locator('[class*="codicon-debug-breakpoint"]').first().waitFor();
  await page.keyboard.press('F5');
  await wb
    .pane('Call Stack')
    .getByText(/breakpoint at line/i)
    .first()
    .waitFor({ timeout: RUN_MS });
  await wb.palette('View: Show Visorbus');
  await wb.expandPane('Buses & Devices');
  const devices = wb.pane('Buses & Devices');
  await wb.row('vbus2:dev0', devices).waitFor();
  await wb
    .row('visorbus3', devices)
    .locator('.label-description', { hasText: `${BULK_DEVICES} devices` })
    .waitFor();
  // the last row of the tree is bus 3's "Load more…"; Enter on it loads the next page
  const toEnd = async () => {
    await devices.locator('.monaco-list').first().focus();
    await page.keyboard.press('End');
  };
  const moreShows = (text: string) => devices.locator('.monaco-list-row', { hasText: 'Load more…' }).locator('.label-description', { hasText: text }).waitFor();
  // a refresh (any stop or change event does one) re-reads the tree while its old rows stay on
  // screen: Enter on such a "Load more…" row must still load the next page
  await wb.palette('Visorbus: Refresh');
  await toEnd();
  await moreShows(`200 of ${BULK_DEVICES} shown`);
  // End may land before bus 3's page is listed (its children load after its row): Enter goes to
  // whatever row has the focus, so wait until it is "Load more…"
  await devices.locator('.monaco-list-row.focused', { hasText: 'Load more…' }).waitFor();
  await page.keyboard.press('Enter');
  await wb.row('vbus3:dev200', devices).waitFor(); // the new page follows the old last row
  await toEnd();
  await moreShows(`400 of ${BULK_DEVICES} shown`);
  await wb.row('vbus3:dev399', devices).waitFor();
  await wb.screenshot('devices');
}

/** How the adapter shows features = 0x48: the value in hex and its feature bits by name. */
const FEATURES_0X48 = /^0x48 \(VISOR_CHANNEL_IS_POLLING \| VISOR_DRIVER_ENHANCED_RCVBUF_CHECKING\)$/;

/** The channel inspector of vbus2:dev0, opened from its row's inline action: rendering, hover, keyboard edit. */
async function inspectAndEdit(wb: Workbench): Promise<void> {
  const devices = wb.pane('Buses & Devices');
  await devices.locator('.monaco-list').first().focus();
  await wb.page.keyboard.press('Home');
  // the row's inline action (the first of its context actions)
  const row = wb.row('vbus2:dev0', devices);
  await row.hover();
  await row.locator('.actions .action-label[aria-label="Open Channel Inspector"]').click();
  const frame = wb.webview();
  const signature = frame.locator('tr[data-field="signature"]');
  await signature.waitFor();
  assert.match(await signature.innerText(), /ECNL/);
  assert.match(await frame.locator('#status').innerText(), /stopped/);
  // the vhba's two queues, each drawn as a ring of its slots
  await frame.locator('svg.ring path.slot').first().waitFor();
  assert.strictEqual(await frame.locator('svg.ring').count(), 2);
  assert.ok((await frame.locator('svg.ring').first().locator('path.slot').count()) > 1, 'the ring has its slots');
  // hover: the field's bytes light up in the hex view
  await frame.locator('tr[data-key="header/chtype/32"]').hover();
  await frame.locator('.byte.hl').nth(15).waitFor();
  assert.strictEqual(await frame.locator('.byte.hl').count(), 16);
  assert.match(await frame.locator('tr[data-key="header/chtype/32"]').innerText(), new RegExp(VHBA_GUID));
  await wb.screenshot('inspector-hover');
  // keyboard: focus the features row, Enter opens the editor, Enter writes; the value shown is re-read from the adapter
  const features = frame.locator('tr[data-key="header/features/24"]');
  // the vhba driver set only VISOR_CHANNEL_IS_POLLING at probe, so 0x48 is a change the user sees
  assert.match(await features.locator('td.value').innerText(), /^0x8 \(VISOR_CHANNEL_IS_POLLING\)$/);
  await features.focus();
  await wb.page.keyboard.press('Enter');
  const editor = frame.locator('input.editor');
  await editor.waitFor();
  await editor.fill('0x48');
  await wb.page.keyboard.press('Enter');
  await frame.locator('tr[data-key="header/features/24"] td.value', { hasText: FEATURES_0X48 }).waitFor();
  // a bad value is refused with a message, nothing written
  await features.focus();
  await wb.page.keyboard.press('Enter');
  await frame.locator('input.editor').fill('nonsense');
  await wb.page.keyboard.press('Enter');
  await frame.locator('#error', { hasText: /features: expected a number/ }).waitFor();
  await frame.locator('tr[data-key="header/features/24"] td.value', { hasText: FEATURES_0X48 }).waitFor();
  await wb.screenshot('inspector-edit');
}

suite('UI: views and channel inspector on the real adapter (attach over TCP)', function () {
  this.timeout(RUN_MS + 120000);
  let wb: Workbench;
  let server: DapServer;
  let scenario: Scenario;

  suiteSetup(async function () {
    const WORKSPACE = contractWorkspace();
    server = await startDapServer(path.join(ROOT, 'dist', 'emulator.js'));
    scenario = writeCombinedScenario(WORKSPACE);
    fs.mkdirSync(path.join(WORKSPACE, '.vscode'), { recursive: true });
    fs.writeFileSync(
      path.join(WORKSPACE, '.vscode', 'launch.json'),
      JSON.stringify(
        {
          version: '0.2.0',
          configurations: [
            {
              type: 'visorbus',
              request: 'attach',
              name: 'Attach to visorbus-emu',
              port: server.port,
              token: server.token,
              scenario: '${workspaceFolder}/' + path.basename(scenario.file),
              stopOnEntry: true,
              checkpoints: 0,
            },
          ],
        },
        null,
        2,
      ),
    );
    wb = await Workbench.open(WORKSPACE, 'contract');
  });
  suiteTeardown(async () => {
    await wb?.close();
    server?.stop();
  });
  shootFailures(() => wb);

  test('attach from launch.json, run to a breakpoint after 10,000 devices, page them with Load more…', () => attachAndPage(wb, scenario));

  test('inspector: header decoded, queue ring drawn, hover highlights bytes, Enter edits a field', () => inspectAndEdit(wb));

  test('Pause Device from the context menu: after the run goes on, the item is paused', async () => {
    const devices = wb.pane('Buses & Devices');
    await wb.contextMenu(wb.row('vbus2:dev1', devices), 'Pause Device');
    // the action is queued only while the run is stopped: continue once the status bar says it is
    await wb.page.locator('.statusbar-item', { hasText: 'pause of vbus2:dev1 queued' }).first().waitFor();
    await wb.page.keyboard.press('F5'); // the queued pause lands at the guest's next poll; the run stops at its end (status bar: finished)
    await wb.page
      .locator('.statusbar-item', { hasText: /visorbus .* · finished/ })
      .first()
      .waitFor({ timeout: RUN_MS });
    await devices.locator('.monaco-list-row[aria-label^="vbus2:dev1, paused"]').waitFor();
    await devices.locator('.monaco-list-row[aria-label^="vbus2:dev0, running"]').waitFor();
    await wb.screenshot('device-paused');
  });

  test('sysfs: reveal a device from its context menu; its attributes show their values', async () => {
    await wb.contextMenu(wb.row('vbus2:dev0', wb.pane('Buses & Devices')), 'Reveal in sysfs');
    const sysfs = wb.pane('sysfs');
    await sysfs.locator('.monaco-list-row.selected', { hasText: 'vbus2:dev0' }).waitFor();
    await wb.screenshot('sysfs');
  });
});
