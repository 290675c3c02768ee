// Every field of one task, its content, result and histories, its progress while
// ACTIVE, with Retry (for FAILED and DLQ tasks), Cancel (while not finished) and Delete.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { TaskDetail } from '../api/types';
import { durationBetween, errorText, formatBytes, formatDateTime, formatDuration } from '../format';
import { followTask } from '../live/taskFollower';
import { useServices } from '../services';
import { useAsyncAction } from '../useAsyncAction';
import { ConfirmButton, type Outcome } from './ConfirmButton';
import { LongText } from './LongText';
import { TaskLogs } from './TaskLogs';
import { TaskProgress } from './TaskProgress';
import { TaskResult } from './TaskResult';
import { ErrorTimeline, StateTimeline } from './Timeline';
import { Button, ErrorMessage, StatusBadge, TypeBadge } from './ui';

/** Fields shown in their own sections; anything else goes under "Other fields". */
const SHOWN = new Set([
  'task_id', 'task_type', 'state', 'content', 'result', 'metadata', 'retry_count', 'max_retries',
  'last_error', 'error_type', 'retry_after', 'created_at', 'updated_at', 'started_at', 'completed_at',
  'failed_at', 'scheduled_at', 'dlq_at', 'error_history', 'state_history', 'worker_id', 'priority',
  'idempotency_key', 'content_length', 'has_result', 'has_payload', 'payload_size', 'retention_seconds',
  'progress', 'progress_message', 'progress_at', 'cancelled_at', 'cancel_requested_at',
]);

export const RETRYABLE = new Set(['FAILED', 'DLQ']);
export const CANCELLABLE = new Set(['PENDING', 'SCHEDULED', 'ACTIVE']);

export function TaskDetails({
  taskId,
  version = 0,
  onDeleted,
  onChanged,
}: {
  taskId: string;
  /** Bump to re-read the task (e.g. after a live event about it). */
  version?: number;
  onDeleted?: () => void;
  onChanged?: (task: TaskDetail) => void;
}) {
  const { client } = useServices();
  const [task, setTask] = useState<TaskDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  // Kept here: the Cancel button goes once the task is CANCELLED, its answer stays.
  const [cancelOutcome, setCancelOutcome] = useState<Outcome | null>(null);
  useEffect(() => setCancelOutcome(null), [taskId]);
  const onChangedRef = useRef(onChanged);
  onChangedRef.current = onChanged;

  useEffect(() => {
    const controller = new AbortController();
    client
      .task(taskId, controller.signal)
      .then((value) => {
        setTask(value);
        setError(null);
        onChangedRef.current?.(value);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(errorText(err));
      });
    return () => controller.abort();
  }, [client, taskId, version, reload]);

  // An ACTIVE task's progress reaches no queue event: follow the task itself meanwhile.
  const active = task?.task_id === taskId && task.state === 'ACTIVE';
  useEffect(() => {
    if (!active) return undefined;
    return followTask(client, taskId, {
      onTask: (value) => {
        setTask(value);
        onChangedRef.current?.(value);
      },
      onDeleted: () => undefined,
      onError: () => undefined,
    });
  }, [client, taskId, active]);

  if (error && !task) return <ErrorMessage>{error}</ErrorMessage>;
  if (!task) return <p className="text-sm text-slate-500">Loading task…</p>;

  const duration = durationBetween(task.started_at ?? task.created_at, task.completed_at ?? task.cancelled_at ?? task.dlq_at ?? task.failed_at);
  const extra = Object.entries(task).filter(([key, value]) => !SHOWN.has(key) && value !== null && value !== undefined && value !== '');
  const metadata = Object.entries(task.metadata ?? {});

  return (
    <div className="space-y-5" data-testid="task-details">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex flex-wrap items-center gap-2">
          <span className="break-all font-mono text-sm">{task.task_id}</span>
          <StatusBadge state={task.state} />
          <TypeBadge type={task.task_type} />
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Button onClick={() => setReload((n) => n + 1)}>Refresh</Button>
          {RETRYABLE.has(task.state) && <RetryControls taskId={task.task_id} onDone={() => setReload((n) => n + 1)} />}
          {CANCELLABLE.has(task.state) && (
            <ConfirmButton
              label="Cancel task"
              title="Cancel this task?"
              message={
                <>
                  Task <code className="break-all">{task.task_id}</code> will not run (again); a running handler is asked
                  to stop and the task becomes CANCELLED once it has.
                </>
              }
              confirmLabel="Cancel task"
              variant="warning"
              action={async () => {
                const answer = await client.cancelTask(task.task_id);
                return answer.message ? `${answer.state}: ${answer.message}` : answer.state;
              }}
              onDone={() => setReload((n) => n + 1)}
              showResult={false}
              onOutcome={setCancelOutcome}
            />
          )}
          {cancelOutcome && (
            <span
              role={cancelOutcome.ok ? 'status' : 'alert'}
              className={`text-sm ${cancelOutcome.ok ? 'text-green-700' : 'text-red-700'}`}
            >
              {cancelOutcome.text}
            </span>
          )}
          <ConfirmButton
            label="Delete"
            title="Delete this task?"
            message={<>Task <code className="break-all">{task.task_id}</code> and its data will be removed for good.</>}
            variant="danger"
            action={async () => (await client.deleteTask(task.task_id)).message}
            onDone={onDeleted}
          />
        </div>
      </div>
      {error && <ErrorMessage>{error}</ErrorMessage>}
      {task.state === 'ACTIVE' && <TaskProgress task={task} />}

      <div className="grid gap-4 border-b border-slate-200 pb-4 sm:grid-cols-2 lg:grid-cols-3">
        <Fields title="Timing Information">
          <Field term="Created" value={formatDateTime(task.created_at)} />
          <Field term="Updated" value={formatDateTime(task.updated_at)} />
          {task.started_at && <Field term="Started" value={formatDateTime(task.started_at)} />}
          {task.completed_at && <Field term="Completed" value={formatDateTime(task.completed_at)} />}
          {task.failed_at && <Field term="Failed" value={formatDateTime(task.failed_at)} />}
          {task.scheduled_at && <Field term="Scheduled" value={formatDateTime(task.scheduled_at)} />}
          {task.dlq_at && <Field term="Entered DLQ" value={formatDateTime(task.dlq_at)} />}
          {task.cancel_requested_at && <Field term="Cancel requested" value={formatDateTime(task.cancel_requested_at)} />}
          {task.cancelled_at && <Field term="Cancelled" value={formatDateTime(task.cancelled_at)} />}
          {task.retry_after && <Field term="Retry after" value={formatDateTime(task.retry_after)} />}
          {duration && <Field term="Duration" value={duration} />}
        </Fields>
        <Fields title="Retry Information">
          <Field term="Retry Count" value={`${task.retry_count ?? 0} / ${task.max_retries ?? '—'}`} />
          {task.error_type && <Field term="Error Type" value={task.error_type} />}
          {task.last_error && <Field term="Last Error" value={task.last_error} />}
          {task.worker_id && <Field term="Worker" value={task.worker_id} />}
          {task.priority != null && <Field term="Priority" value={String(task.priority)} />}
          {task.idempotency_key && <Field term="Idempotency Key" value={task.idempotency_key} />}
          <Field
            term="Retention"
            value={
              typeof task.retention_seconds === 'number' && task.retention_seconds > 0
                ? `${formatDuration(task.retention_seconds)} once finished`
                : 'Kept forever'
            }
          />
        </Fields>
        <Fields title="Content Information">
          <Field term="Content Length" value={`${(task.content_length ?? task.content?.length ?? 0).toLocaleString()} characters`} />
          {task.has_payload && <Field term="Payload" value={formatBytes(task.payload_size ?? 0)} />}
          <Field term="Has Result" value={task.result ? 'Yes' : 'No'} />
          {task.result && <Field term="Result Length" value={`${task.result.length.toLocaleString()} characters`} />}
          {metadata.map(([key, value]) => (
            <Field
              key={key}
              term={key}
              value={key === 'file_size' && typeof value === 'number' ? formatBytes(value) : typeof value === 'string' ? value : JSON.stringify(value)}
            />
          ))}
        </Fields>
      </div>

      {extra.length > 0 && (
        <Section title="Other Fields">
          <dl className="grid gap-1 text-sm sm:grid-cols-2">
            {extra.map(([key, value]) => (
              <Field key={key} term={key} value={typeof value === 'string' ? value : JSON.stringify(value)} />
            ))}
          </dl>
        </Section>
      )}
      <Section title="State Transition History">
        <StateTimeline history={task.state_history ?? []} />
      </Section>
      <Section title="Error History">
        <ErrorTimeline history={task.error_history ?? []} />
      </Section>
      <Section title="Logs">
        <TaskLogs taskId={taskId} active={task.state === 'ACTIVE'} />
      </Section>
      <Section title="Content">
        {task.content ? <LongText text={task.content} /> : <p className="text-sm text-slate-500">No content stored inline.</p>}
      </Section>
      <Section title="Task Result">
        <TaskResult result={task.result} />
      </Section>
    </div>
  );
}

function RetryControls({ taskId, onDone }: { taskId: string; onDone: () => void }) {
  const { client } = useServices();
  const [reset, setReset] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const { busy, error, run } = useAsyncAction(async () => {
    setOutcome(null);
    const result = await client.retryTask(taskId, reset);
    setOutcome(`Requeued (${result.state})`);
    onDone();
  });
  return (
    <span className="inline-flex flex-wrap items-center gap-2">
      <label className="inline-flex items-center gap-1 text-sm text-slate-700">
        <input type="checkbox" checked={reset} onChange={(event) => setReset(event.target.checked)} />
        Reset retry count
      </label>
      <Button variant="warning" onClick={() => void run()} disabled={busy}>
        Retry
      </Button>
      {(error ?? outcome) && (
        <span role={error ? 'alert' : 'status'} className={`text-sm ${error ? 'text-red-700' : 'text-slate-700'}`}>
          {error ?? outcome}
        </span>
      )}
    </span>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section>
      <h4 className="mb-2 text-sm font-semibold text-slate-800">{title}</h4>
      {children}
    </section>
  );
}

function Fields({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <h4 className="mb-2 text-sm font-semibold text-slate-800">{title}</h4>
      <dl className="space-y-1 text-sm">{children}</dl>
    </div>
  );
}

function Field({ term, value }: { term: string; value: string }) {
  return (
    <div className="flex flex-wrap gap-1">
      <dt className="font-medium text-slate-700">{term}:</dt>
      <dd className="break-all text-slate-800">{value}</dd>
    </div>
  );
}
