import { describe, expect, it } from 'vitest';
import { advance, emptyThroughput, record, summarize } from './throughput';

describe('throughput window', () => {
  it('records per second and slides forward', () => {
    let window = emptyThroughput(100, 5);
    window = record(window, 100, { created: 2 });
    window = record(window, 102, { completed: 1 });
    expect(window.endSecond).toBe(102);
    expect(window.buckets.map((b) => b.created)).toEqual([0, 0, 2, 0, 0]);
    expect(window.buckets.map((b) => b.completed)).toEqual([0, 0, 0, 0, 1]);
    window = advance(window, 105);
    expect(summarize(window, 5)).toEqual({ created: 0, completed: 1, failed: 0 });
    expect(advance(window, 200).buckets.every((b) => b.created + b.completed === 0)).toBe(true);
  });

  it('drops counts older than the window and never moves backwards', () => {
    const window = emptyThroughput(100, 5);
    expect(record(window, 90, { created: 1 })).toEqual(window);
    expect(advance(window, 50)).toBe(window);
    expect(record(window, 99, { failed: 1 }).buckets[3]?.failed).toBe(1);
  });
});
