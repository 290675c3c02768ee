// The browser tests (e2e/*.spec.ts): chromium against a running stack, one file at
// a time, with timeouts for a loaded machine. Run them through pytest
// (tests/browser), which starts the stack and passes its URL.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // *.measure.ts: the dashboard benchmark's browser side (bench/dashboard.py runs it).
    include: ['e2e/**/*.spec.ts', 'e2e/**/*.measure.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 90_000,
    reporters: ['verbose'],
  },
});
