// The Task State Flow graph of contract §9: which edge a state change travels.
import type { QueueDepths, TaskState } from '../api/types';

export const FLOW_EDGES = [
  'submit-primary',
  'submit-scheduled',
  'primary-active',
  'retry-active',
  'active-completed',
  'active-failed',
  'failed-dlq',
  'failed-scheduled',
  'scheduled-retry',
  'scheduled-primary',
  'primary-cancelled',
  'active-cancelled',
  'scheduled-cancelled',
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
    if (oldState === 'SCHEDULED') return ['scheduled-cancelled'];
    return [];
  }
  if (oldState === 'ACTIVE') {
    if (newState === 'COMPLETED') return ['active-completed'];
    if (newState === 'FAILED') return ['active-failed'];
    if (newState === 'SCHEDULED') return ['active-failed', 'failed-scheduled'];
    if (newState === 'DLQ') return ['active-failed', 'failed-dlq'];
  }
  if (oldState === 'SCHEDULED' && newState === 'PENDING') return edgesOfPromotion(before, after);
  return [];
}

/** A due task leaves Scheduled for the retry list (a retry) or the primary list (a
 * delayed first run); the depths after the event tell which grew. One promotion call
 * moves many tasks and all its events carry the depths after the whole call, so both
 * may have grown. Unknown depths, or a named queue's task: the retry edge, as before. */
function edgesOfPromotion(before: QueueDepths, after: QueueDepths | null): FlowEdge[] {
  const firstRuns = after !== null && after.primary > before.primary;
  const retries = after !== null && after.retry > before.retry;
  if (firstRuns && retries) return ['scheduled-primary', 'scheduled-retry'];
  return [firstRuns ? 'scheduled-primary' : 'scheduled-retry'];
}

/** Where a new task went: Scheduled when it was created with a later run time. */
export function edgeOfCreation(before: QueueDepths, after: QueueDepths | null): FlowEdge {
  const delayed = after !== null && after.scheduled > before.scheduled && after.primary <= before.primary;
  return delayed ? 'submit-scheduled' : 'submit-primary';
}
