// Playwright helpers for driving the VS Code workbench (code-server) in Chromium.
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { Browser, chromium, FrameLocator, Locator, Page } from 'playwright-core';

export const E2E = {
  url: process.env.E2E_URL ?? 'http://127.0.0.1:8080',
  shots: process.env.E2E_SHOTS ?? path.resolve(__dirname, '../../../test-output/e2e'),
  chromium: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
  /** Set by scripts/e2e/run.mjs from the one list in scripts/e2e/codeserver.mjs. */
  chromiumArgs: JSON.parse(process.env.E2E_CHROMIUM_ARGS ?? '[]') as string[],
};

export class Workbench {
  private shot = 0;
  constructor(
    readonly browser: Browser,
    readonly page: Page,
    private readonly prefix: string,
  ) {}

  static async open(folder: string, prefix: string): Promise<Workbench> {
    const browser = await chromium.launch({
      executablePath: E2E.chromium,
      headless: true,
      args: E2E.chromiumArgs,
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(30000);
    // the page console (workbench and extension-host output) goes to <shots>/<prefix>-console.log
    const log = fs.createWriteStream(path.join(E2E.shots, `${prefix}-console.log`));
    page.on('console', async (m) => {
      const args = await Promise.all(m.args().map((a) => a.jsonValue().catch(() => '?')));
      log.write(util.format(...args) + '\n');
    });
    page.on('pageerror', (e) => log.write(`[pageerror] ${e.message}\n`));
    browser.on('disconnected', () => log.end());
    await page.goto(`${E2E.url}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor();
    return new Workbench(browser, page, prefix);
  }

  async screenshot(name: string): Promise<void> {
    await this.page.waitForTimeout(400); // let animations (toasts, view transitions) settle for the picture only
    await this.page.screenshot({ path: path.join(E2E.shots, `${this.prefix}-${++this.shot}-${name}.png`) });
  }

  async failureShot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(E2E.shots, `${this.prefix}-failure-${name.replace(/\W+/g, '_').slice(0, 60)}.png`) }).catch(() => {});
  }

  /** Open a scenario from the Explorer; waits for its text and for our CodeLens (the extension is active, so F5 finds our debugger). */
  async openScenario(file: string, text: string): Promise<void> {
    await this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).click();
    const editor = this.page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: text }).waitFor();
    await editor.locator('.codelens-decoration', { hasText: 'Debug' }).waitFor();
  }

  /** Run a command from the palette; `pick` is the text of the row to choose (default: `command`). */
  async palette(command: string, pick: string | RegExp = command): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>' + command);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: pick }).first().click();
  }

  row(text: string | RegExp, scope?: Locator): Locator {
    return (scope ?? this.page.locator('.monaco-workbench')).locator('.monaco-list-row', { hasText: text }).first();
  }

  /** The view pane with this title (its body included). */
  pane(title: string): Locator {
    return this.page.locator('.pane', { has: this.page.locator('.pane-header', { hasText: title }) }).first();
  }

  /** Expand a view pane by its title when it starts collapsed. */
  async expandPane(title: string): Promise<void> {
    const header = this.page.locator('.pane-header', { hasText: title }).first();
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  }

  /** Wait for the stop reason in the CALL STACK view (its header, or the stopped thread's row when there are several). */
  async pausedOn(reason: RegExp): Promise<void> {
    await this.pane('Call Stack').getByText(reason).first().waitFor();
  }

  async addFunctionBreakpoint(name: string): Promise<void> {
    await this.palette('Function Breakpoint', /Function Breakpoint/);
    // The Breakpoints view shows at most 9 rows and the adapter's exception filters come
    // first: scroll its list to the end, where the new breakpoint's input row is.
    await this.pane('Breakpoints').locator('.monaco-list').first().hover();
    await this.page.mouse.wheel(0, 2000);
    const input = this.page.locator('.pane-body .monaco-list-row .monaco-inputbox input').first();
    await input.waitFor();
    await input.fill(name);
    await this.page.keyboard.press('Enter');
    await this.row(name).waitFor();
  }

  async contextMenu(target: Locator, action: string): Promise<void> {
    await target.click({ button: 'right' });
    const item = this.page.locator('.monaco-menu .action-item', { hasText: action }).first();
    await item.hover();
    await item.click({ delay: 50 });
    await this.page.locator('.monaco-menu').first().waitFor({ state: 'hidden' });
  }

  /** The channel inspector webview's document (VS Code nests it: iframe.webview > #active-frame). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview').frameLocator('#active-frame');
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** In a suite: a screenshot of each failed test, named after it. */
export function shootFailures(wb: () => Workbench | undefined): void {
  teardown(async function () {
    if (this.currentTest?.state === 'failed') await wb()?.failureShot(this.currentTest.title);
  });
}
