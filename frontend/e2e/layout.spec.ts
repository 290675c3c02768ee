// Usable on a phone-width screen (390 x 844): no page scrolls sideways, and the
// main navigation works from the keyboard alone.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { baseUrl, PHONE, screenshot } from './support/browser';
import { createTask, waitForState } from './support/gateway';
import { it, pageTest } from './support/page';

const onPhone = pageTest({ viewport: PHONE });

/** How far the page reaches past the viewport's right edge, in CSS pixels. */
const overflow = (page: Page): Promise<number> =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

onPhone('renders every page at phone width without horizontal overflow', async ({ page, errors }) => {
  const taskId = await createTask('echo', 'phone');
  await waitForState(taskId, 'COMPLETED');

  await page.goto(`${baseUrl()}/`);
  await page.getByRole('list', { name: 'Workers' }).waitFor();
  await page.getByTestId('flow-count-Completed').filter({ hasText: /^1$/ }).waitFor();
  await screenshot(page, 'phone-dashboard');
  expect(await overflow(page), 'dashboard').toBeLessThanOrEqual(0);

  await page.goto(`${baseUrl()}/#/history`);
  const row = page.locator(`tr[data-task-id="${taskId}"]`);
  // The list comes first on a phone: the newest task is on the first screen, the
  // filters fold behind a button.
  await row.waitFor();
  const top = (await row.boundingBox())?.y ?? Infinity;
  expect(top, 'first row on the first screen').toBeLessThan(PHONE.height);
  expect(await page.getByLabel('Status').isVisible()).toBe(false);
  await page.getByRole('button', { name: 'Filters', exact: true }).click();
  await page.getByLabel('Status').waitFor();
  await page.getByRole('button', { name: 'Hide filters' }).click();
  await row.getByRole('button', { name: /View Details/ }).click();
  await page.getByTestId('task-details').getByText('Task Result').waitFor();
  await screenshot(page, 'phone-history');
  expect(await overflow(page), 'history').toBeLessThanOrEqual(0);

  await page.goto(`${baseUrl()}/#/cleanup`);
  await page.getByText(/in the DLQ/).waitFor();
  await screenshot(page, 'phone-cleanup');
  expect(await overflow(page), 'cleanup').toBeLessThanOrEqual(0);

  await page.goto(`${baseUrl()}/#/new`);
  await page.getByLabel('Text to summarize').waitFor();
  await screenshot(page, 'phone-new-task');
  expect(await overflow(page), 'new task').toBeLessThanOrEqual(0);
  expect(errors.messages).toEqual([]);
});

it('moves through the main navigation with the keyboard', async ({ page, errors }) => {
  await page.goto(`${baseUrl()}/`);
  await page.getByRole('list', { name: 'Workers' }).waitFor();

  const focused = (): Promise<string> =>
    page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText?.trim() ?? '');
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('Skip to content');
  for (const tab of ['Dashboard', 'Tasks History']) {
    await page.keyboard.press('Tab');
    expect(await focused()).toBe(tab);
  }
  // A keyboard user sees where the focus is.
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement as Element).boxShadow);
  expect(ring).not.toBe('none');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 2, name: 'Tasks History', exact: true }).waitFor();
  expect(new URL(page.url()).hash).toBe('#/history');

  await page.keyboard.press('Tab');
  expect(await focused()).toBe('Tasks Cleanup');
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('New Task');
  await page.keyboard.press('Enter');
  await page.getByLabel('Text to summarize').waitFor();

  // Skip to content lands in the page, past the navigation, and stays on it.
  await page.reload();
  await page.getByLabel('Text to summarize').waitFor();
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('Skip to content');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('summarize-content');
  expect(new URL(page.url()).hash).toBe('#/new');
  await screenshot(page, 'keyboard-new-task');
  expect(errors.messages).toEqual([]);
});
