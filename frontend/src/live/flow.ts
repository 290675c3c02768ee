// The Task State Flow graph of contract §9: which edge a state change travels.
import type { QueueDepths, TaskState } from '../api/types';

export const FLOW_EDGES = [
  'submit-primary',
  'primary-active',
  'retry-active',
  'active-completed',
  'active-failed',
  'failed-dlq',
  'failed-scheduled',
  'scheduled-retry',
  'primary-cancelled',
  'active-cancelled',
] as const;
export type FlowEdge = (typeof FLOW_EDGES)[number];

/** Edges a task moved along; `before`/`after` queue depths tell primary from retry. */
export function edgesOfTransition(
  oldState: TaskState | null,
  newState: TaskState | null,
  before: QueueDepths,
  after: QueueDepths | null,
): FlowEdge[] {
  if (oldState === 'PENDING' && newState === 'ACTIVE') {
    const fromRetry = after !== null && after.retry < before.retry && after.primary >= before.primary;
    return [fromRetry ? 'retry-active' : 'primary-active'];
  }
  if (newState === 'CANCELLED') {
    if (oldState === 'PENDING') return ['primary-cancelled'];
    if (oldState === 'ACTIVE') return ['active-cancelled'];
    return []; // SCHEDULED -> CANCELLED: the count moves, no edge is drawn for it
  }
  if (oldState === 'ACTIVE') {
    if (newState === 'COMPLETED') return ['active-completed'];
    if (newState === 'FAILED') return ['active-failed'];
    if (newState === 'SCHEDULED') return ['active-failed', 'failed-scheduled'];
    if (newState === 'DLQ') return ['active-failed', 'failed-dlq'];
  }
  if (oldState === 'SCHEDULED' && newState === 'PENDING') return ['scheduled-retry'];
  return [];
}
