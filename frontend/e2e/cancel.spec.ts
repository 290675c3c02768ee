// Issue 17: cancel a delayed task from its details in Tasks History, after a
// confirmation, and find it again under the CANCELLED filter.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { createTask, getTask, waitForState } from './support/gateway';

it('cancels a delayed task from its details and lists it under CANCELLED', async ({ page, errors }) => {
  const taskId = await createTask('echo', 'x', { delay: '3600s' });
  await waitForState(taskId, 'SCHEDULED');

  await page.goto(`${baseUrl()}/#/history`);
  const row = page.locator(`tr[data-task-id="${taskId}"]`);
  await row.getByText('SCHEDULED', { exact: true }).waitFor();
  await row.getByRole('button', { name: /View Details/ }).click();
  const details = page.getByTestId('task-details');
  await details.getByRole('button', { name: 'Cancel task' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this task?' });
  await dialog.getByText(taskId).waitFor();
  await screenshot(page, 'cancel-confirm');
  await dialog.getByRole('button', { name: 'Cancel task' }).click();
  await dialog.waitFor({ state: 'detached' });

  await details.getByRole('status').getByText(/^CANCELLED/).waitFor();
  await details.getByText('CANCELLED', { exact: true }).first().waitFor();
  expect((await getTask(taskId)).state).toBe('CANCELLED');
  await screenshot(page, 'cancel-done');

  await page.goto(`${baseUrl()}/#/history`);
  await page.getByLabel('Status').selectOption('CANCELLED');
  await page.locator(`tr[data-task-id="${taskId}"]`).getByText('CANCELLED', { exact: true }).waitFor();
  expect(await page.locator('tbody tr[data-task-id]').count()).toBe(1);
  await screenshot(page, 'cancel-history');
  expect(errors.messages).toEqual([]);
});
