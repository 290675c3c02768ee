// The REST API from the test's side: to arrange a case (create a task, open the
// breaker) and to check an outcome the page claims, never to drive the page.
import { baseUrl } from './browser';

export async function api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${baseUrl()}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export interface TaskJson {
  task_id: string;
  state: string;
  result: string | null;
  retry_count: number;
}

export const getTask = (taskId: string): Promise<TaskJson> => api<TaskJson>('GET', `/api/v1/tasks/${taskId}`);

/** Creates a task of any registered type (tests register echo, doomed...). */
export async function createTask(taskType: string, content = '', extra: Record<string, unknown> = {}): Promise<string> {
  const created = await api<{ task_id: string }>('POST', '/api/v1/tasks', { task_type: taskType, content, ...extra });
  return created.task_id;
}

/** Resolves once `check` holds; fails with `what` after `timeoutMs` (generous: loaded CI). */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

export const waitForState = (taskId: string, state: string): Promise<TaskJson> =>
  eventually(async () => {
    const task = await getTask(taskId);
    return task.state === state ? task : null;
  }, `task ${taskId} in ${state}`);
