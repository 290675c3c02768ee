// Issue 15: a schedule made from the Schedules page fires, is paused, triggered and
// deleted; a task's retention shows on its details.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, eventually } from './support/gateway';

interface ScheduleJson {
  schedule_id: string;
  paused?: boolean;
  fire_count?: string;
  last_task_id?: string;
}

const schedules = async (): Promise<ScheduleJson[]> =>
  (await api<{ schedules?: ScheduleJson[] }>('GET', '/api/v1/schedules')).schedules ?? [];

it('creates a schedule from the form, sees it fire, pauses, triggers and deletes it', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/#/schedules`);
  await page.getByLabel('Task type').fill('echo');
  await page.getByLabel('Content', { exact: true }).fill('tick');
  await page.getByLabel('Timing').selectOption('interval');
  await page.getByLabel('Every (seconds)').fill('1');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await page.getByRole('status').getByText(/created; next fire/).waitFor();
  const [made] = await schedules();
  expect(made).toBeDefined();
  const sid = made!.schedule_id;
  const row = page.locator(`tr[data-schedule-id="${sid}"]`);
  await row.getByText('COMPLETED').waitFor({ timeout: 30_000 });
  await screenshot(page, 'schedules-firing');

  await row.getByRole('button', { name: `Pause schedule ${sid}` }).click();
  await row.getByText('Paused').waitFor();
  expect((await schedules())[0]?.paused).toBe(true);
  const fired = Number((await schedules())[0]?.fire_count ?? 0);
  await row.getByRole('button', { name: `Trigger schedule ${sid}` }).click();
  await page.getByRole('status').getByText(/^Task .* created\.$/).waitFor();
  await eventually(async () => Number((await schedules())[0]?.fire_count ?? 0) === fired + 1, 'the trigger counted');

  await row.getByRole('button', { name: `Delete schedule ${sid}` }).click();
  await page.getByRole('dialog', { name: 'Delete this schedule?' }).getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  expect(await schedules()).toEqual([]);
  expect(errors.messages).toEqual([]);
});

it("shows a task's retention on its details", async ({ page, errors }) => {
  const created = await api<{ task_id: string }>('POST', '/api/v1/tasks', {
    task_type: 'echo',
    content: 'kept briefly',
    retention: 3600,
  });
  await page.goto(`${baseUrl()}/#/history`);
  const row = page.locator(`tr[data-task-id="${created.task_id}"]`);
  await row.getByRole('button', { name: /View Details/ }).click();
  await page.getByText('1h 0m once finished').waitFor();
  expect(errors.messages).toEqual([]);
});
