// Issue 20: the Tasks History filters live in the URL (a link, a reload and the back
// button keep them), and the dashboard's counters and queue cards click through to
// the tasks they count.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { createTask, waitForState } from './support/gateway';

it('keeps the filters in the URL and clicks through from the dashboard', async ({ page, errors }) => {
  const row = (taskId: string) => page.locator(`tr[data-task-id="${taskId}"]`);
  const doomed = await createTask('doomed', 'never works');
  const fine = await createTask('echo', 'works');
  await waitForState(doomed, 'DLQ');
  await waitForState(fine, 'COMPLETED');

  // A link with filters opens the list filtered.
  await page.goto(`${baseUrl()}/#/history?status=DLQ`);
  await row(doomed).waitFor();
  expect(await page.getByLabel('Status').inputValue()).toBe('DLQ');
  expect(await row(fine).count()).toBe(0);

  // Changing a filter rewrites the URL; a reload keeps it.
  await page.getByLabel('Status').selectOption('COMPLETED');
  await row(fine).waitFor();
  expect(new URL(page.url()).hash).toBe('#/history?status=COMPLETED');
  await page.reload();
  await row(fine).waitFor();
  expect(await page.getByLabel('Status').inputValue()).toBe('COMPLETED');
  expect(await row(doomed).count()).toBe(0);

  // The DLQ queue card lists the DLQ; the flow graph's Completed node the completed.
  await page.goto(`${baseUrl()}/#/dashboard`);
  await page.getByRole('link', { name: 'DLQ queue: list its tasks' }).click();
  await row(doomed).waitFor();
  expect(new URL(page.url()).hash).toBe('#/history?queue=dlq');
  expect(await page.getByLabel('Queue').inputValue()).toBe('dlq');
  await screenshot(page, 'filters-dlq-queue');

  await page.goto(`${baseUrl()}/#/dashboard`);
  await page.getByRole('group', { name: 'Task State Flow graph' }).getByRole('link', { name: 'Completed' }).click();
  await row(fine).waitFor();
  expect(new URL(page.url()).hash).toBe('#/history?status=COMPLETED');
  expect(errors.messages).toEqual([]);
});
