// Issue 6: delete a task from Tasks History, after a confirmation that can be declined.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { baseUrl, openPage, screenshot, type Browser, type PageErrors } from './support/browser';
import { api, createTask, getTask, waitForState } from './support/gateway';

let browser: Browser;
let page: Page;
let errors: PageErrors;

beforeEach(async () => {
  ({ browser, page, errors } = await openPage());
});

afterEach(async () => {
  await browser.close();
});

it('deletes a task only once the deletion is confirmed', async () => {
  const kept = await createTask('echo', 'keep me');
  const doomed = await createTask('echo', 'delete me');
  await waitForState(kept, 'COMPLETED');
  await waitForState(doomed, 'COMPLETED');

  await page.goto(`${baseUrl()}/#/history`);
  const row = page.locator(`tr[data-task-id="${doomed}"]`);
  await row.waitFor();
  await row.getByRole('button', { name: `Delete task ${doomed}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this task?' });
  await dialog.getByText(doomed).waitFor();
  await screenshot(page, 'delete-confirm');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  expect((await getTask(doomed)).state).toBe('COMPLETED');

  await row.getByRole('button', { name: `Delete task ${doomed}` }).click();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await row.waitFor({ state: 'detached' });
  await page.locator(`tr[data-task-id="${kept}"]`).waitFor();
  await page.getByText('Showing tasks 1-1 of 1').waitFor();
  await screenshot(page, 'delete-done');
  await expect(api('GET', `/api/v1/tasks/${doomed}`)).rejects.toThrow(/HTTP 404/);
  expect(errors.messages).toEqual([]);
});
