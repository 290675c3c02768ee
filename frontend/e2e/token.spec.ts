// A gateway with TASKFLOW_API_TOKEN: the dashboard asks for the token once, then
// works (REST with the bearer header, the live stream with ?token=) and keeps the
// token for the browser session.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { baseUrl, openPage, screenshot, type Browser, type PageErrors } from './support/browser';

let browser: Browser;
let page: Page;
let errors: PageErrors;

function token(): string {
  const value = process.env.TASKFLOW_API_TOKEN;
  if (!value) throw new Error('TASKFLOW_API_TOKEN is not set');
  return value;
}

beforeEach(async () => {
  // Chromium logs each refused request (before the token is known) as a console error.
  ({ browser, page, errors } = await openPage({
    allowErrors: [/Failed to load resource: the server responded with a status of 401/],
  }));
});

afterEach(async () => {
  await browser.close();
});

it('asks for the token once and then shows live data', async () => {
  await page.goto(`${baseUrl()}/`);
  const dialog = page.getByRole('dialog', { name: 'Access token required' });
  await dialog.waitFor();
  await screenshot(page, 'token-prompt');
  await dialog.getByLabel('Token').fill(token());
  await dialog.getByRole('button', { name: 'Use token' }).click();
  await dialog.waitFor({ state: 'detached' });

  await page.locator('[data-connection="connected"]').waitFor();
  await page.getByRole('list', { name: 'Workers' }).waitFor();
  await page.getByText('Last check').waitFor();
  await screenshot(page, 'token-accepted');

  // Kept for the session: a reload asks nothing.
  await page.reload();
  await page.locator('[data-connection="connected"]').waitFor();
  await page.getByRole('list', { name: 'Workers' }).waitFor();
  expect(await page.getByRole('dialog').count()).toBe(0);
  expect(errors.messages).toEqual([]);
});
