// Issue 6: a task that fails permanently lands in the DLQ; the dashboard shows it, and
// Retry in its details sends it round again, to COMPLETED. The test arranges that the
// provider refuses the first call only (HTTP 400: a permanent error).
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { getTask, waitForState } from './support/gateway';

it('shows a task that failed permanently in the DLQ and retries it to completion', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/#/new`);
  await page.getByLabel('Text to summarize').fill('The provider refuses this text the first time it sees it.');
  await page.getByRole('button', { name: 'Submit summarize task' }).click();
  const taskId = (await page.getByTestId('followed-task-id').textContent())?.trim() ?? '';
  const followed = page.getByRole('region', { name: 'Your task' });
  await followed.getByText('DLQ', { exact: true }).first().waitFor();
  await followed.getByRole('list', { name: 'Error history' }).waitFor();
  await screenshot(page, 'dlq-followed');

  const nav = page.getByRole('navigation', { name: 'Pages' });
  await nav.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByTestId('queue-dlq').filter({ hasText: /^1$/ }).waitFor();
  await page.getByTestId('flow-count-Dead Letter').filter({ hasText: /^1$/ }).waitFor();
  await screenshot(page, 'dlq-dashboard');

  await nav.getByRole('link', { name: 'Tasks History' }).click();
  await page.getByLabel('Status').selectOption('DLQ');
  const row = page.locator(`tr[data-task-id="${taskId}"]`);
  await row.getByText('DLQ', { exact: true }).waitFor();
  expect(await page.locator('tbody tr[data-task-id]').count()).toBe(1);
  await row.getByRole('button', { name: /View Details/ }).click();
  const details = page.getByTestId('task-details');
  await details.getByRole('list', { name: 'Error history' }).getByText(/400/).first().waitFor();
  await screenshot(page, 'dlq-details');

  await details.getByRole('button', { name: 'Retry', exact: true }).click();
  await waitForState(taskId, 'COMPLETED');
  // The details and the row follow the task live, without a reload.
  await details.getByText('A fake summary.').waitFor();
  await details.getByRole('list', { name: 'State history' }).getByText('COMPLETED', { exact: true }).waitFor();
  await row.getByText('COMPLETED', { exact: true }).waitFor();
  await screenshot(page, 'dlq-retried');
  expect((await getTask(taskId)).result).toBe('A fake summary.');
  expect(errors.messages).toEqual([]);
});
