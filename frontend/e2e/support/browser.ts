// Drives Debian's chromium (never a downloaded browser) through playwright-core for
// the browser tests and the dashboard benchmark. The stack under test is started by
// the caller (tests/browser, bench/dashboard.py), which passes its URL in the
// environment.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags chromium keeps calling home, which a
// closed network answers slowly.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through pytest (tests/browser)`);
  return value;
}

/** The gateway serving the dashboard, e.g. http://127.0.0.1:41234. */
export const baseUrl = (): string => required('TASKFLOW_BASE_URL').replace(/\/+$/, '');

/** Where screenshots go (test-artifacts/browser unless told otherwise). */
export const artifactsDir = (): string =>
  resolve(process.env.TASKFLOW_ARTIFACTS ?? join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'browser'));

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh chromium with an empty profile of its own. */
export async function openBrowser(viewport = DESKTOP): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'taskflow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(30_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors and uncaught exceptions of a page; `allow` filters out expected ones. */
export class PageErrors {
  readonly messages: string[] = [];

  constructor(
    page: Page,
    private readonly allow: RegExp[] = [],
  ) {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') this.add(`console.error: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => this.add(`uncaught: ${error.stack ?? error.message}`));
  }

  private add(text: string): void {
    if (!this.allow.some((pattern) => pattern.test(text))) this.messages.push(text);
  }
}

/** A page of a fresh browser, with its errors collected. */
export async function openPage(
  options: { viewport?: { width: number; height: number }; allowErrors?: RegExp[] } = {},
): Promise<{ browser: Browser; page: Page; errors: PageErrors }> {
  const browser = await openBrowser(options.viewport);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const errors = new PageErrors(page, options.allowErrors);
  return { browser, page, errors };
}

/** A full-page screenshot in the artefacts folder, named after the test and step. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = artifactsDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
