// Issue 6: the bulk operations of Tasks Cleanup, each confirmed and reporting how many
// tasks it touched.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, createTask, waitForState } from './support/gateway';

interface Status {
  states: Record<string, number>;
  queues: Record<string, number>;
}

it('deletes completed tasks and purges the DLQ, showing the counts', async ({ page, errors }) => {
  const done = await Promise.all(['a', 'b', 'c'].map((text) => createTask('echo', text)));
  const hopeless = await createTask('doomed', 'never works');
  await Promise.all(done.map((id) => waitForState(id, 'COMPLETED')));
  await waitForState(hopeless, 'DLQ');

  await page.goto(`${baseUrl()}/#/cleanup`);
  const deleting = page.getByRole('region', { name: 'Delete tasks by state and age' });
  await deleting.getByText('COMPLETED').getByText('(3)').waitFor();
  await deleting.getByRole('button', { name: 'Delete tasks' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete tasks?' });
  await confirm.getByText('COMPLETED').waitFor();
  await screenshot(page, 'cleanup-confirm');
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  await deleting.getByRole('status').filter({ hasText: 'Deleted 3 tasks.' }).waitFor();

  const dlq = page.getByRole('region', { name: 'Dead letter queue' });
  await dlq.getByText('1 task in the DLQ.').waitFor();
  await dlq.getByRole('button', { name: 'Purge DLQ' }).click();
  await page.getByRole('dialog', { name: 'Purge the DLQ?' }).getByRole('button', { name: 'Purge' }).click();
  await dlq.getByRole('status').filter({ hasText: 'Purged 1 task.' }).waitFor();
  await dlq.getByText('0 tasks in the DLQ.').waitFor();

  const orphans = page.getByRole('region', { name: 'Orphaned tasks' });
  await orphans.getByRole('button', { name: 'Requeue orphaned tasks' }).click();
  await page.getByRole('dialog', { name: 'Requeue orphaned tasks?' }).getByRole('button', { name: 'Requeue' }).click();
  await orphans.getByRole('status').filter({ hasText: /Found 0 orphaned tasks, requeued 0/ }).waitFor();
  await screenshot(page, 'cleanup-done');

  const status = await api<Status>('GET', '/api/v1/queues/status');
  expect(status.states.COMPLETED).toBe(0);
  expect(status.states.DLQ).toBe(0);
  expect(status.queues.dlq).toBe(0);
  expect(errors.messages).toEqual([]);
});

it('cancels every waiting task and shows the count', async ({ page, errors }) => {
  const later = await Promise.all(['x', 'y'].map((text) => createTask('echo', text, { delay: 3600 })));
  await Promise.all(later.map((id) => waitForState(id, 'SCHEDULED')));

  await page.goto(`${baseUrl()}/#/cleanup`);
  const waiting = page.getByRole('region', { name: 'Waiting tasks' });
  await waiting.getByText('2 tasks PENDING or SCHEDULED.').waitFor();
  await waiting.getByRole('button', { name: 'Cancel waiting tasks' }).click();
  await page.getByRole('dialog', { name: 'Cancel every waiting task?' }).getByRole('button', { name: 'Cancel them' }).click();
  await waiting.getByRole('status').filter({ hasText: 'Cancelled 2 tasks.' }).waitFor();
  await waiting.getByText('0 tasks PENDING or SCHEDULED.').waitFor();

  await Promise.all(later.map((id) => waitForState(id, 'CANCELLED')));
  expect(errors.messages).toEqual([]);
});
