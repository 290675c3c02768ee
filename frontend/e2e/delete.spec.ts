// Issue 6: delete a task from Tasks History, after a confirmation that can be declined.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, createTask, getTask, waitForState } from './support/gateway';

it('deletes a task only once the deletion is confirmed', async ({ page, errors }) => {
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
