// The Tasks History filters and their place in the URL (#/history?status=DLQ&type=echo),
// so a filtered list can be bookmarked, shared, reloaded and linked to.
export interface HistoryFilters {
  search: string;
  status: string;
  queue: string;
  taskType: string;
  from: string;
  to: string;
  sortBy: string;
  sortOrder: 'asc' | 'desc';
  page: number;
  pageSize: number;
}

export const DEFAULT_FILTERS: HistoryFilters = {
  search: '',
  status: '',
  queue: '',
  taskType: '',
  from: '',
  to: '',
  sortBy: 'created_at',
  sortOrder: 'desc',
  page: 1,
  pageSize: 10,
};


// URL parameter of each filter; a filter at its default is left out.
const PARAMS: Record<keyof HistoryFilters, string> = {
  search: 'task_id',
  status: 'status',
  queue: 'queue',
  taskType: 'type',
  from: 'from',
  to: 'to',
  sortBy: 'sort',
  sortOrder: 'order',
  page: 'page',
  pageSize: 'size',
};

export function filtersFromParams(params: URLSearchParams): HistoryFilters {
  const text = (key: keyof HistoryFilters): string => params.get(PARAMS[key]) ?? String(DEFAULT_FILTERS[key]);
  const whole = (key: 'page' | 'pageSize'): number => {
    const value = Number(params.get(PARAMS[key]));
    return Number.isInteger(value) && value > 0 ? value : DEFAULT_FILTERS[key];
  };
  return {
    search: text('search'),
    status: text('status').toUpperCase(),
    queue: text('queue').toLowerCase(),
    taskType: text('taskType'),
    from: text('from'),
    to: text('to'),
    sortBy: text('sortBy'),
    sortOrder: text('sortOrder') === 'asc' ? 'asc' : 'desc',
    page: whole('page'),
    pageSize: whole('pageSize'),
  };
}

/** The hash of the history page showing these filters (defaults for the rest). */
export function historyHash(filters: Partial<HistoryFilters>): string {
  const all = { ...DEFAULT_FILTERS, ...filters };
  const params = new URLSearchParams();
  for (const key of Object.keys(PARAMS) as (keyof HistoryFilters)[]) {
    if (all[key] !== DEFAULT_FILTERS[key] && all[key] !== '') params.set(PARAMS[key], String(all[key]));
  }
  const query = params.toString();
  return `#/history${query ? `?${query}` : ''}`;
}
