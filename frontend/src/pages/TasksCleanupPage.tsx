// Tasks Cleanup: bulk operations, each confirmed first and reporting how many
// tasks it touched.
import { memo, useState } from 'react';
import { TASK_STATES, type TaskState } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { Card } from '../components/ui';
import { formatCount } from '../format';
import { useLiveState } from '../live/store';
import { useServices } from '../services';

const UNITS = [
  { value: 60, label: 'minutes' },
  { value: 3600, label: 'hours' },
  { value: 86400, label: 'days' },
];

const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

export const TasksCleanupPage = memo(function TasksCleanupPage() {
  const { client, store } = useServices();
  const live = useLiveState(store);
  const [states, setStates] = useState<Set<TaskState>>(new Set(['COMPLETED']));
  const [age, setAge] = useState('');
  const [unit, setUnit] = useState(86400);

  const ageNumber = Number(age);
  const ageValid = age === '' || (Number.isFinite(ageNumber) && ageNumber >= 0);
  const olderThan = age === '' || !ageValid ? undefined : Math.round(ageNumber * unit);
  const chosen = TASK_STATES.filter((state) => states.has(state));
  const unitLabel = UNITS.find((u) => u.value === unit)?.label ?? '';

  const toggle = (state: TaskState, on: boolean): void =>
    setStates((current) => {
      const next = new Set(current);
      if (on) next.add(state);
      else next.delete(state);
      return next;
    });

  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <Card title="Delete tasks by state and age" headingId="cleanup-delete" className="lg:col-span-2">
        <fieldset className="mb-4">
          <legend className="mb-2 text-sm font-medium text-slate-700">States</legend>
          <div className="flex flex-wrap gap-3">
            {TASK_STATES.map((state) => (
              <label key={state} className="inline-flex items-center gap-1.5 rounded-md border border-slate-200 px-2 py-1 text-sm">
                <input type="checkbox" checked={states.has(state)} onChange={(event) => toggle(state, event.target.checked)} />
                {state}
                <span className="text-slate-500">({formatCount(live.states[state])})</span>
              </label>
            ))}
          </div>
        </fieldset>
        <div className="mb-4">
          <label htmlFor="cleanup-age" className="mb-1 block text-sm font-medium text-slate-700">
            Older than (empty = any age)
          </label>
          <div className="flex flex-wrap items-center gap-2">
            <input
              id="cleanup-age"
              type="number"
              min={0}
              step="any"
              value={age}
              onChange={(event) => setAge(event.target.value)}
              aria-invalid={!ageValid}
              className="w-32 rounded-md border border-slate-300 px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-blue-500"
            />
            <label htmlFor="cleanup-unit" className="sr-only">
              Unit
            </label>
            <select
              id="cleanup-unit"
              value={unit}
              onChange={(event) => setUnit(Number(event.target.value))}
              className="rounded-md border border-slate-300 px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-blue-500"
            >
              {UNITS.map((u) => (
                <option key={u.value} value={u.value}>
                  {u.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <ConfirmButton
          label="Delete tasks"
          title="Delete tasks?"
          message={
            <>
              Every task in state <strong>{chosen.join(', ')}</strong>
              {olderThan !== undefined ? ` older than ${age} ${unitLabel}` : ''} will be deleted for good.
            </>
          }
          confirmLabel="Delete"
          variant="danger"
          disabled={!chosen.length || !ageValid}
          action={async () => {
            const request = olderThan === undefined ? { states: chosen } : { states: chosen, older_than_seconds: olderThan };
            const result = await client.cleanup(request);
            return `Deleted ${plural(result.deleted, 'task')}.`;
          }}
        />
      </Card>

      <Card title="Dead letter queue" headingId="cleanup-dlq">
        <p className="mb-4 text-sm text-slate-700">
          {plural(live.queues.dlq, 'task')} in the DLQ.
        </p>
        <div className="flex flex-col items-start gap-3">
          <ConfirmButton
            label="Retry all DLQ tasks"
            title="Retry every task in the DLQ?"
            message="Every task in the DLQ goes back to the retry queue (state PENDING)."
            confirmLabel="Retry all"
            variant="warning"
            action={async () => {
              const result = await client.retryAllDlq();
              return `Retried ${plural(result.retried, 'task')}.`;
            }}
          />
          <ConfirmButton
            label="Purge DLQ"
            title="Purge the DLQ?"
            message="Every task in the DLQ is deleted for good."
            confirmLabel="Purge"
            variant="danger"
            action={async () => {
              const result = await client.purgeDlq();
              return `Purged ${plural(result.purged, 'task')}.`;
            }}
          />
        </div>
      </Card>

      <Card title="Waiting tasks" headingId="cleanup-waiting">
        <p className="mb-4 text-sm text-slate-700">
          {plural(live.states.PENDING + live.states.SCHEDULED, 'task')} PENDING or SCHEDULED.
        </p>
        <ConfirmButton
          label="Cancel waiting tasks"
          title="Cancel every waiting task?"
          message="Every PENDING and SCHEDULED task is cancelled (state CANCELLED); running tasks go on."
          confirmLabel="Cancel them"
          variant="danger"
          action={async () => {
            const result = await client.cancelTasks(['PENDING', 'SCHEDULED']);
            return `Cancelled ${plural(result.cancelled, 'task')}.`;
          }}
        />
      </Card>

      <Card title="Orphaned tasks" headingId="cleanup-orphans">
        <p className="mb-4 text-sm text-slate-700">
          Finds PENDING tasks that are in no queue and puts them back in one.
        </p>
        <ConfirmButton
          label="Requeue orphaned tasks"
          title="Requeue orphaned tasks?"
          message="PENDING tasks missing from every queue are pushed to the retry queue."
          confirmLabel="Requeue"
          variant="primary"
          action={async () => {
            const result = await client.requeueOrphaned();
            return `Found ${plural(result.found, 'orphaned task')}, requeued ${formatCount(result.requeued)}${result.errors ? `, ${plural(result.errors, 'error')}` : ''}.`;
          }}
        />
      </Card>
    </div>
  );
});
