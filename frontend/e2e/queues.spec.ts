// Issue 16: the Queues page lists every named queue with its depth, priorities,
// paused state and consuming workers, and pauses (after confirmation) and resumes one.
import { afterEach, expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, createTask, eventually, waitForState } from './support/gateway';

afterEach(async () => {
  await api('POST', '/api/v1/queues/default/resume', {});
});

interface Named {
  name: string;
  paused: boolean;
}

const defaultPaused = async (): Promise<boolean> => {
  const status = await api<{ named_queues: Named[] }>('GET', '/api/v1/queues/status');
  return status.named_queues.find((q) => q.name === 'default')?.paused === true;
};

it('lists the queues, pauses one after confirmation and resumes it', async ({ page, errors }) => {
  // A queue no executor of the stack consumes: its task waits there, visibly.
  const parked = await createTask('echo', 'waits in emails', { queue: 'emails', priority: 4 });
  await page.goto(`${baseUrl()}/#/queues`);
  const emails = page.getByRole('row', { name: 'Queue emails' });
  await emails.getByText('p4: 1').waitFor();
  const local = page.getByRole('row', { name: 'Queue default' });
  await local.getByText('Active').waitFor();

  await local.getByRole('button', { name: 'Pause queue default' }).click();
  await page.getByRole('dialog', { name: 'Pause queue default?' }).getByRole('button', { name: 'Pause', exact: true }).click();
  await local.getByText('Paused').waitFor();
  await eventually(defaultPaused, 'default paused');
  await screenshot(page, 'queues-paused');

  const held = await createTask('echo', 'runs after resume');
  await local.getByRole('button', { name: 'Resume queue default' }).click();
  await local.getByText('Active').waitFor();
  await eventually(async () => !(await defaultPaused()), 'default resumed');
  await waitForState(held, 'COMPLETED');
  await api('POST', `/api/v1/tasks/${parked}/cancel`);
  expect(errors.messages).toEqual([]);
});
