import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyCounts } from '../api/normalize';
import { LiveStore } from './store';

describe('LiveStore', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('coalesces a burst of events into one update per flush interval', () => {
    const store = new LiveStore(250, () => Date.now());
    const listener = vi.fn();
    store.subscribe(listener);
    for (let i = 0; i < 200; i += 1) {
      store.push({ type: 'task_created', taskId: `t${i}`, taskType: 'summarize', queues: null, states: null });
    }
    expect(listener).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getState().states.PENDING).toBe(200);

    for (let i = 0; i < 50; i += 1) {
      store.push({ type: 'task_state_changed', taskId: `t${i}`, oldState: 'PENDING', newState: 'ACTIVE', queues: null, states: null });
    }
    vi.advanceTimersByTime(200);
    expect(listener).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(50);
    expect(listener).toHaveBeenCalledTimes(2);
    expect(store.getState().states.ACTIVE).toBe(50);
  });

  it('tells task listeners what changed, once per batch', () => {
    const store = new LiveStore(250, () => Date.now());
    const changes = vi.fn();
    const stop = store.onTaskChanges(changes);
    store.push({ type: 'task_deleted', taskId: 'a', oldState: 'DLQ', queues: null, states: null });
    store.push({ type: 'heartbeat' });
    store.flush();
    expect(changes).toHaveBeenCalledWith([{ taskId: 'a', state: null, created: false }]);
    stop();
    store.push({ type: 'task_deleted', taskId: 'b', oldState: 'DLQ', queues: null, states: null });
    store.flush();
    expect(changes).toHaveBeenCalledTimes(1);
  });

  it('applies buffered events before a snapshot, so the snapshot wins', () => {
    const store = new LiveStore(250, () => Date.now());
    store.push({ type: 'task_created', taskId: 'a', taskType: 'summarize', queues: null, states: null });
    store.snapshot({ queues: { primary: 9, retry: 0, scheduled: 0, dlq: 0 }, states: { ...emptyCounts(), PENDING: 9 }, retry_ratio: 0.3 });
    expect(store.getState().states.PENDING).toBe(9);
    expect(store.getState().eventsApplied).toBe(1);
  });

  it('drops a snapshot requested before an event with exact counts arrived', () => {
    const store = new LiveStore(250, () => Date.now());
    const token = store.snapshotToken();
    store.push({
      type: 'task_created',
      taskId: 'a',
      taskType: 'summarize',
      queues: { primary: 3, retry: 0, scheduled: 0, dlq: 0 },
      states: { ...emptyCounts(), PENDING: 3 },
    });
    store.snapshot({ queues: { primary: 2, retry: 0, scheduled: 0, dlq: 0 }, states: { ...emptyCounts(), PENDING: 2 }, retry_ratio: 0.3 }, token);
    store.flush();
    expect(store.getState().states.PENDING).toBe(3);
  });
});
