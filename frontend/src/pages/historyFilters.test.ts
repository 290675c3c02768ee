import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, filtersFromParams, historyHash } from './historyFilters';

describe('history filters in the URL', () => {
  it('reads a link and writes only what differs from the defaults', () => {
    const filters = filtersFromParams(new URLSearchParams('status=dlq&type=echo&page=3&size=oops'));
    expect(filters).toEqual({ ...DEFAULT_FILTERS, status: 'DLQ', taskType: 'echo', page: 3 });
    expect(historyHash(filters)).toBe('#/history?status=DLQ&type=echo&page=3');
    expect(historyHash({})).toBe('#/history');
  });

  it('round-trips every filter', () => {
    const filters = {
      search: '10ae',
      status: 'FAILED',
      queue: 'retry',
      taskType: 'noop',
      from: '2026-01-01T00:00',
      to: '2026-02-01T00:00',
      sortBy: 'updated_at',
      sortOrder: 'asc' as const,
      page: 2,
      pageSize: 50,
    };
    const query = historyHash(filters).split('?')[1] ?? '';
    expect(filtersFromParams(new URLSearchParams(query))).toEqual(filters);
  });
});
