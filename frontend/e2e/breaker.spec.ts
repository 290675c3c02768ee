// Issue 6: open the shared circuit breaker from Worker Statistics, see it open, then
// reset it; both ask for confirmation first.
import { expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { api, eventually } from './support/gateway';

// Each breaker's state by service (`circuit_breaker_states` counts workers per state).
const breakerState = async (): Promise<string | undefined> =>
  (await api<{ breakers: Record<string, string> }>('GET', '/api/v1/workers/')).breakers.openrouter;

it('opens and resets the circuit breaker', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/`);
  const workers = page.getByRole('region', { name: 'Worker Statistics' });
  await workers.getByRole('list', { name: 'Workers' }).waitFor();

  await workers.getByRole('button', { name: 'Open circuit breaker' }).click();
  const openDialog = page.getByRole('dialog', { name: 'Open the circuit breaker?' });
  await screenshot(page, 'breaker-confirm-open');
  await openDialog.getByRole('button', { name: 'Open', exact: true }).click();
  await workers.getByRole('status').filter({ hasText: /opened/i }).waitFor();
  await eventually(async () => (await breakerState()) === 'OPEN', 'breaker open');
  await workers.getByText('CB: open').first().waitFor();
  await screenshot(page, 'breaker-open');

  await workers.getByRole('button', { name: 'Reset circuit breaker' }).click();
  await page.getByRole('dialog', { name: 'Reset the circuit breaker?' }).getByRole('button', { name: 'Reset' }).click();
  await workers.getByRole('status').filter({ hasText: /reset/i }).waitFor();
  await eventually(async () => (await breakerState()) === 'CLOSED', 'breaker closed');
  await workers.getByText('CB: closed').first().waitFor();
  await screenshot(page, 'breaker-reset');
  expect(errors.messages).toEqual([]);
});
