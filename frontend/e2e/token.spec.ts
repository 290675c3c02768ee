// A gateway with TASKFLOW_API_TOKEN: the dashboard asks for the token once, then
// works (REST with the bearer header, the live stream with ?token=) and keeps the
// token for the browser session.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { pageTest } from './support/page';

function token(): string {
  const value = process.env.TASKFLOW_API_TOKEN;
  if (!value) throw new Error('TASKFLOW_API_TOKEN is not set');
  return value;
}

// Chromium logs each refused request (before the token is known) as a console error.
const it = pageTest({ allowErrors: [/Failed to load resource: the server responded with a status of 401/] });

it('asks for the token once and then shows live data', async ({ page, errors }) => {
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
