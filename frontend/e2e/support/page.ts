// The page every browser spec drives, as vitest fixtures: a test that names `page`
// (and `errors`, the console errors and uncaught exceptions collected on it) gets a
// fresh chromium with an empty profile, closed after the test whatever its outcome.
//
//   import { it } from './support/page';
//   it('shows the dashboard', async ({ page, errors }) => { ... });
//
// `pageTest(options)` makes an `it` whose pages open with other options (a phone
// viewport, console errors to allow).
import { test } from 'vitest';
import type { Page } from 'playwright-core';
import { openPage, type Browser, type PageErrors } from './browser';

type OpenOptions = NonNullable<Parameters<typeof openPage>[0]>;

interface PageFixtures {
  opened: { browser: Browser; page: Page; errors: PageErrors };
  page: Page;
  errors: PageErrors;
}

export function pageTest(options: OpenOptions = {}) {
  return test.extend<PageFixtures>({
    // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
    opened: async ({}, use) => {
      const opened = await openPage(options);
      try {
        await use(opened);
      } finally {
        await opened.browser.close();
      }
    },
    page: async ({ opened }, use) => use(opened.page),
    errors: async ({ opened }, use) => use(opened.errors),
  });
}

/** `it` with a fresh desktop page per test. */
export const it = pageTest();
