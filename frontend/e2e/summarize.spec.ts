// Issue 6: submit a summarize task from the New task page, follow it to COMPLETED,
// see it counted on the Dashboard and listed in Tasks History, open its details.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { getTask } from './support/gateway';

const TEXT =
  'Distributed task queues hand long work to background workers. ' +
  'Workers retry transient failures with backoff. ' +
  'Hopeless tasks are parked in a dead-letter queue for a human to inspect.';

it('submits a summarize task and follows it to its result, counts and details', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/#/new`);
  await page.getByLabel('Text to summarize').fill(TEXT);
  await page.getByRole('button', { name: 'Submit summarize task' }).click();

  const followed = page.getByRole('region', { name: 'Your task' });
  const taskId = (await page.getByTestId('followed-task-id').textContent())?.trim() ?? '';
  expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
  await followed.getByText('COMPLETED', { exact: true }).first().waitFor();
  await followed.getByText('A fake summary.').waitFor();
  await screenshot(page, 'summarize-followed');
  expect((await getTask(taskId)).result).toBe('A fake summary.');

  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Dashboard' }).click();
  await page.getByTestId('flow-count-Completed').filter({ hasText: /^1$/ }).waitFor();
  await screenshot(page, 'summarize-dashboard');

  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Tasks History' }).click();
  const row = page.locator(`tr[data-task-id="${taskId}"]`);
  await row.getByText('COMPLETED', { exact: true }).waitFor();
  await row.getByText('summarize', { exact: true }).waitFor();
  await row.getByRole('button', { name: /View Details/ }).click();

  const details = page.getByTestId('task-details');
  await details.getByText(taskId).waitFor();
  await details.getByText('A fake summary.').waitFor();
  await details.getByText(/Distributed task queues hand long work/).waitFor();
  for (const state of ['PENDING', 'ACTIVE', 'COMPLETED']) {
    await details.getByRole('list', { name: 'State history' }).getByText(state, { exact: true }).waitFor();
  }
  await screenshot(page, 'summarize-details');
  expect(errors.messages).toEqual([]);
});
