// A task a claim set aside as corrupt (tasks:corrupt): a badge beside the page title
// says so on every page, links to the Queues page, which lists the id with what is
// left of its hash and drops it after confirmation; then the badge goes away.
// The Python side (tests/browser/test_pages.py) put one malformed task on a queue
// and waited until the stack's executor set it aside: its id is CORRUPT_TASK_ID.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, eventually } from './support/gateway';

const corruptTotal = async (): Promise<number> =>
  Number((await api<{ total: string }>('GET', '/api/v1/queues/corrupt')).total);

it('shows a badge while a task is set aside as corrupt and drops it from the Queues page', async ({ page, errors }) => {
  const taskId = process.env.CORRUPT_TASK_ID ?? '';
  expect(taskId).not.toBe('');
  await page.goto(`${baseUrl()}/#/history`);
  const badge = page.getByRole('link', { name: '1 task set aside as corrupt' });
  await badge.waitFor();
  await screenshot(page, 'corrupt-badge');
  await badge.click();

  const item = page.getByRole('listitem', { name: `Corrupt ${taskId}` });
  await item.getByText('created_us=""').waitFor();
  await page.getByRole('button', { name: 'Drop the corrupt ids listed' }).click();
  await page.getByRole('dialog', { name: 'Drop these ids?' }).getByRole('button', { name: 'Drop 1' }).click();
  await page.getByRole('heading', { name: /Set aside as corrupt/ }).waitFor({ state: 'detached' });
  await badge.waitFor({ state: 'detached' });
  await eventually(async () => (await corruptTotal()) === 0, 'the corrupt list empty');
  expect(errors.messages).toEqual([]);
});
