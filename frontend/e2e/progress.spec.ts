// Issue 17: a running task's progress bar and log lines in its details move live
// (no reload) while it runs; its last lines, a warning among them, stay once it ends.
// `chatty` (tests/support/tasks.py, loaded by the stack's executor) reports
// "step i of n" and logs "chatty step i" every 1.5 s.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { createTask, getTask, waitForState } from './support/gateway';

it('shows the progress and the log lines of a running task live', async ({ page, errors }) => {
  const taskId = await createTask('chatty', '8:1.5');
  await waitForState(taskId, 'ACTIVE');

  await page.goto(`${baseUrl()}/#/history`);
  const row = page.locator(`tr[data-task-id="${taskId}"]`);
  await row.getByRole('button', { name: /View Details/ }).click();
  const details = page.getByTestId('task-details');
  const progress = details.getByTestId('task-progress');
  const logs = details.getByTestId('task-logs');

  // Seen while the task still runs: first lines, then later ones, without a reload.
  await logs.getByText('chatty step 1').waitFor({ timeout: 60_000 });
  await progress.getByText(/step \d of 8/).waitFor({ timeout: 60_000 });
  expect((await getTask(taskId)).state).toBe('ACTIVE');
  await screenshot(page, 'progress-running');
  await logs.getByText('chatty step 3').waitFor({ timeout: 60_000 });
  await progress.getByText(/step [3-8] of 8/).waitFor({ timeout: 60_000 });

  await waitForState(taskId, 'COMPLETED');
  const last = logs.locator('[data-level="WARNING"]');
  await last.getByText('chatty step 8').waitFor({ timeout: 60_000 });
  expect(await logs.locator('[data-level]').count()).toBe(8);
  await screenshot(page, 'progress-logs-done');
  expect(errors.messages).toEqual([]);
});
