// Every page renders against the live stack: the header and tabs of contract §9, the
// dashboard's graph, queue cards, workers and provider, and no console errors.
import { describe, expect } from 'vitest';
import { baseUrl, screenshot } from './support/browser';
import { it } from './support/page';
import { createTask, waitForState } from './support/gateway';

describe('the pages', () => {
  it('shows the dashboard with live counts, workers and the provider', async ({ page, errors }) => {
    const done = await createTask('echo', 'hello');
    await waitForState(done, 'COMPLETED');

    await page.goto(`${baseUrl()}/`);
    await page.getByRole('heading', { name: /AsyncTaskFlow/ }).waitFor();
    await page.locator('[data-connection="connected"]').waitFor();
    await page.getByTestId('flow-count-Completed').filter({ hasText: /^1$/ }).waitFor();
    for (const node of ['Task Submit', 'Primary', 'Active', 'Completed', 'Failed', 'Dead Letter', 'Retry', 'Scheduled']) {
      await page.locator('.react-flow__node').filter({ hasText: node }).first().waitFor();
    }
    for (const queue of ['primary', 'retry', 'scheduled', 'dlq']) {
      expect(await page.getByTestId(`queue-${queue}`).textContent()).toBe('0');
    }
    await page.getByRole('list', { name: 'Workers' }).getByRole('listitem').first().waitFor();
    await page.getByRole('heading', { name: 'Provider Status' }).waitFor();
    await page.getByText('Last check').waitFor();
    expect(await page.getByTestId('last-updated').textContent()).not.toBe('—');
    // The server's series: the task completed before the page opened is in both charts.
    await page.getByTestId('latency-max').filter({ hasText: /\d/ }).waitFor();
    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '1 hour' }).click();
    await page.getByRole('img', { name: /^Throughput per minute over the last hour: .*Completed [1-9]/ }).waitFor();
    await screenshot(page, 'pages-dashboard');
    expect(errors.messages).toEqual([]);
  });

  it('opens each tab from the navigation', async ({ page, errors }) => {
    await page.goto(`${baseUrl()}/`);
    const nav = page.getByRole('navigation', { name: 'Pages' });
    for (const [tab, loaded, shot] of [
      ['Tasks History', /Showing tasks/, 'pages-history'],
      ['Tasks Cleanup', /in the DLQ/, 'pages-cleanup'],
      ['New Task', /Summarize a text/, 'pages-new-task'],
      ['Dashboard', /Total Workers/, 'pages-dashboard-again'],
    ] as const) {
      await nav.getByRole('link', { name: tab }).click();
      await page.getByRole('heading', { level: 2, name: tab, exact: true }).waitFor();
      expect(await nav.getByRole('link', { name: tab }).getAttribute('aria-current')).toBe('page');
      await page.getByText(loaded).first().waitFor();
      await screenshot(page, shot);
    }
    expect(errors.messages).toEqual([]);
  });
});
