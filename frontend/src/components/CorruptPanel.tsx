// The ids a claim set aside because their stored task could not be read
// (tasks:corrupt, newest first) with what is left of each hash, and a button that
// drops the ids listed (after a confirmation; the hashes stay for inspection), and
// per id a button that deletes the task (DeleteTask: what is left of its hash and
// every entry naming it, the corrupt list's included).
import { useServices } from '../services';
import { usePolling } from '../usePolling';
import { ConfirmButton } from './ConfirmButton';
import { Card, ErrorMessage } from './ui';

const POLL_MS = 5000;

export function CorruptPanel({ onChange }: { onChange: () => void }) {
  const { client, store } = useServices();
  // After a drop or delete: the panel's list, the page's figures, and the live
  // store's snapshot (the badge's count) read again at once.
  const refresh = (): void => {
    polled.reload();
    onChange();
    const token = store.snapshotToken();
    void client.queueStatus().then((status) => store.snapshot(status, token), () => undefined);
  };
  const polled = usePolling((signal) => client.corruptTasks(signal), POLL_MS);
  const tasks = polled.data?.tasks ?? [];
  const total = polled.data?.total ?? 0;
  const ids = tasks.map((entry) => entry.task_id);
  return (
    <Card
      title={`Set aside as corrupt (${total})`}
      headingId="corrupt-heading"
      actions={
        <ConfirmButton
          label={`Drop ${ids.length}`}
          ariaLabel="Drop the corrupt ids listed"
          title="Drop these ids?"
          message="They leave the corrupt list; what is left of their hashes stays in Redis for inspection."
          variant="danger"
          disabled={ids.length === 0}
          action={async () => `Dropped ${await client.dropCorruptTasks(ids)}.`}
          onDone={refresh}
        />
      }
    >
      {polled.error && <ErrorMessage>Corrupt ids: {polled.error}</ErrorMessage>}
      <p className="mb-3 text-xs text-slate-500">
        A worker's claim took these ids from a queue but their stored task could not be read (malformed fields, or no
        hash), so they were set aside instead of run.
      </p>
      <ul className="divide-y divide-slate-100 text-sm" aria-labelledby="corrupt-heading">
        {tasks.map((entry) => (
          <li key={entry.task_id} className="py-2" aria-label={`Corrupt ${entry.task_id}`}>
            <div className="flex items-center justify-between gap-2">
              <div className="font-mono font-semibold text-slate-900">{entry.task_id}</div>
              <ConfirmButton
                label="Delete"
                ariaLabel={`Delete corrupt task ${entry.task_id}`}
                title="Delete this task?"
                message="What is left of its hash goes, with every queue, index and lease entry naming it; it leaves the corrupt list."
                variant="danger"
                action={async () => (await client.deleteTask(entry.task_id)).message}
                onDone={refresh}
              />
            </div>
            <div className="break-all font-mono text-xs text-slate-600">
              {Object.keys(entry.fields).length === 0
                ? 'no hash left'
                : Object.entries(entry.fields)
                    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
                    .join(' ')}
            </div>
          </li>
        ))}
      </ul>
    </Card>
  );
}
