// Issue 20: every registered task type (from GET /api/v1/task-types) can be created
// from New Task, with content and JSON metadata, and filtered on in Tasks History;
// issue 15: New Task runs one after a delay or at a local time.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { getTask, waitForState } from './support/gateway';

it('creates a task of a module-registered type with metadata and filters on its type', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/#/new`);
  const form = page.getByRole('region', { name: 'Any task type' });
  await form.getByLabel('Task type').locator('option[value="echo"]').waitFor({ state: 'attached' });
  await form.getByLabel('Task type').selectOption('echo');
  await form.getByTestId('task-type-settings').filter({ hasText: 'from a task module' }).waitFor();
  await form.getByLabel('Content').fill('hello from any type');

  await form.getByLabel('Metadata (JSON object)').fill('[1, 2]');
  await form.getByText('Metadata must be a JSON object').waitFor();
  expect(await form.getByRole('button', { name: 'Submit echo task' }).isDisabled()).toBe(true);
  await form.getByLabel('Metadata (JSON object)').fill('{"source": "browser", "n": 2}');
  await form.getByRole('button', { name: 'Submit echo task' }).click();

  const taskId = (await page.getByTestId('followed-task-id').textContent())?.trim() ?? '';
  await waitForState(taskId, 'COMPLETED');
  await page.getByRole('region', { name: 'Your task' }).getByText('hello from any type').first().waitFor();
  await screenshot(page, 'types-new-task');
  const stored = (await getTask(taskId)) as unknown as { task_type: string; metadata: Record<string, unknown> };
  expect(stored.task_type).toBe('echo');
  expect(stored.metadata).toEqual({ source: 'browser', n: 2 });

  await page.goto(`${baseUrl()}/#/history`);
  await page.getByLabel('Type').locator('option[value="noop"]').waitFor({ state: 'attached' });
  await page.getByLabel('Type').selectOption('echo');
  await page.locator(`tr[data-task-id="${taskId}"]`).waitFor();
  expect(new URL(page.url()).hash).toBe('#/history?type=echo');
  expect(errors.messages).toEqual([]);
});

it('creates a task that runs after a delay, and one for a local time', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/#/new`);
  const form = page.getByRole('region', { name: 'Any task type' });
  await form.getByLabel('Task type').locator('option[value="echo"]').waitFor({ state: 'attached' });
  await form.getByLabel('Task type').selectOption('echo');
  await form.getByLabel('Content').fill('run me later');
  await form.getByLabel('Run', { exact: true }).selectOption('delay');
  await form.getByLabel('Delay', { exact: true }).fill('2');
  await form.getByLabel('Delay unit').selectOption('seconds');
  await form.getByRole('button', { name: 'Submit echo task' }).click();

  const followed = page.getByRole('region', { name: 'Your task' });
  const delayedId = (await page.getByTestId('followed-task-id').textContent())?.trim() ?? '';
  await followed.getByText('SCHEDULED').first().waitFor();
  await screenshot(page, 'types-new-task-delayed');
  await waitForState(delayedId, 'COMPLETED');
  const ran = (await getTask(delayedId)) as unknown as { run_at: string; started_at: string; created_at: string };
  expect(Date.parse(ran.run_at) - Date.parse(ran.created_at)).toBeGreaterThanOrEqual(1900);
  expect(Date.parse(ran.started_at)).toBeGreaterThanOrEqual(Date.parse(ran.run_at));

  // An hour from now in the browser's local time: stored SCHEDULED at that instant.
  const soon = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
  const local = new Date(soon.getTime() - soon.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await form.getByLabel('Run', { exact: true }).selectOption('at');
  await form.getByLabel('Run at (your local time)').fill(local);
  await form.getByRole('button', { name: 'Submit echo task' }).click();
  await page.getByTestId('followed-task-id').filter({ hasNotText: delayedId }).waitFor();
  const laterId = (await page.getByTestId('followed-task-id').textContent())?.trim() ?? '';
  await waitForState(laterId, 'SCHEDULED');
  const later = (await getTask(laterId)) as unknown as { run_at: string };
  expect(Date.parse(later.run_at)).toBe(soon.getTime());
  expect(errors.messages).toEqual([]);
});
