import { describe, expect, it } from 'vitest';
import { providerDays, providerStatus, queueStatus, timestamp, workersStatus } from './normalize';

describe('normalize', () => {
  it('reads workers in REST and gRPC spellings', () => {
    const workers = workersStatus({
      overall_status: 'HEALTH_STATUS_DEGRADED',
      total_workers: 2,
      healthy_workers: 1,
      stale_workers: 1,
      circuit_breaker_states: { openrouter: 'CIRCUIT_STATE_OPEN' },
      worker_details: [
        { worker_id: 'w1', status: 'healthy', circuit_breaker_state: 'closed', success_count: 5, failure_count: 1, active_task_ids: ['a', 'b'], last_seen: 1_700_000_000 },
        { worker_id: 'w2', status: 'WORKER_HEALTH_STALE', circuit_breaker: { state: 'OPEN' }, completed: '7', failed: 2, active_tasks: 1 },
      ],
    });
    expect(workers.overall_status).toBe('degraded');
    expect(workers.circuit_breaker_states).toEqual({ openrouter: 'open' });
    expect(workers.worker_details).toEqual([
      { worker_id: 'w1', status: 'healthy', circuit_breaker_state: 'closed', success_count: 5, failure_count: 1, active_tasks: 2, last_seen: '2023-11-14T22:13:20.000Z', active_task_ids: ['a', 'b'], hostname: '', pid: 0, concurrency: 0, started_at: null },
      { worker_id: 'w2', status: 'stale', circuit_breaker_state: 'open', success_count: 7, failure_count: 2, active_tasks: 1, last_seen: null, active_task_ids: [], hostname: '', pid: 0, concurrency: 0, started_at: null },
    ]);
  });

  it('reads breakers by service beside the original per-state counts', () => {
    const workers = workersStatus({
      circuit_breaker_states: { 'half-open': 2 },
      breakers: { openrouter: 'HALF_OPEN' },
      worker_details: [{ worker_id: 'w', status: 'healthy', circuit_breaker: { state: 'half-open' }, success_count: 1 }],
    });
    expect(workers.circuit_breaker_states).toEqual({ openrouter: 'half_open' });
    expect(workersStatus({ circuit_breaker_states: { closed: 3 } }).circuit_breaker_states).toEqual({});
  });

  it('fills what is missing with safe defaults', () => {
    expect(queueStatus(null)).toEqual({
      queues: { primary: 0, retry: 0, scheduled: 0, dlq: 0 },
      states: { PENDING: 0, ACTIVE: 0, COMPLETED: 0, FAILED: 0, SCHEDULED: 0, DLQ: 0, CANCELLED: 0 },
      retry_ratio: 0,
      named_queues: [],
      corrupt_tasks: 0,
    });
    expect(queueStatus({ states: { COMPLETED: 2, cancelled: '3' } }).states).toMatchObject({ COMPLETED: 2, CANCELLED: 3, DLQ: 0 });
    expect(workersStatus({ worker_details: [{ worker_id: 'w', status: 'healthy' }] })).toMatchObject({ total_workers: 1, healthy_workers: 1, stale_workers: 0 });
    expect(providerStatus({ status: 'PROVIDER_STATE_API_KEY_MISSING', balance: null, usage_today: '1.5' })).toMatchObject({
      status: 'api_key_missing',
      balance: null,
      usage_today: 1.5,
    });
    expect(timestamp('')).toBeNull();
    expect(timestamp('1700000000000')).toBe('2023-11-14T22:13:20.000Z');
  });

  it('reads provider metrics as a list of days, one flat day, or nothing', () => {
    expect(providerDays({ days: [{ date: '2025-01-01', total_calls: 3, successes: 2, failures: 1, rate_limit_hits: 0 }] })).toHaveLength(1);
    expect(providerDays({ date: '2025-01-01', total_calls: 3 })[0]?.total_calls).toBe(3);
    expect(providerDays('x')).toEqual([]);
    const seedShaped = { metrics: {}, days: 7, generated_at: 'now', daily: [{ date: '2025-01-02', total_calls: 4 }] };
    expect(providerDays(seedShaped).map((d) => d.total_calls)).toEqual([4]);
  });
});
