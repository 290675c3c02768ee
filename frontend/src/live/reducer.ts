// The dashboard's live state as a pure function of stream events and snapshots.
// Events arrive in batches (see store.ts), so a burst of 200 events/s costs a few
// reductions and renders per second, each O(batch + window), never O(tasks).
import { emptyCounts, emptyDepths } from '../api/normalize';
import type { QueueDepths, QueueStatus, StateCounts, TaskState } from '../api/types';
import type { LiveEvent } from './events';
import { edgeOfCreation, edgesOfTransition, type FlowEdge } from './flow';
import { emptyThroughput, record, type Bucket, type Throughput } from './throughput';

export type Connection = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface LiveState {
  connection: Connection;
  queues: QueueDepths;
  states: StateCounts;
  retryRatio: number;
  /** Ids set aside as corrupt, as of the last snapshot (stream or GET); null: unknown. */
  corruptTasks: number | null;
  /** True once a snapshot (initial_status or GET status) has been applied. */
  hasSnapshot: boolean;
  /** When the stream last told us anything (ms since epoch). */
  lastUpdated: number | null;
  throughput: Throughput;
  /** When each flow edge last carried a task (ms since epoch). */
  edgeActivity: Partial<Record<FlowEdge, number>>;
  /** The last `error` event's message, cleared by the next good event. */
  streamError: string | null;
  eventsApplied: number;
}

export type LiveAction =
  | { type: 'events'; events: LiveEvent[]; now: number }
  | { type: 'snapshot'; status: QueueStatus; now: number }
  | { type: 'connection'; connection: Connection };

export function initialLiveState(now = 0): LiveState {
  return {
    connection: 'connecting',
    queues: emptyDepths(),
    states: emptyCounts(),
    retryRatio: 0,
    corruptTasks: null,
    hasSnapshot: false,
    lastUpdated: null,
    throughput: emptyThroughput(Math.floor(now / 1000)),
    edgeActivity: {},
    streamError: null,
    eventsApplied: 0,
  };
}

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case 'connection':
      return state.connection === action.connection ? state : { ...state, connection: action.connection };
    case 'snapshot':
      return {
        ...state,
        queues: { ...action.status.queues },
        states: { ...action.status.states },
        retryRatio: action.status.retry_ratio,
        corruptTasks: action.status.corrupt_tasks ?? state.corruptTasks,
        hasSnapshot: true,
        lastUpdated: action.now,
      };
    case 'events':
      return action.events.length ? applyEvents(state, action.events, action.now) : state;
  }
}

function bump(counts: StateCounts, state: TaskState | null, delta: number): void {
  if (state) counts[state] = Math.max(0, counts[state] + delta);
}

function bumpQueue(queues: QueueDepths, name: keyof QueueDepths, delta: number): void {
  queues[name] = Math.max(0, queues[name] + delta);
}

/** Queue depths implied by a transition, for events that do not carry them. */
function deriveQueues(queues: QueueDepths, oldState: TaskState | null, newState: TaskState | null): void {
  if (oldState === 'PENDING') bumpQueue(queues, queues.primary > 0 ? 'primary' : 'retry', -1);
  if (oldState === 'SCHEDULED') bumpQueue(queues, 'scheduled', -1);
  if (oldState === 'DLQ') bumpQueue(queues, 'dlq', -1);
  if (newState === 'PENDING') bumpQueue(queues, oldState === null ? 'primary' : 'retry', 1);
  if (newState === 'SCHEDULED') bumpQueue(queues, 'scheduled', 1);
  if (newState === 'DLQ') bumpQueue(queues, 'dlq', 1);
}

const FAILED_STATES: ReadonlySet<TaskState | null> = new Set(['FAILED', 'SCHEDULED', 'DLQ']);

function applyEvents(state: LiveState, events: LiveEvent[], now: number): LiveState {
  const queues = { ...state.queues };
  const states = { ...state.states };
  const edgeActivity = { ...state.edgeActivity };
  let { retryRatio, corruptTasks, hasSnapshot, streamError, throughput } = state;
  const tally: Bucket = { created: 0, completed: 0, failed: 0 };
  let applied = 0;

  const setCounts = (q: QueueDepths | null, s: StateCounts | null): void => {
    if (q) Object.assign(queues, q);
    if (s) Object.assign(states, s);
  };

  for (const event of events) {
    applied += 1;
    if (event.type !== 'error') streamError = null;
    switch (event.type) {
      case 'initial_status':
        setCounts(event.queues, event.states);
        if (event.retryRatio !== null) retryRatio = event.retryRatio;
        if (event.corruptTasks !== null) corruptTasks = event.corruptTasks;
        hasSnapshot = hasSnapshot || event.queues !== null || event.states !== null;
        break;
      case 'task_created':
        edgeActivity[edgeOfCreation(queues, event.queues)] = now;
        if (!event.queues) deriveQueues(queues, null, 'PENDING');
        if (!event.states) bump(states, 'PENDING', 1);
        setCounts(event.queues, event.states);
        tally.created += 1;
        break;
      case 'task_state_changed': {
        for (const edge of edgesOfTransition(event.oldState, event.newState, queues, event.queues)) {
          edgeActivity[edge] = now;
        }
        if (!event.queues) deriveQueues(queues, event.oldState, event.newState);
        if (!event.states) {
          bump(states, event.oldState, -1);
          bump(states, event.newState, 1);
        }
        setCounts(event.queues, event.states);
        if (event.newState === 'COMPLETED') tally.completed += 1;
        else if (event.oldState === 'ACTIVE' && FAILED_STATES.has(event.newState)) tally.failed += 1;
        break;
      }
      case 'task_deleted':
        if (!event.queues) deriveQueues(queues, event.oldState, null);
        if (!event.states) bump(states, event.oldState, -1);
        setCounts(event.queues, event.states);
        break;
      case 'heartbeat':
        break;
      case 'error':
        streamError = event.message;
        break;
    }
  }

  throughput = record(throughput, Math.floor(now / 1000), tally);
  return {
    ...state,
    queues,
    states,
    retryRatio,
    corruptTasks,
    hasSnapshot,
    streamError,
    throughput,
    edgeActivity,
    lastUpdated: now,
    eventsApplied: state.eventsApplied + applied,
  };
}

/** A change to one task that a table of tasks may need to show. */
export interface TaskChange {
  taskId: string;
  /** The new state; null when the task was deleted. */
  state: TaskState | null;
  created: boolean;
  taskType?: string;
}

/** The net change per task in a batch (the last event for a task wins). */
export function taskChanges(events: LiveEvent[]): TaskChange[] {
  const byId = new Map<string, TaskChange>();
  for (const event of events) {
    if (event.type === 'task_created') {
      byId.set(event.taskId, { taskId: event.taskId, state: 'PENDING', created: true, taskType: event.taskType });
    } else if (event.type === 'task_state_changed' && event.newState) {
      const previous = byId.get(event.taskId);
      byId.set(event.taskId, { ...previous, taskId: event.taskId, state: event.newState, created: previous?.created ?? false });
    } else if (event.type === 'task_deleted') {
      byId.set(event.taskId, { taskId: event.taskId, state: null, created: false });
    }
  }
  return [...byId.values()];
}
