// The log lines a task's handler wrote (GET /api/v1/tasks/{id}/logs), level-coloured,
// read again every second while the task is ACTIVE (new lines only, by seq), and
// once more when it stops being ACTIVE so its last lines show.
import { useEffect, useRef, useState } from 'react';
import type { TaskLogLine } from '../api/types';
import { errorText } from '../format';
import { useServices } from '../services';

export const LOG_POLL_MS = 1000;

const LEVEL_CLASSES: Record<string, string> = {
  DEBUG: 'text-slate-400',
  INFO: 'text-slate-100',
  WARNING: 'text-amber-300',
  ERROR: 'text-red-400',
  CRITICAL: 'text-red-300 font-semibold',
};

export function levelClass(level: string): string {
  return LEVEL_CLASSES[level] ?? 'text-slate-100';
}

export function TaskLogs({ taskId, active }: { taskId: string; active: boolean }) {
  const { client } = useServices();
  const [lines, setLines] = useState<TaskLogLine[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const after = useRef(0);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    after.current = 0;
    setLines([]);
    setTruncated(false);
  }, [taskId]);

  useEffect(() => {
    if (!taskId) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async (): Promise<void> => {
      try {
        let page;
        do {
          page = await client.taskLogs(taskId, after.current, controller.signal);
          if (controller.signal.aborted) return;
          const fresh = page.lines;
          if (after.current === 0 && page.truncated) setTruncated(true);
          after.current = page.nextAfterSeq;
          if (fresh.length > 0) setLines((old) => [...old, ...fresh].slice(-1000));
        } while (page.more);
        setError(null);
      } catch (err) {
        if (!controller.signal.aborted) setError(errorText(err));
      }
      if (active && !controller.signal.aborted) timer = setTimeout(() => void read(), LOG_POLL_MS);
    };
    void read();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, taskId, active]);

  useEffect(() => {
    const element = box.current;
    if (active && element) element.scrollTop = element.scrollHeight;
  }, [lines, active]);

  return (
    <div data-testid="task-logs">
      {truncated && <p className="mb-1 text-xs text-slate-500">Older lines were dropped: only the newest 1,000 are kept.</p>}
      {error && <p className="mb-1 text-sm text-red-700">{error}</p>}
      {lines.length === 0 ? (
        <p className="text-sm text-slate-500">{active ? 'No log lines yet; following…' : 'No log lines.'}</p>
      ) : (
        <div ref={box} className="max-h-72 overflow-auto rounded bg-slate-900 p-2 font-mono text-xs leading-5">
          {lines.map((line) => (
            <div key={line.seq} data-level={line.level} className={`whitespace-pre-wrap break-all ${levelClass(line.level)}`}>
              <span className="text-slate-500">{line.time.slice(11, 23)}</span>{' '}
              <span className="font-semibold">{line.level.padEnd(7)}</span>{' '}
              <span className="text-slate-400">{line.logger}</span>{' '}
              {line.message}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
