// Parsing of the queue stream's SSE messages (contract §5) into typed events.
// The gateway is trusted for nothing: unknown or malformed messages become null.
import {
  isObject,
  num,
  queueDepths,
  stateCounts,
  str,
  taskState,
  type Json,
} from '../api/normalize';
import type { QueueDepths, StateCounts, TaskState } from '../api/types';

interface Counts {
  queues: QueueDepths | null;
  states: StateCounts | null;
}

export type LiveEvent =
  | ({ type: 'initial_status'; retryRatio: number | null; corruptTasks: number | null } & Counts)
  | ({ type: 'task_created'; taskId: string; taskType: string } & Counts)
  | ({ type: 'task_state_changed'; taskId: string; oldState: TaskState | null; newState: TaskState | null } & Counts)
  | ({ type: 'task_deleted'; taskId: string; oldState: TaskState | null } & Counts)
  | { type: 'heartbeat' }
  | { type: 'error'; message: string };

export const EVENT_TYPES = [
  'initial_status',
  'task_created',
  'task_state_changed',
  'task_deleted',
  'heartbeat',
  'error',
] as const;

/** Accepts `{type, ...fields}` and also the gRPC oneof form `{task_created: {...}}`. */
function unwrap(body: Json, sseName: string): { type: string; fields: Json } {
  if (typeof body.type === 'string') return { type: body.type, fields: body };
  for (const name of EVENT_TYPES) {
    const inner = body[name];
    if (isObject(inner)) return { type: name, fields: { ...body, ...inner } };
  }
  return { type: sseName, fields: body };
}

export function parseEvent(data: string, sseName = 'message'): LiveEvent | null {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  const { type, fields } = unwrap(body, sseName);
  const counts: Counts = {
    queues: queueDepths(fields.queue_depths ?? fields.queues),
    states: stateCounts(fields.state_counts ?? fields.states),
  };
  const taskId = str(fields.task_id);
  switch (type) {
    case 'initial_status':
      return {
        type,
        ...counts,
        retryRatio: fields.retry_ratio === undefined ? null : num(fields.retry_ratio),
        // Ours, beside the contract's fields: ids set aside as corrupt (absent from
        // an original gateway's stream: null, the badge then knows nothing).
        corruptTasks: fields.corrupt_tasks === undefined ? null : num(fields.corrupt_tasks),
      };
    case 'task_created':
      return taskId ? { type, taskId, taskType: str(fields.task_type), ...counts } : null;
    case 'task_state_changed':
      return taskId
        ? {
            type,
            taskId,
            oldState: taskState(fields.old_state),
            newState: taskState(fields.new_state),
            ...counts,
          }
        : null;
    case 'task_deleted':
      return taskId ? { type, taskId, oldState: taskState(fields.old_state), ...counts } : null;
    case 'heartbeat':
      return { type };
    case 'error':
      return { type, message: str(fields.message, 'The stream reported an error') };
    default:
      return null;
  }
}
