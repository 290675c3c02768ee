// Measuring probes installed in the page before the app starts: stream events seen,
// DOM commits (one MutationObserver callback per React commit that changed the
// page), long tasks, animation frames; plus chromium's own main-thread counters.
import type { CDPSession, Page } from 'playwright-core';

/** Runs in the page: keep this function self-contained (it is serialised). */
function installProbes(): void {
  const probe = {
    sseMessages: 0,
    commits: 0,
    longTasks: 0,
    longTaskMs: 0,
    frames: 0,
    // Frames a 60 Hz display would have shown but the page did not paint.
    droppedFrames: 0,
    worstFrameMs: 0,
    /** performance.now() once `selector` matches an element whose text is not `unless`. */
    until: (selector: string, unless = ''): Promise<number> =>
      new Promise<number>((resolve) => waiters.push({ selector, unless, resolve })),
  };
  const waiters: { selector: string; unless: string; resolve: (at: number) => void }[] = [];
  const checkWaiters = (): void => {
    for (const waiter of [...waiters]) {
      const found = document.querySelector(waiter.selector);
      if (found && found.textContent !== waiter.unless) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(performance.now());
      }
    }
  };
  (window as unknown as { __probe: typeof probe }).__probe = probe;

  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init);
      this.addEventListener('message', () => {
        probe.sseMessages += 1;
      });
    }
  };

  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      probe.longTasks += 1;
      probe.longTaskMs += entry.duration;
    }
  }).observe({ type: 'longtask', buffered: true });

  let last = 0;
  const frame = (now: number): void => {
    if (last) {
      const gap = now - last;
      probe.frames += 1;
      probe.worstFrameMs = Math.max(probe.worstFrameMs, gap);
      probe.droppedFrames += Math.max(0, Math.round(gap / (1000 / 60)) - 1);
    }
    last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  new MutationObserver(() => {
    probe.commits += 1;
    if (waiters.length) checkWaiters();
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  // First render: the dashboard's counts replace their initial zero.
  (window as unknown as { __countsShown: Promise<number> }).__countsShown = probe.until(
    '[data-testid="flow-count-Completed"]',
    '0',
  );
}

export interface ProbeValues {
  sseMessages: number;
  commits: number;
  longTasks: number;
  longTaskMs: number;
  frames: number;
  droppedFrames: number;
  worstFrameMs: number;
}

export async function addProbes(page: Page): Promise<CDPSession> {
  await page.addInitScript(installProbes);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return cdp;
}

export async function readProbes(page: Page): Promise<ProbeValues> {
  return page.evaluate(() => {
    const { until: _until, ...values } = (window as unknown as { __probe: ProbeValues & { until: unknown } }).__probe;
    return values;
  });
}

/** ms from navigation start until the dashboard showed the stored counts. */
export function countsShownAt(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __countsShown: Promise<number> }).__countsShown);
}

/** ms from setting the hash route until `selector` shows up on the new page. */
export function timeRoute(page: Page, hash: string, selector: string): Promise<number> {
  return page.evaluate(
    async ([route, sel]) => {
      const probe = (window as unknown as { __probe: { until(s: string): Promise<number> } }).__probe;
      const start = performance.now();
      location.hash = route;
      return (await probe.until(sel)) - start;
    },
    [hash, selector] as const,
  );
}

/** Reset the worst-frame gauge (the other values are counters, read as differences). */
export async function resetWorstFrame(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __probe: ProbeValues }).__probe.worstFrameMs = 0;
  });
}

export interface MainThread {
  /** Seconds of main-thread work, by kind (chromium's Performance domain). */
  task: number;
  script: number;
  layout: number;
  style: number;
  heapUsedMb: number;
}

export async function mainThread(cdp: CDPSession): Promise<MainThread> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name: string): number => metrics.find((m) => m.name === name)?.value ?? 0;
  return {
    task: value('TaskDuration'),
    script: value('ScriptDuration'),
    layout: value('LayoutDuration'),
    style: value('RecalcStyleDuration'),
    heapUsedMb: value('JSHeapUsedSize') / 1024 / 1024,
  };
}
