// Schedules: recurring tasks (cron with a time zone, or a fixed interval). List with
// next fire time and last task, a form to create one, pause/resume, trigger, delete.
import { memo, useState, type FormEvent } from 'react';
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  scheduleAction,
  triggerSchedule,
  type MisfirePolicy,
  type Schedule,
  type ScheduleSpec,
} from '../api/schedules';
import { ConfirmButton } from '../components/ConfirmButton';
import { Button, Card, ErrorMessage, StatusBadge } from '../components/ui';
import { errorText, formatDateTime } from '../format';
import { useServices } from '../services';
import { useAsyncAction } from '../useAsyncAction';
import { usePolling } from '../usePolling';

const INPUT =
  'w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:outline-none focus:ring-2 focus:ring-blue-500';

function timing(s: Schedule): string {
  if (s.spec.cron) return s.spec.time_zone ? `${s.spec.cron} (${s.spec.time_zone})` : `${s.spec.cron} (UTC)`;
  return `every ${s.spec.interval ?? ''}`;
}

export const SchedulesPage = memo(function SchedulesPage() {
  const { client } = useServices();
  const polled = usePolling((signal) => listSchedules(client, signal), 2000);
  const [taskType, setTaskType] = useState('summarize');
  const [content, setContent] = useState('');
  const [mode, setMode] = useState<'cron' | 'interval'>('cron');
  const [cron, setCron] = useState('0 * * * *');
  const [timeZone, setTimeZone] = useState('UTC');
  const [seconds, setSeconds] = useState('60');
  const [misfire, setMisfire] = useState<MisfirePolicy>('MISFIRE_POLICY_SKIP');
  const [notice, setNotice] = useState<string | null>(null);

  const create = useAsyncAction(async () => {
    const spec: ScheduleSpec = { task_type: taskType, content, misfire_policy: misfire };
    if (mode === 'cron') {
      spec.cron = cron;
      spec.time_zone = timeZone;
    } else {
      spec.interval = `${Number(seconds)}s`;
    }
    const made = await createSchedule(client, spec);
    setNotice(`Schedule ${made.schedule_id} created; next fire ${formatDateTime(made.next_fire_at)}.`);
    polled.reload();
  });
  const [actionError, setActionError] = useState<string | null>(null);

  const run = async (action: () => Promise<string>): Promise<void> => {
    try {
      setNotice(await action());
      setActionError(null);
    } catch (error) {
      setActionError(errorText(error));
    }
    polled.reload();
  };

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setNotice(null);
    void create.run();
  };

  const schedules = polled.data ?? [];
  return (
    <div className="grid gap-6">
      <Card title="New schedule" headingId="schedule-new">
        <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2" aria-labelledby="schedule-new">
          <label className="text-sm font-medium text-slate-700">
            Task type
            <input className={INPUT} value={taskType} onChange={(e) => setTaskType(e.target.value)} required />
          </label>
          <label className="text-sm font-medium text-slate-700">
            Content
            <input className={INPUT} value={content} onChange={(e) => setContent(e.target.value)} />
          </label>
          <label className="text-sm font-medium text-slate-700">
            Timing
            <select className={INPUT} value={mode} onChange={(e) => setMode(e.target.value as 'cron' | 'interval')}>
              <option value="cron">Cron expression</option>
              <option value="interval">Fixed interval</option>
            </select>
          </label>
          {mode === 'cron' ? (
            <div className="grid grid-cols-2 gap-3">
              <label className="text-sm font-medium text-slate-700">
                Cron
                <input className={INPUT} value={cron} onChange={(e) => setCron(e.target.value)} required />
              </label>
              <label className="text-sm font-medium text-slate-700">
                Time zone
                <input className={INPUT} value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
              </label>
            </div>
          ) : (
            <label className="text-sm font-medium text-slate-700">
              Every (seconds)
              <input className={INPUT} type="number" min={1} value={seconds} onChange={(e) => setSeconds(e.target.value)} required />
            </label>
          )}
          <label className="text-sm font-medium text-slate-700">
            If every scheduler was down
            <select className={INPUT} value={misfire} onChange={(e) => setMisfire(e.target.value as MisfirePolicy)}>
              <option value="MISFIRE_POLICY_SKIP">Skip the missed times</option>
              <option value="MISFIRE_POLICY_RUN_ONCE">Run once for them</option>
            </select>
          </label>
          <div className="flex items-end">
            <Button type="submit" variant="primary" disabled={create.busy}>
              Create schedule
            </Button>
          </div>
        </form>
        {create.error && <ErrorMessage>{create.error}</ErrorMessage>}
      </Card>
      <Card title="Schedules" headingId="schedule-list">
        {notice && (
          <p role="status" className="mb-3 text-sm text-green-800">
            {notice}
          </p>
        )}
        {actionError && <ErrorMessage>{actionError}</ErrorMessage>}
        {polled.error && <ErrorMessage>{polled.error}</ErrorMessage>}
        {!polled.loading && schedules.length === 0 && <p className="text-sm text-slate-600">No schedules yet.</p>}
        {schedules.length > 0 && (
          <div className="overflow-x-auto">
            <table className="min-w-full text-left text-sm">
              <thead className="text-slate-600">
                <tr>
                  <th className="px-2 py-1">Type</th>
                  <th className="px-2 py-1">When</th>
                  <th className="px-2 py-1">Next fire</th>
                  <th className="px-2 py-1">Last task</th>
                  <th className="px-2 py-1">Fired</th>
                  <th className="px-2 py-1">Actions</th>
                </tr>
              </thead>
              <tbody>
                {schedules.map((s) => (
                  <tr key={s.schedule_id} data-schedule-id={s.schedule_id} className="border-t border-slate-100">
                    <td className="px-2 py-1">{s.spec.task_type}</td>
                    <td className="px-2 py-1 font-mono">{timing(s)}</td>
                    <td className="px-2 py-1">{s.paused ? 'Paused' : formatDateTime(s.next_fire_at)}</td>
                    <td className="px-2 py-1">
                      {s.last_task_id ? (
                        <a className="text-blue-700 underline" href={`#/history?task_id=${s.last_task_id}`}>
                          {s.last_task_id.slice(0, 8)}
                        </a>
                      ) : (
                        '—'
                      )}{' '}
                      {s.last_task_state && <StatusBadge state={s.last_task_state} />}
                    </td>
                    <td className="px-2 py-1">{s.fire_count}</td>
                    <td className="flex flex-wrap gap-1 px-2 py-1">
                      <Button
                        aria-label={`${s.paused ? 'Resume' : 'Pause'} schedule ${s.schedule_id}`}
                        onClick={() =>
                          void run(async () => {
                            await scheduleAction(client, s.schedule_id, s.paused ? 'resume' : 'pause');
                            return `Schedule ${s.paused ? 'resumed' : 'paused'}.`;
                          })
                        }
                      >
                        {s.paused ? 'Resume' : 'Pause'}
                      </Button>
                      <Button
                        aria-label={`Trigger schedule ${s.schedule_id}`}
                        onClick={() =>
                          void run(async () => `Task ${await triggerSchedule(client, s.schedule_id)} created.`)
                        }
                      >
                        Trigger
                      </Button>
                      <ConfirmButton
                        label="Delete"
                        ariaLabel={`Delete schedule ${s.schedule_id}`}
                        title="Delete this schedule?"
                        message={`Schedule ${s.schedule_id} stops for good; the tasks it created stay.`}
                        variant="danger"
                        showResult={false}
                        action={async () => {
                          await deleteSchedule(client, s.schedule_id);
                          return 'Schedule deleted.';
                        }}
                        onDone={polled.reload}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
});
