// An ACTIVE task's progress as its handler last reported it, with the time it has run.
import type { TaskDetail } from '../api/types';
import { formatDuration, parseTime } from '../format';
import { useNow } from '../useNow';

/** The reported fraction clamped to 0..1, or null when the handler has not reported. */
export function progressFraction(task: TaskDetail): number | null {
  const value = task.progress;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return Math.min(1, Math.max(0, value));
}

export function TaskProgress({ task }: { task: TaskDetail }) {
  const now = useNow(1000);
  const fraction = progressFraction(task);
  const started = parseTime(task.started_at);
  const elapsed = started ? formatDuration(Math.max(0, (now - started.getTime()) / 1000)) : null;
  const percent = fraction === null ? null : Math.round(fraction * 100);
  return (
    <div className="space-y-1" data-testid="task-progress">
      <div
        role="progressbar"
        aria-label="Task progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        className="h-2 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div
          className={`h-full bg-sky-500 ${percent === null ? 'w-1/3 animate-pulse' : ''}`}
          style={percent === null ? undefined : { width: `${percent}%` }}
        />
      </div>
      <div className="flex flex-wrap justify-between gap-2 text-sm text-slate-700">
        <span>
          {percent === null ? 'No progress reported yet' : `${percent}%`}
          {task.progress_message ? ` — ${task.progress_message}` : ''}
        </span>
        {elapsed && <span>Running for {elapsed}</span>}
      </div>
    </div>
  );
}
