import { describe, expect, it } from 'vitest';
import { parseEvent } from './events';

describe('parseEvent', () => {
  it('reads the contract shapes', () => {
    expect(
      parseEvent(
        JSON.stringify({
          type: 'task_state_changed',
          task_id: 'x',
          old_state: 'PENDING',
          new_state: 'ACTIVE',
          queue_depths: { primary: 1, retry: 2, scheduled: 3, dlq: 4 },
          timestamp: '2025-01-01T00:00:00Z',
        }),
      ),
    ).toEqual({
      type: 'task_state_changed',
      taskId: 'x',
      oldState: 'PENDING',
      newState: 'ACTIVE',
      queues: { primary: 1, retry: 2, scheduled: 3, dlq: 4 },
      states: null,
    });
    expect(parseEvent('{"type":"heartbeat","timestamp":1}')).toEqual({ type: 'heartbeat' });
    expect(parseEvent('{"type":"error","message":"boom"}')).toEqual({ type: 'error', message: 'boom' });
  });

  it('folds enum spellings and lower-case count keys', () => {
    const event = parseEvent(
      JSON.stringify({
        type: 'task_deleted',
        task_id: 'x',
        old_state: 'TASK_STATE_DLQ',
        state_counts: { pending: 1, dlq: '2', bogus: 9 },
      }),
    );
    expect(event).toMatchObject({ oldState: 'DLQ', states: { PENDING: 1, DLQ: 2, ACTIVE: 0 } });
  });

  it('unwraps the gRPC oneof form and uses the SSE event name when there is no type', () => {
    expect(parseEvent(JSON.stringify({ task_created: { task_id: 'y', task_type: 'pdfxtract' } }))).toMatchObject({
      type: 'task_created',
      taskId: 'y',
      taskType: 'pdfxtract',
    });
    expect(parseEvent('{}', 'heartbeat')).toEqual({ type: 'heartbeat' });
  });

  it('drops what it cannot read', () => {
    expect(parseEvent('not json')).toBeNull();
    expect(parseEvent('[1,2]')).toBeNull();
    expect(parseEvent('{"type":"unknown_kind"}')).toBeNull();
    expect(parseEvent('{"type":"task_created"}')).toBeNull();
  });
});
