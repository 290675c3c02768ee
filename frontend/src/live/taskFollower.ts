// Follows one task live: GET /api/v1/tasks/{id}/events (SSE of the task as it
// changes, ending at a terminal state), falling back to polling the task if the
// stream fails, until the task is COMPLETED, FAILED, CANCELLED, in the DLQ or deleted.
import { ApiError, taskDetail, type ApiClient } from '../api/client';
import { isObject } from '../api/normalize';
import type { TaskDetail } from '../api/types';

export const TERMINAL_STATES: ReadonlySet<string> = new Set(['COMPLETED', 'DLQ', 'FAILED', 'CANCELLED']);

export interface FollowCallbacks {
  onTask(task: TaskDetail): void;
  onDeleted(): void;
  onError(message: string): void;
}

export interface FollowOptions {
  EventSourceImpl?: typeof EventSource;
  pollMs?: number;
}

/** Reads one message of the task stream: `{type: "task", task, old_state}` or a bare task. */
export function parseTaskMessage(data: string): { task: TaskDetail | null; deleted: boolean } {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return { task: null, deleted: false };
  }
  if (!isObject(body)) return { task: null, deleted: false };
  const deleted = body.deleted === true || body.type === 'task_deleted';
  const raw = isObject(body.task) ? body.task : typeof body.task_id === 'string' ? body : null;
  return { task: raw ? taskDetail(raw) : null, deleted };
}

export function followTask(
  client: ApiClient,
  taskId: string,
  callbacks: FollowCallbacks,
  options: FollowOptions = {},
): () => void {
  let stopped = false;
  let source: EventSource | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  const path = `/api/v1/tasks/${encodeURIComponent(taskId)}/events`;

  const stop = (): void => {
    stopped = true;
    source?.close();
    source = null;
    if (pollTimer !== null) clearTimeout(pollTimer);
  };

  const deliver = (task: TaskDetail): void => {
    callbacks.onTask(task);
    if (TERMINAL_STATES.has(task.state)) stop();
  };

  const poll = async (): Promise<void> => {
    if (stopped) return;
    try {
      deliver(await client.task(taskId));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        callbacks.onDeleted();
        stop();
        return;
      }
      callbacks.onError(error instanceof Error ? error.message : String(error));
    }
    if (!stopped) pollTimer = setTimeout(() => void poll(), options.pollMs ?? 2000);
  };

  try {
    const ES = options.EventSourceImpl ?? EventSource;
    source = new ES(client.streamUrl(path));
    const onMessage = (message: MessageEvent<string>): void => {
      const { task, deleted } = parseTaskMessage(message.data);
      if (deleted) {
        callbacks.onDeleted();
        stop();
      } else if (task) deliver(task);
    };
    source.onmessage = onMessage;
    source.addEventListener('task', onMessage as EventListener);
    source.onerror = () => {
      if (stopped) return;
      source?.close();
      source = null;
      void poll();
    };
  } catch {
    void poll();
  }
  return stop;
}
