import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEventSource, FakeEventSource } from '../test/fakeEventSource';
import { json, testServices } from '../test/fakeGateway';
import { followTask, parseTaskMessage } from './taskFollower';

describe('followTask', () => {
  beforeEach(() => FakeEventSource.reset());
  afterEach(() => vi.useRealTimers());

  it('delivers each state and stops at a terminal one', () => {
    const { client } = testServices({});
    const onTask = vi.fn();
    followTask(client, 'abc', { onTask, onDeleted: vi.fn(), onError: vi.fn() }, { EventSourceImpl: asEventSource });
    const source = FakeEventSource.last();
    expect(source.url).toBe('/api/v1/tasks/abc/events');
    source.send({ type: 'task', task: { task_id: 'abc', state: 'ACTIVE', task_type: 'summarize' }, old_state: 'PENDING' });
    source.send({ type: 'task', task: { task_id: 'abc', state: 'COMPLETED', result: 'short' } }, 'task');
    expect(onTask.mock.calls.map(([task]) => task.state)).toEqual(['ACTIVE', 'COMPLETED']);
    expect(source.closed).toBe(true);
  });

  it('stops following a task that was cancelled', () => {
    const { client } = testServices({});
    const onTask = vi.fn();
    followTask(client, 'abc', { onTask, onDeleted: vi.fn(), onError: vi.fn() }, { EventSourceImpl: asEventSource });
    const source = FakeEventSource.last();
    source.send({ type: 'task', task: { task_id: 'abc', state: 'TASK_STATE_CANCELLED' } }, 'task');
    expect(onTask.mock.calls.map(([task]) => task.state)).toEqual(['CANCELLED']);
    expect(source.closed).toBe(true);
  });

  it('falls back to polling when the stream fails, until the task is gone', async () => {
    vi.useFakeTimers();
    let n = 0;
    const { client } = testServices({
      'GET /api/v1/tasks/abc': () => (++n < 2 ? { task_id: 'abc', state: 'PENDING' } : json(404, { detail: 'Task not found' })),
    });
    const onTask = vi.fn();
    const onDeleted = vi.fn();
    followTask(client, 'abc', { onTask, onDeleted, onError: vi.fn() }, { EventSourceImpl: asEventSource, pollMs: 100 });
    FakeEventSource.last().fail();
    await vi.advanceTimersByTimeAsync(1);
    expect(onTask).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(onDeleted).toHaveBeenCalledTimes(1);
  });

  it('reads a bare task, a deletion and junk', () => {
    expect(parseTaskMessage('{"task_id":"a","state":"DLQ"}').task?.state).toBe('DLQ');
    expect(parseTaskMessage('{"task":{"task_id":"a"},"deleted":true}').deleted).toBe(true);
    expect(parseTaskMessage('nope')).toEqual({ task: null, deleted: false });
  });
});
