// Tasks History: one page of task summaries at a time (never all tasks), filtered
// and sorted by the gateway, with rows patched live from the stream.
import { memo, Fragment, useEffect, useMemo, useState, type ReactNode } from 'react';
import { QUEUE_NAMES, TASK_STATES, type Page, type TaskQuery, type TaskSummary } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { TaskDetails } from '../components/TaskDetails';
import { Button, ErrorMessage, StatusBadge, TypeBadge } from '../components/ui';
import { errorText, formatDateTime } from '../format';
import type { TaskChange } from '../live/reducer';
import { useServices } from '../services';
import { useTaskTypes } from '../useTaskTypes';
import { DEFAULT_FILTERS, filtersFromParams, historyHash, type HistoryFilters } from './historyFilters';

const PAGE_SIZES = [10, 20, 50, 100];
const SORT_FIELDS = [
  { value: 'created_at', label: 'Created' },
  { value: 'updated_at', label: 'Updated' },
  { value: 'completed_at', label: 'Completed' },
];

/** How many filters differ from the defaults (sort and page size aside). */
function activeFilterCount(filters: HistoryFilters): number {
  const keys = ['search', 'status', 'queue', 'taskType', 'from', 'to'] as const;
  return keys.filter((key) => filters[key] !== DEFAULT_FILTERS[key]).length;
}

/** datetime-local value (local time) to ISO UTC; '' stays ''. */
function toIso(local: string): string {
  if (!local) return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** The types to offer: the registered ones, plus the one filtered on (from a link). */
function typeChoices(registered: string[], current: string): string[] {
  const known = registered.length ? registered : ['summarize', 'pdfxtract'];
  return current && !known.includes(current) ? [...known, current] : known;
}

export function toQuery(filters: HistoryFilters): TaskQuery {
  return {
    task_id: filters.search.trim() || undefined,
    status: filters.status || undefined,
    queue: filters.queue || undefined,
    task_type: filters.taskType || undefined,
    start_date: toIso(filters.from) || undefined,
    end_date: toIso(filters.to) || undefined,
    sort_by: filters.sortBy,
    sort_order: filters.sortOrder,
    page: filters.page,
    page_size: filters.pageSize,
  };
}

interface Row extends TaskSummary {
  deleted?: boolean;
  flash?: number;
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export const TasksHistoryPage = memo(function TasksHistoryPage({
  query: routeQuery = '',
}: {
  /** The route's query string: the filters to start from (see historyFilters.ts). */
  query?: string;
}) {
  const { client, store } = useServices();
  const taskTypes = useTaskTypes().map((kind) => kind.name);
  const [filters, setFilters] = useState<HistoryFilters>(() => filtersFromParams(new URLSearchParams(routeQuery)));
  const initialSearch = filters.search;
  const [searchText, setSearchText] = useState(initialSearch);
  const search = useDebounced(searchText, 300);
  const [page, setPage] = useState<Page<Row> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [reload, setReload] = useState(0);
  const [expanded, setExpanded] = useState<string | null>(initialSearch || null);
  const [versions, setVersions] = useState<Record<string, number>>({});
  const [newTasks, setNewTasks] = useState(0);
  const [showFilters, setShowFilters] = useState(false);

  const query = useMemo(() => toQuery({ ...filters, search }), [filters, search]);

  // The filters live in the URL; replaceState, so editing them adds no history
  // entries and does not remount the page (no hashchange event).
  useEffect(() => {
    const hash = historyHash({ ...filters, search });
    if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
  }, [filters, search]);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    client
      .taskSummaries(query, controller.signal)
      .then((result) => {
        setPage(result);
        setError(null);
        setNewTasks(0);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(errorText(err));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [client, query, reload]);

  // Live: patch the rows on screen; count new tasks rather than reshuffle the page.
  useEffect(
    () =>
      store.onTaskChanges((changes: TaskChange[]) => {
        const byId = new Map(changes.map((change) => [change.taskId, change]));
        setPage((current) => {
          if (!current || !current.tasks.some((row) => byId.has(row.task_id))) return current;
          const now = Date.now();
          return {
            ...current,
            tasks: current.tasks.map((row) => {
              const change = byId.get(row.task_id);
              if (!change) return row;
              return change.state === null
                ? { ...row, deleted: true }
                : { ...row, state: change.state, updated_at: new Date(now).toISOString(), flash: now };
            }),
          };
        });
        setVersions((current) => {
          let next = current;
          for (const id of Object.keys(current)) {
            if (byId.has(id)) next = { ...next, [id]: (next[id] ?? 0) + 1 };
          }
          return next;
        });
        const created = changes.filter((change) => change.created).length;
        if (created) setNewTasks((count) => count + created);
      }),
    [store],
  );

  const update = (patch: Partial<HistoryFilters>): void =>
    setFilters((current) => ({ ...current, page: 1, ...patch }));

  const toggle = (taskId: string): void => {
    setExpanded((current) => (current === taskId ? null : taskId));
    setVersions((current) => ({ [taskId]: current[taskId] ?? 0 }));
  };

  const removeRow = (taskId: string): void =>
    setPage((current) =>
      current
        ? { ...current, tasks: current.tasks.filter((row) => row.task_id !== taskId), total_items: Math.max(0, current.total_items - 1) }
        : current,
    );

  const first = page && page.total_items ? (page.page - 1) * page.page_size + 1 : 0;
  const last = page ? first + Math.max(0, page.tasks.length - 1) : 0;
  const totalPages = Math.max(1, page?.total_pages ?? 1);

  const active = activeFilterCount({ ...filters, search });

  return (
    <div className="space-y-4">
      {/* On a phone the list comes first: the filters fold behind this button. */}
      <Button
        className="w-full sm:hidden"
        aria-expanded={showFilters}
        aria-controls="history-filters"
        onClick={() => setShowFilters((shown) => !shown)}
      >
        {showFilters ? 'Hide filters' : `Filters${active ? ` (${active} active)` : ''}`}
      </Button>
      <form
        id="history-filters"
        className={`${showFilters ? 'grid' : 'hidden'} gap-3 rounded-xl border border-slate-200 bg-white p-4 sm:grid sm:grid-cols-2 lg:grid-cols-4`}
        onSubmit={(event) => event.preventDefault()}
        aria-label="Filter tasks"
      >
        <Labeled label="Search by task ID" htmlFor="f-search">
          <input
            id="f-search"
            type="search"
            placeholder="Task ID or prefix…"
            value={searchText}
            onChange={(event) => {
              setSearchText(event.target.value);
              update({});
            }}
            className={INPUT}
          />
        </Labeled>
        <Labeled label="Status" htmlFor="f-status">
          <select id="f-status" value={filters.status} onChange={(e) => update({ status: e.target.value })} className={INPUT}>
            <option value="">All Statuses</option>
            {TASK_STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </Labeled>
        <Labeled label="Queue" htmlFor="f-queue">
          <select id="f-queue" value={filters.queue} onChange={(e) => update({ queue: e.target.value })} className={INPUT}>
            <option value="">Any Queue</option>
            {QUEUE_NAMES.map((queue) => (
              <option key={queue} value={queue}>
                {queue}
              </option>
            ))}
          </select>
        </Labeled>
        <Labeled label="Type" htmlFor="f-type">
          <select id="f-type" value={filters.taskType} onChange={(e) => update({ taskType: e.target.value })} className={INPUT}>
            <option value="">All Types</option>
            {typeChoices(taskTypes, filters.taskType).map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </Labeled>
        <div className="grid grid-cols-2 gap-2">
          <Labeled label="Sort by" htmlFor="f-sort">
            <select id="f-sort" value={filters.sortBy} onChange={(e) => update({ sortBy: e.target.value })} className={INPUT}>
              {SORT_FIELDS.map((field) => (
                <option key={field.value} value={field.value}>
                  {field.label}
                </option>
              ))}
            </select>
          </Labeled>
          <Labeled label="Order" htmlFor="f-order">
            <select
              id="f-order"
              value={filters.sortOrder}
              onChange={(e) => update({ sortOrder: e.target.value === 'asc' ? 'asc' : 'desc' })}
              className={INPUT}
            >
              <option value="desc">Newest first</option>
              <option value="asc">Oldest first</option>
            </select>
          </Labeled>
        </div>
        <Labeled label="Created from" htmlFor="f-from">
          <input id="f-from" type="datetime-local" value={filters.from} onChange={(e) => update({ from: e.target.value })} className={INPUT} />
        </Labeled>
        <Labeled label="Created to" htmlFor="f-to">
          <input id="f-to" type="datetime-local" value={filters.to} onChange={(e) => update({ to: e.target.value })} className={INPUT} />
        </Labeled>
        <Labeled label="Rows per page" htmlFor="f-size">
          <select id="f-size" value={filters.pageSize} onChange={(e) => update({ pageSize: Number(e.target.value) })} className={INPUT}>
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </Labeled>
        <div className="flex items-end gap-2">
          <Button
            onClick={() => {
              setSearchText('');
              setFilters(DEFAULT_FILTERS);
            }}
          >
            Clear filters
          </Button>
          <Button onClick={() => setReload((n) => n + 1)}>Refresh</Button>
        </div>
      </form>

      {error && <ErrorMessage>{error}</ErrorMessage>}
      {newTasks > 0 && (
        <div role="status" className="flex items-center justify-between rounded-md border border-blue-200 bg-blue-50 px-3 py-2 text-sm text-blue-900">
          <span>
            {newTasks} new task{newTasks === 1 ? '' : 's'} since this page was loaded.
          </span>
          <Button onClick={() => setReload((n) => n + 1)}>Show</Button>
        </div>
      )}

      <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white">
        {/* Below md each row is a card: a 720 px table would leave a phone scrolling sideways. */}
        <table className="w-full text-left text-sm md:min-w-[720px]" aria-busy={loading}>
          <caption className="sr-only">Tasks</caption>
          <thead className="hidden border-b border-slate-200 bg-slate-50 text-slate-700 md:table-header-group">
            <tr>
              <th scope="col" className="px-4 py-3 font-medium">Task ID</th>
              <th scope="col" className="px-4 py-3 font-medium">Status</th>
              <th scope="col" className="px-4 py-3 font-medium">Task Type</th>
              <th scope="col" className="px-4 py-3 font-medium">Created At</th>
              <th scope="col" className="px-4 py-3 font-medium">Actions</th>
            </tr>
          </thead>
          <tbody className="block md:table-row-group">
            {page?.tasks.length === 0 && (
              <tr className="block md:table-row">
                <td colSpan={5} className="block px-4 py-8 text-center text-slate-500 md:table-cell">
                  No tasks match.
                </td>
              </tr>
            )}
            {page?.tasks.map((row) => {
              const open = expanded === row.task_id;
              return (
                <Fragment key={row.task_id}>
                  <tr
                    data-task-id={row.task_id}
                    className={`flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-slate-100 px-4 py-3 md:table-row md:p-0 ${open ? 'bg-blue-50' : ''} ${row.deleted ? 'opacity-50' : ''}`}
                  >
                    <td className={`${CELL} w-full font-mono text-xs break-all md:w-auto`}>{row.task_id}</td>
                    <td key={row.flash ?? 0} className={`${CELL} ${row.flash ? 'flash' : ''}`}>
                      {row.deleted ? <span className="text-slate-500">deleted</span> : <StatusBadge state={row.state} />}
                    </td>
                    <td className={CELL}><TypeBadge type={row.task_type} /></td>
                    <td className={`${CELL} text-slate-600 md:text-inherit`}>{formatDateTime(row.created_at)}</td>
                    <td className={`${CELL} w-full md:w-auto`}>
                      <div className="flex flex-wrap gap-2">
                        <Button
                          aria-expanded={open}
                          aria-controls={`details-${row.task_id}`}
                          onClick={() => toggle(row.task_id)}
                          disabled={row.deleted}
                        >
                          {open ? '▴ Hide Details' : '▾ View Details'}
                        </Button>
                        <ConfirmButton
                          label="Delete"
                          ariaLabel={`Delete task ${row.task_id}`}
                          title="Delete this task?"
                          message={<>Task <code className="break-all">{row.task_id}</code> and its data will be removed for good.</>}
                          variant="danger"
                          disabled={row.deleted}
                          showResult={false}
                          action={async () => (await client.deleteTask(row.task_id)).message}
                          onDone={() => removeRow(row.task_id)}
                        />
                      </div>
                    </td>
                  </tr>
                  {open && !row.deleted && (
                    <tr id={`details-${row.task_id}`} className="block border-b border-slate-200 bg-slate-50 md:table-row">
                      <td colSpan={5} className="block px-4 py-4 md:table-cell">
                        <TaskDetails
                          taskId={row.task_id}
                          version={versions[row.task_id] ?? 0}
                          onDeleted={() => removeRow(row.task_id)}
                          onChanged={(task) =>
                            setPage((current) =>
                              current
                                ? { ...current, tasks: current.tasks.map((r) => (r.task_id === task.task_id ? { ...r, state: task.state } : r)) }
                                : current,
                            )
                          }
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>

      <nav className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600" aria-label="Pagination">
        <span aria-live="polite">
          {page ? `Showing tasks ${first}-${last} of ${page.total_items.toLocaleString()}` : loading ? 'Loading…' : ''}
        </span>
        <div className="flex items-center gap-2">
          <Button disabled={filters.page <= 1} onClick={() => setFilters((f) => ({ ...f, page: f.page - 1 }))}>
            Previous
          </Button>
          <span>
            Page {filters.page} of {totalPages}
          </span>
          <Button disabled={filters.page >= totalPages} onClick={() => setFilters((f) => ({ ...f, page: f.page + 1 }))}>
            Next
          </Button>
        </div>
      </nav>
    </div>
  );
});

/** A cell: laid out in a row card below md, a table cell from md on. */
const CELL = 'md:table-cell md:px-4 md:py-3';

const INPUT =
  'w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus:border-blue-500 focus:outline-none focus:ring-2 focus:ring-blue-500';

function Labeled({ label, htmlFor, children }: { label: string; htmlFor: string; children: ReactNode }) {
  return (
    <div>
      <label htmlFor={htmlFor} className="mb-1 block text-xs font-medium text-slate-600">
        {label}
      </label>
      {children}
    </div>
  );
}
