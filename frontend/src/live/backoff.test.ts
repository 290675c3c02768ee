import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';

const middle = (): number => 0.5;

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, DEFAULT_BACKOFF, middle))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('spreads by the jitter and never exceeds the cap', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(800);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(1200);
    expect(backoffDelay(20, DEFAULT_BACKOFF, () => 0.999999)).toBe(30000);
  });

  it('treats odd attempts as the first', () => {
    expect(backoffDelay(-3, DEFAULT_BACKOFF, middle)).toBe(1000);
    expect(backoffDelay(1.7, DEFAULT_BACKOFF, middle)).toBe(2000);
  });
});
