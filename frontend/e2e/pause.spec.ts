// Issue 20: pausing is visible on every page and controllable from the dashboard:
// Worker Statistics pauses (after confirmation), a banner says so and resumes.
import { afterEach, expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, createTask, eventually, waitForState } from './support/gateway';

afterEach(async () => {
  await api('POST', '/api/v1/executors/resume', {});
});

const paused = async (): Promise<boolean> =>
  (await api<{ paused: boolean }>('GET', '/api/v1/executors/status')).paused;

it('pauses from Worker Statistics, shows a banner on every page, and resumes from it', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/`);
  const workers = page.getByRole('region', { name: 'Worker Statistics' });
  await workers.getByRole('button', { name: 'Pause executors' }).click();
  await page.getByRole('dialog', { name: 'Pause the executors?' }).getByRole('button', { name: 'Pause', exact: true }).click();
  const banner = page.getByRole('alert', { name: 'Executors paused' });
  await banner.waitFor();
  await eventually(paused, 'executors paused');
  await screenshot(page, 'pause-banner');

  // The banner follows to another page. (Whether a task created now waits is not
  // asserted: workers see the flag within half a second, so it could race.)
  const taskId = await createTask('echo', 'runs after resume');
  await page.goto(`${baseUrl()}/#/history`);
  await banner.waitFor();

  await banner.getByRole('button', { name: 'Resume' }).click();
  await banner.waitFor({ state: 'detached' });
  await eventually(async () => !(await paused()), 'executors resumed');
  await waitForState(taskId, 'COMPLETED');
  expect(errors.messages).toEqual([]);
});
