// Issue 16: the Limits page shows a per-tenant concurrency limit filling up as the
// tenant's tasks run, and the type's rate limit beside it.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { createTask, waitForState } from './support/gateway';

it('shows a tenant at its concurrency limit and the tasks held back', async ({ page, errors }) => {
  const metadata = { tenant: 'acme', record_to: `/tmp/limits-spec-${Date.now()}.log` };
  const ids = [];
  for (let i = 0; i < 3; i += 1) ids.push(await createTask('per_tenant', '4', { metadata }));

  await page.goto(`${baseUrl()}/#/limits`);
  await page.getByRole('link', { name: 'Limits' }).and(page.locator('[aria-current="page"]')).waitFor();
  const row = page.getByRole('row', { name: /per_tenant/ });
  await row.getByText('2 per metadata.tenant').waitFor();
  await row.getByRole('list', { name: 'Slots of per_tenant' }).getByText('acme').waitFor({ timeout: 60_000 });
  await row.getByText('full').waitFor();
  expect(await row.textContent()).toMatch(/[1-9]\d* by concurrency in all/);
  expect(await page.getByRole('row', { name: /metered/ }).textContent()).toContain('10/2s');
  await screenshot(page, 'limits-tenant-full');

  for (const id of ids) await waitForState(id, 'COMPLETED');
  await row.getByText('none').waitFor({ timeout: 30_000 });
  expect(errors.messages).toEqual([]);
});
