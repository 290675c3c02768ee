// Workers: every worker with its host, pid and slots; one worker's drill-down
// (#/workers?id=...) adds the tasks it runs now, each with its running time, and
// its recent failures.
import { memo, type ReactNode } from 'react';
import type { TaskDetail, WorkerDetail } from '../api/types';
import { Card, ErrorMessage, HealthBadge, StatusBadge, TypeBadge } from '../components/ui';
import { formatDateTime, formatDuration, parseTime } from '../format';
import { useServices } from '../services';
import { useNow } from '../useNow';
import { usePolling } from '../usePolling';
import { historyHash } from './historyFilters';

const FAILED_STATES = ['DLQ', 'SCHEDULED', 'FAILED'];
// How many of the newest failed tasks are searched for the worker's own.
const FAILURES_SCANNED = 100;

export const WorkersPage = memo(function WorkersPage({ workerId = '' }: { workerId?: string }) {
  const { client } = useServices();
  const { data, error } = usePolling((signal) => client.workers(signal), 3000);
  const chosen = data?.worker_details.find((worker) => worker.worker_id === workerId);
  return (
    <div className="space-y-6">
      {error && <ErrorMessage>Workers: {error}</ErrorMessage>}
      {workerId && data && !chosen && <ErrorMessage>No worker {workerId} has been seen lately.</ErrorMessage>}
      {chosen && <WorkerDrillDown key={chosen.worker_id} worker={chosen} />}
      <Card title={`Workers (${data?.total_workers ?? 0})`} headingId="workers-list-heading">
        <ul aria-label="All workers" className="divide-y divide-slate-100">
          {(data?.worker_details ?? []).map((worker) => (
            <li key={worker.worker_id} className="flex flex-wrap items-center gap-x-4 gap-y-1 py-2 text-sm">
              <a href={`#/workers?id=${encodeURIComponent(worker.worker_id)}`} className="font-mono text-blue-800 hover:underline">
                {worker.worker_id}
              </a>
              <HealthBadge value={worker.status} />
              <span>{worker.hostname || 'unknown host'}</span>
              <span>pid {worker.pid || '?'}</span>
              <span>
                {worker.active_task_ids.length}/{worker.concurrency} slots busy
              </span>
              <span className="text-slate-500">
                {worker.success_count} done, {worker.failure_count} failed
              </span>
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
});

function WorkerDrillDown({ worker }: { worker: WorkerDetail }) {
  const { client } = useServices();
  const now = useNow(1000);
  const ids = worker.active_task_ids.join(',');
  const running = usePolling(
    (signal) => Promise.all(ids ? ids.split(',').map((id) => client.task(id, signal).catch(() => null)) : []),
    3000,
  );
  const failures = usePolling(async (signal) => {
    const pages = await Promise.all(
      FAILED_STATES.map((status) => client.tasks({ status, page_size: FAILURES_SCANNED, sort_order: 'desc' }, signal)),
    );
    return pages
      .flat()
      .filter((task) => task.worker_id === worker.worker_id)
      .sort((a, b) => (parseTime(b.updated_at)?.getTime() ?? 0) - (parseTime(a.updated_at)?.getTime() ?? 0))
      .slice(0, 10);
  }, 10_000);
  const consumed = usePolling(async (signal) => {
    const queues = (await client.queueStatus(signal)).named_queues ?? [];
    return queues.filter((queue) => queue.workers.includes(worker.worker_id)).map((queue) => queue.name);
  }, 10_000);
  const started = parseTime(worker.started_at)?.getTime();
  const facts: [string, string][] = [
    ['Host', worker.hostname || 'unknown'],
    ['PID', worker.pid ? String(worker.pid) : 'unknown'],
    ['Concurrency', `${worker.concurrency} slots, ${worker.active_task_ids.length} busy`],
    ['Queues', consumed.data ? consumed.data.join(', ') || 'none' : '…'],
    ['Started', started ? `${formatDateTime(worker.started_at)} (up ${elapsed(worker.started_at, now)})` : 'unknown'],
    ['Last heartbeat', formatDateTime(worker.last_seen)],
    ['Done / failed', `${worker.success_count} / ${worker.failure_count}`],
  ];
  return (
    <Card title={<span className="font-mono">{worker.worker_id}</span>} headingId="worker-heading" actions={<HealthBadge value={worker.status} />}>
      <dl className="grid gap-x-6 gap-y-2 text-sm sm:grid-cols-2" aria-label="Worker facts">
        {facts.map(([name, value]) => (
          <div key={name} className="flex gap-2">
            <dt className="font-medium text-slate-600">{name}:</dt>
            <dd className="text-slate-900">{value}</dd>
          </div>
        ))}
      </dl>
      <h4 className="mb-2 mt-5 font-semibold text-slate-900">Running now</h4>
      <ul aria-label="Running tasks" className="space-y-1 text-sm">
        {worker.active_task_ids.length === 0 && <li className="text-slate-500">Nothing: every slot is free.</li>}
        {(running.data ?? []).filter((task): task is TaskDetail => task !== null).map((task) => (
          <TaskLine key={task.task_id} task={task}>
            running for <span data-testid="elapsed">{elapsed(task.started_at, now)}</span>
          </TaskLine>
        ))}
      </ul>
      <h4 className="mb-2 mt-5 font-semibold text-slate-900">Recent failures</h4>
      <ul aria-label="Recent failures" className="space-y-1 text-sm">
        {failures.data?.length === 0 && <li className="text-slate-500">None among the newest failed tasks.</li>}
        {(failures.data ?? []).map((task) => (
          <TaskLine key={task.task_id} task={task}>
            {task.error_type ? `${task.error_type}: ` : ''}
            {task.last_error}
          </TaskLine>
        ))}
      </ul>
    </Card>
  );
}

function TaskLine({ task, children }: { task: TaskDetail; children: ReactNode }) {
  return (
    <li className="flex flex-wrap items-center gap-2">
      <a href={historyHash({ search: task.task_id })} className="font-mono text-blue-800 hover:underline">
        {task.task_id.slice(0, 8)}
      </a>
      <TypeBadge type={task.task_type} />
      {task.state && <StatusBadge state={task.state} />}
      <span className="text-slate-700">{children}</span>
    </li>
  );
}

function elapsed(startedAt: string | null | undefined, now: number): string {
  const started = parseTime(startedAt)?.getTime();
  if (!started) return '—';
  const seconds = Math.max(0, Math.floor((now - started) / 1000));
  return seconds < 60 ? `${seconds}s` : formatDuration(seconds);
}
