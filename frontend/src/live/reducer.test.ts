import { describe, expect, it } from 'vitest';
import { emptyCounts, emptyDepths } from '../api/normalize';
import type { LiveEvent } from './events';
import { parseEvent } from './events';
import { initialLiveState, liveReducer, taskChanges, type LiveState } from './reducer';
import { summarize } from './throughput';

const T0 = 1_700_000_000_000;

function events(state: LiveState, list: LiveEvent[], now = T0): LiveState {
  return liveReducer(state, { type: 'events', events: list, now });
}

function raw(...bodies: object[]): LiveEvent[] {
  return bodies.map((body) => {
    const event = parseEvent(JSON.stringify(body));
    if (!event) throw new Error(`unparsable ${JSON.stringify(body)}`);
    return event;
  });
}

const depths = (primary: number, retry = 0, scheduled = 0, dlq = 0) => ({ primary, retry, scheduled, dlq });

describe('liveReducer', () => {
  it('counts a CANCELLED task from events and snapshots without NaN', () => {
    let state = events(
      initialLiveState(T0),
      raw({ type: 'initial_status', queue_depths: depths(1, 0, 1, 0), state_counts: { PENDING: 1, SCHEDULED: 1 } }),
    );
    expect(state.states.CANCELLED).toBe(0);
    state = events(
      state,
      raw(
        { type: 'task_state_changed', task_id: 'a', old_state: 'PENDING', new_state: 'CANCELLED' },
        { type: 'task_state_changed', task_id: 'b', old_state: 'TASK_STATE_SCHEDULED', new_state: 'TASK_STATE_CANCELLED' },
      ),
    );
    expect(state.states).toEqual({ ...emptyCounts(), CANCELLED: 2 });
    expect(state.queues).toEqual(emptyDepths());
    state = events(state, raw({ type: 'task_deleted', task_id: 'a', old_state: 'CANCELLED' }));
    expect(state.states.CANCELLED).toBe(1);
    expect(Object.values(state.states).every(Number.isFinite)).toBe(true);
  });

  it('takes the counts of initial_status as they are', () => {
    const state = events(
      initialLiveState(T0),
      raw({
        type: 'initial_status',
        queue_depths: depths(3, 1, 2, 4),
        state_counts: { PENDING: 4, ACTIVE: 2, COMPLETED: 30, FAILED: 0, SCHEDULED: 2, DLQ: 4 },
        retry_ratio: 0.3,
      }),
    );
    expect(state.queues).toEqual(depths(3, 1, 2, 4));
    expect(state.states.COMPLETED).toBe(30);
    expect(state.retryRatio).toBe(0.3);
    expect(state.hasSnapshot).toBe(true);
    expect(state.lastUpdated).toBe(T0);
  });

  it('follows a task from creation to completion without counts in the events', () => {
    const state = events(
      initialLiveState(T0),
      raw(
        { type: 'task_created', task_id: 'a' },
        { type: 'task_state_changed', task_id: 'a', old_state: 'PENDING', new_state: 'ACTIVE' },
        { type: 'task_state_changed', task_id: 'a', old_state: 'ACTIVE', new_state: 'COMPLETED' },
      ),
    );
    expect(state.states).toEqual({ ...emptyCounts(), COMPLETED: 1 });
    expect(state.queues).toEqual(emptyDepths());
    expect(summarize(state.throughput, 1)).toEqual({ created: 1, completed: 1, failed: 0 });
  });

  it('prefers the counts an event carries over its own arithmetic', () => {
    const start = events(initialLiveState(T0), raw({ type: 'initial_status', queue_depths: depths(5), state_counts: { PENDING: 5 } }));
    const state = events(
      start,
      raw({
        type: 'task_state_changed',
        task_id: 'a',
        old_state: 'PENDING',
        new_state: 'ACTIVE',
        queue_depths: depths(2),
        state_counts: { pending: 2, active: 3 },
      }),
    );
    expect(state.queues.primary).toBe(2);
    expect(state.states.PENDING).toBe(2);
    expect(state.states.ACTIVE).toBe(3);
  });

  it('counts retries and dead letters as failed attempts and moves the queues', () => {
    let state = events(initialLiveState(T0), raw({ type: 'initial_status', queue_depths: depths(0), state_counts: { ACTIVE: 2 } }));
    state = events(
      state,
      raw(
        { type: 'task_state_changed', task_id: 'a', old_state: 'ACTIVE', new_state: 'SCHEDULED' },
        { type: 'task_state_changed', task_id: 'b', old_state: 'ACTIVE', new_state: 'DLQ' },
        { type: 'task_state_changed', task_id: 'a', old_state: 'SCHEDULED', new_state: 'PENDING' },
      ),
    );
    expect(state.queues).toEqual(depths(0, 1, 0, 1));
    expect(state.states).toMatchObject({ ACTIVE: 0, PENDING: 1, SCHEDULED: 0, DLQ: 1 });
    expect(summarize(state.throughput, 1).failed).toBe(2);
    expect(state.edgeActivity['failed-dlq']).toBe(T0);
    expect(state.edgeActivity['failed-scheduled']).toBe(T0);
    expect(state.edgeActivity['scheduled-retry']).toBe(T0);
    expect(state.edgeActivity['active-completed']).toBeUndefined();
  });

  it('tells a claim from the retry queue by the retry depth going down', () => {
    const start = events(initialLiveState(T0), raw({ type: 'initial_status', queue_depths: depths(1, 1) }));
    const state = events(
      start,
      raw({ type: 'task_state_changed', task_id: 'a', old_state: 'PENDING', new_state: 'ACTIVE', queue_depths: depths(1, 0) }),
    );
    expect(state.edgeActivity['retry-active']).toBe(T0);
    expect(state.edgeActivity['primary-active']).toBeUndefined();
  });

  it('removes a deleted task from its state and queue, never below zero', () => {
    let state = events(
      initialLiveState(T0),
      raw({ type: 'initial_status', queue_depths: depths(0, 0, 0, 1), state_counts: { DLQ: 1 } }),
    );
    state = events(
      state,
      raw(
        { type: 'task_deleted', task_id: 'a', old_state: 'DLQ' },
        { type: 'task_deleted', task_id: 'b', old_state: 'DLQ' },
      ),
    );
    expect(state.states.DLQ).toBe(0);
    expect(state.queues.dlq).toBe(0);
  });

  it('keeps a stream error until the next good event', () => {
    let state = events(initialLiveState(T0), raw({ type: 'error', message: 'monitor unavailable' }));
    expect(state.streamError).toBe('monitor unavailable');
    state = events(state, raw({ type: 'heartbeat' }));
    expect(state.streamError).toBeNull();
  });

  it('replaces the counts with a snapshot and returns the same state for no change', () => {
    const start = initialLiveState(T0);
    expect(events(start, [])).toBe(start);
    expect(liveReducer(start, { type: 'connection', connection: 'connecting' })).toBe(start);
    const state = liveReducer(start, {
      type: 'snapshot',
      status: { queues: depths(7), states: { ...emptyCounts(), PENDING: 7 }, retry_ratio: 0.2 },
      now: T0 + 5,
    });
    expect(state.queues.primary).toBe(7);
    expect(state.retryRatio).toBe(0.2);
    expect(state.lastUpdated).toBe(T0 + 5);
  });

  it('does not mutate the state it was given', () => {
    const start = initialLiveState(T0);
    const frozen = JSON.stringify(start);
    events(start, raw({ type: 'task_created', task_id: 'a' }));
    expect(JSON.stringify(start)).toBe(frozen);
  });

  it('reduces a burst of 10,000 events in one batch quickly', () => {
    const burst = raw(
      ...Array.from({ length: 10_000 }, (_, i) => ({
        type: 'task_state_changed',
        task_id: `t${i}`,
        old_state: 'ACTIVE',
        new_state: 'COMPLETED',
      })),
    );
    const started = performance.now();
    const state = events(initialLiveState(T0), burst);
    expect(performance.now() - started).toBeLessThan(200);
    expect(state.states.COMPLETED).toBe(10_000);
    expect(state.eventsApplied).toBe(10_000);
  });
});

describe('taskChanges', () => {
  it('keeps the last change per task', () => {
    const changes = taskChanges(
      raw(
        { type: 'task_created', task_id: 'a', task_type: 'summarize' },
        { type: 'task_state_changed', task_id: 'a', old_state: 'PENDING', new_state: 'ACTIVE' },
        { type: 'task_state_changed', task_id: 'b', old_state: 'ACTIVE', new_state: 'COMPLETED' },
        { type: 'task_deleted', task_id: 'c', old_state: 'DLQ' },
        { type: 'heartbeat' },
      ),
    );
    expect(changes).toEqual([
      { taskId: 'a', state: 'ACTIVE', created: true, taskType: 'summarize' },
      { taskId: 'b', state: 'COMPLETED', created: false },
      { taskId: 'c', state: null, created: false },
    ]);
  });
});
