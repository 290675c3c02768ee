// The dashboard's cost in the browser, for bench/dashboard.py (which starts the stack,
// seeds the tasks and runs the event generator; run it, not this file). Phases:
//   first-render  open the Dashboard, then Tasks History, on a quiet system
//   live          stay on each page for a window while events stream in
// Writes its figures as JSON to TASKFLOW_MEASURE_OUT. Measures, asserts nothing.
import { writeFileSync } from 'node:fs';
import { it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { baseUrl, openPage, screenshot } from './support/browser';
import { addProbes, countsShownAt, mainThread, readProbes, resetWorstFrame, timeRoute } from './support/probes';

const phase = process.env.TASKFLOW_MEASURE_PHASE ?? 'first-render';
const windowSeconds = Number(process.env.TASKFLOW_MEASURE_SECONDS ?? '20');
const ROW = 'tr[data-task-id]';

/** Requests by path (query left out), to show what the page fetched. */
function countRequests(page: Page): Map<string, number> {
  const counts = new Map<string, number>();
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
  });
  return counts;
}

async function firstRender(page: Page, cdp: CDPSession, requests: Map<string, number>) {
  await page.goto(`${baseUrl()}/`);
  const countsMs = await countsShownAt(page);
  const paint = await page.evaluate(
    () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
  );
  await page.locator('[data-connection="connected"]').waitFor();
  await page.getByRole('list', { name: 'Workers' }).waitFor();
  const probes = await readProbes(page);
  const thread = await mainThread(cdp);
  await screenshot(page, 'measure-first-render');
  const historyMs = await timeRoute(page, '#/history', ROW);
  await page.getByText(/Showing tasks/).waitFor();
  await screenshot(page, 'measure-history');
  return {
    firstContentfulPaintMs: paint,
    countsShownMs: countsMs,
    historyRowsMs: historyMs,
    longTasks: probes.longTasks,
    longTaskMs: probes.longTaskMs,
    mainThreadMs: thread.task * 1000,
    scriptMs: thread.script * 1000,
    heapUsedMb: thread.heapUsedMb,
    requests: Object.fromEntries(requests),
  };
}

/** The page's costs over `seconds` of live events. */
async function liveWindow(page: Page, cdp: CDPSession, requests: Map<string, number>, seconds: number) {
  await resetWorstFrame(page);
  const before = { probes: await readProbes(page), thread: await mainThread(cdp), at: Date.now() };
  requests.clear();
  await page.waitForTimeout(seconds * 1000);
  const after = { probes: await readProbes(page), thread: await mainThread(cdp), at: Date.now() };
  const wall = (after.at - before.at) / 1000;
  const delta = (key: keyof typeof before.probes): number => after.probes[key] - before.probes[key];
  const busy = after.thread.task - before.thread.task;
  const commits = delta('commits');
  return {
    seconds: wall,
    streamEventsPerSecond: delta('sseMessages') / wall,
    domCommitsPerSecond: commits / wall,
    mainThreadBusyShare: busy / wall,
    scriptMsPerSecond: ((after.thread.script - before.thread.script) * 1000) / wall,
    styleAndLayoutMsPerSecond:
      ((after.thread.style - before.thread.style + after.thread.layout - before.thread.layout) * 1000) / wall,
    mainThreadMsPerCommit: commits ? (busy * 1000) / commits : null,
    longTasks: delta('longTasks'),
    longTaskMs: delta('longTaskMs'),
    framesPerSecond: delta('frames') / wall,
    droppedFrames: delta('droppedFrames'),
    worstFrameMs: after.probes.worstFrameMs,
    heapUsedMb: { before: before.thread.heapUsedMb, after: after.thread.heapUsedMb },
    requests: Object.fromEntries(requests),
  };
}

it(`measures the dashboard (${phase})`, async () => {
  const out = process.env.TASKFLOW_MEASURE_OUT;
  if (!out) throw new Error('TASKFLOW_MEASURE_OUT is not set: run `python -m bench.dashboard`');
  const { browser, page } = await openPage();
  try {
    const cdp = await addProbes(page);
    const requests = countRequests(page);
    let figures: Record<string, unknown>;
    if (phase === 'first-render') {
      figures = await firstRender(page, cdp, requests);
    } else {
      await page.goto(`${baseUrl()}/`);
      await page.locator('[data-connection="connected"]').waitFor();
      await page.getByRole('list', { name: 'Workers' }).waitFor();
      await page.waitForTimeout(2000);
      const dashboard = await liveWindow(page, cdp, requests, windowSeconds);
      await screenshot(page, 'measure-live-dashboard');
      await timeRoute(page, '#/history', ROW);
      await page.waitForTimeout(2000);
      const history = await liveWindow(page, cdp, requests, windowSeconds);
      await screenshot(page, 'measure-live-history');
      figures = { dashboard, history };
    }
    writeFileSync(out, JSON.stringify(figures, null, 2));
  } finally {
    await browser.close();
  }
});
