// Worker Statistics: totals, one row per worker, and the shared circuit breaker's
// controls (reset closes it, open halts provider calls), both confirmed first.
import { memo, useState } from 'react';
import { formatClock, formatCount, formatDateTime, parseTime } from '../format';
import { useServices } from '../services';
import { usePolling } from '../usePolling';
import { ConfirmButton, type Outcome } from './ConfirmButton';
import { announcePauseChange } from './PauseBanner';
import { Card, ErrorMessage, HealthBadge } from './ui';

export const WorkerStats = memo(function WorkerStats() {
  const { client } = useServices();
  const { data, error, loading, reload } = usePolling((signal) => client.workers(signal), 5000);
  const breakers = Object.entries(data?.circuit_breaker_states ?? {});
  // Shown under the header: next to the buttons it would push them onto two lines.
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const actions = (
    <div className="flex flex-wrap gap-2">
      <ConfirmButton
        label="Reset circuit breaker"
        title="Reset the circuit breaker?"
        message="Closes the shared circuit breaker: provider calls go through again."
        confirmLabel="Reset"
        variant="primary"
        action={async () => (await client.resetCircuitBreaker()).message}
        showResult={false}
        onOutcome={setOutcome}
        onDone={reload}
      />
      <ConfirmButton
        label="Open circuit breaker"
        title="Open the circuit breaker?"
        message="Opens the shared circuit breaker: tasks that need the provider are held back (rescheduled, not failed) until it is reset."
        confirmLabel="Open"
        variant="danger"
        action={async () => (await client.openCircuitBreaker()).message}
        showResult={false}
        onOutcome={setOutcome}
        onDone={reload}
      />
      <ConfirmButton
        label="Pause executors"
        title="Pause the executors?"
        message="Every worker stops claiming tasks: running tasks finish, queued tasks wait until you resume."
        confirmLabel="Pause"
        variant="warning"
        action={async () => {
          await client.pauseExecutors();
          return 'Executors paused';
        }}
        showResult={false}
        onOutcome={setOutcome}
        onDone={announcePauseChange}
      />
    </div>
  );

  return (
    <Card title="Worker Statistics" headingId="workers-heading" actions={actions}>
      {outcome &&
        (outcome.ok ? (
          <p role="status" className="mb-3 text-sm text-green-700">
            {outcome.text}
          </p>
        ) : (
          <div className="mb-3">
            <ErrorMessage>{outcome.text}</ErrorMessage>
          </div>
        ))}
      {error && <ErrorMessage>Workers: {error}</ErrorMessage>}
      {loading && !data && <p className="text-sm text-slate-500">Loading workers…</p>}
      {data && (
        <>
          <div className="mb-4 grid grid-cols-2 gap-3 rounded-lg bg-slate-50 p-4 text-center sm:grid-cols-4">
            <Stat label="Total Workers" value={data.total_workers} className="text-blue-600" />
            <Stat label="Healthy" value={data.healthy_workers} className="text-green-600" />
            <Stat label="Stale" value={data.stale_workers} className="text-amber-600" />
            <div className="flex flex-col items-center justify-center gap-1">
              <HealthBadge value={data.overall_status} />
              {breakers.map(([name, state]) => (
                <span key={name} className="text-xs text-slate-600">
                  Breaker {name}: <HealthBadge value={state} />
                </span>
              ))}
            </div>
          </div>
          {data.worker_details.length === 0 ? (
            <p className="text-sm text-slate-500">No worker has reported a heartbeat.</p>
          ) : (
            <ul className="space-y-3" aria-label="Workers">
              {data.worker_details.map((worker) => (
                <li key={worker.worker_id} className="rounded-lg border border-slate-200 p-4">
                  <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
                    <div className="flex flex-wrap items-center gap-2">
                      <a
                        href={`#/workers?id=${encodeURIComponent(worker.worker_id)}`}
                        className="break-all font-mono text-sm text-blue-800 hover:underline"
                      >
                        {worker.worker_id}
                      </a>
                      <HealthBadge value={worker.status} />
                      <HealthBadge value={worker.circuit_breaker_state} label={`CB: ${worker.circuit_breaker_state}`} />
                    </div>
                    <span className="text-sm text-slate-500">
                      Last seen: {formatClock(parseTime(worker.last_seen)?.getTime() ?? null)}
                    </span>
                  </div>
                  <p className="mb-2 text-xs text-slate-600" data-testid="worker-facts">
                    {worker.hostname || 'unknown host'} · pid {worker.pid || '?'} · {worker.concurrency} slots
                    {worker.started_at ? ` · up since ${formatDateTime(worker.started_at)}` : ''}
                  </p>
                  <div className="grid grid-cols-3 text-center">
                    <Stat label="Success Count" value={worker.success_count} className="text-green-600" small />
                    <Stat label="Fail Count" value={worker.failure_count} className="text-red-600" small />
                    <Stat label="Active Tasks" value={worker.active_tasks} className="text-sky-600" small />
                  </div>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Card>
  );
});

function Stat({ label, value, className, small }: { label: string; value: number; className: string; small?: boolean }) {
  return (
    <div>
      <div className={`${small ? 'text-lg' : 'text-2xl'} font-bold ${className}`}>{formatCount(value)}</div>
      <div className="text-sm text-slate-600">{label}</div>
    </div>
  );
}
