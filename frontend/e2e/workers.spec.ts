// Issue 20: the Workers page lists every worker with its host, pid and slots; a
// worker's drill-down shows the task it runs with a running time that grows, and
// its recent failures.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, createTask, eventually, waitForState } from './support/gateway';

interface WorkersJson {
  worker_details: { worker_id: string; hostname: string; pid: number; active_tasks: string[] }[];
}

it('drills down from the list to a worker, its running task and its failures', async ({ page, errors }) => {
  const doomed = await createTask('doomed', 'fails for good');
  await waitForState(doomed, 'DLQ');
  const sleepy = await createTask('sleepy', '20');
  await waitForState(sleepy, 'ACTIVE');
  const worker = await eventually(async () => {
    const answer = await api<WorkersJson>('GET', '/api/v1/workers/');
    return answer.worker_details.find((w) => w.active_tasks.includes(sleepy));
  }, 'the worker running the sleepy task');

  await page.goto(`${baseUrl()}/#/workers`);
  const list = page.getByRole('list', { name: 'All workers' });
  await list.getByText(`pid ${worker.pid}`).first().waitFor();
  await list.getByRole('link', { name: worker.worker_id }).click();
  expect(new URL(page.url()).hash).toBe(`#/workers?id=${encodeURIComponent(worker.worker_id)}`);

  const facts = page.locator('dl[aria-label="Worker facts"]');
  await facts.getByText(worker.hostname).waitFor();
  await facts.getByText('default', { exact: true }).waitFor(); // the queue it consumes
  const running = page.getByRole('list', { name: 'Running tasks' });
  await running.getByRole('link', { name: sleepy.slice(0, 8) }).waitFor();
  const elapsed = running.getByTestId('elapsed');
  const seconds = async (): Promise<number> => parseFloat((await elapsed.textContent()) ?? '0');
  const first = await seconds();
  await eventually(async () => (await seconds()) > first, 'the running time to grow');
  await page.getByRole('list', { name: 'Recent failures' }).getByRole('link', { name: doomed.slice(0, 8) }).waitFor();
  await screenshot(page, 'workers-drill-down');
  expect(errors.messages).toEqual([]);
});
