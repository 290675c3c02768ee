import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asEventSource, FakeEventSource } from '../test/fakeEventSource';
import { testServices } from '../test/fakeGateway';
import { QueueStream } from './queueStream';

const status = (primary: number) => ({
  queues: { primary, retry: 0, scheduled: 0, dlq: 0 },
  states: { PENDING: primary, ACTIVE: 0, COMPLETED: 0, FAILED: 0, SCHEDULED: 0, DLQ: 0 },
  retry_ratio: 0.3,
});

const noJitter = { baseMs: 1000, maxMs: 8000, factor: 2, jitter: 0 };

describe('QueueStream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeEventSource.reset();
  });
  afterEach(() => vi.useRealTimers());

  function setup(primary: { value: number }, token: string | null = null) {
    const env = testServices({ 'GET /api/v1/queues/status': () => status(primary.value) }, token);
    const stream = new QueueStream({
      client: env.client,
      store: env.store,
      EventSourceImpl: asEventSource,
      backoff: noJitter,
      silenceMs: 60_000,
    });
    return { ...env, stream };
  }

  it('connects, applies events, and puts the token in the stream URL', async () => {
    const { stream, store } = setup({ value: 0 }, 's3cret');
    stream.start();
    const source = FakeEventSource.last();
    expect(source.url).toBe('/api/v1/queues/status/stream?token=s3cret');
    source.open();
    expect(store.getState().connection).toBe('connected');
    source.send({
      type: 'initial_status',
      queue_depths: { primary: 4, retry: 0, scheduled: 0, dlq: 0 },
      state_counts: { PENDING: 4 },
      retry_ratio: 0.3,
    });
    source.send({ type: 'task_created', task_id: 'a' }, 'task_created');
    await vi.advanceTimersByTimeAsync(1);
    expect(store.getState().queues.primary).toBe(5);
    stream.stop();
    expect(source.closed).toBe(true);
  });

  it('reconnects with growing delays and re-reads the snapshot after the gap', async () => {
    const primary = { value: 0 };
    const { stream, store, calls } = setup(primary);
    stream.start();
    FakeEventSource.last().open();
    await vi.advanceTimersByTimeAsync(1);

    FakeEventSource.last().fail();
    expect(store.getState().connection).toBe('reconnecting');
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.instances).toHaveLength(2);

    FakeEventSource.last().fail();
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeEventSource.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.instances).toHaveLength(3);

    primary.value = 42;
    const before = calls.filter((c) => c.path === '/api/v1/queues/status').length;
    FakeEventSource.last().open();
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.filter((c) => c.path === '/api/v1/queues/status').length).toBeGreaterThan(before);
    expect(store.getState().connection).toBe('connected');
    expect(store.getState().queues.primary).toBe(42);
    stream.stop();
  });

  it('says offline after repeated failures and reconnects when the stream goes silent', async () => {
    const { stream, store } = setup({ value: 0 });
    stream.start();
    for (let i = 0; i < 4; i += 1) {
      FakeEventSource.last().fail();
      await vi.advanceTimersByTimeAsync(8000);
    }
    expect(store.getState().connection).toBe('offline');
    FakeEventSource.last().open();
    expect(store.getState().connection).toBe('connected');
    const count = FakeEventSource.instances.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.getState().connection).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeEventSource.instances.length).toBe(count + 1);
    stream.stop();
  });
});
