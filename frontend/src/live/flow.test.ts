import { describe, expect, it } from 'vitest';
import { edgeOfCreation, edgesOfTransition } from './flow';

const DEPTHS = { primary: 1, retry: 0, scheduled: 0, dlq: 0 };

describe('edgesOfTransition to CANCELLED', () => {
  it('draws a PENDING task cancelled from the primary queue', () => {
    expect(edgesOfTransition('PENDING', 'CANCELLED', DEPTHS, null)).toEqual(['primary-cancelled']);
  });

  it('draws a running task stopped by its cancel from Active', () => {
    expect(edgesOfTransition('ACTIVE', 'CANCELLED', DEPTHS, null)).toEqual(['active-cancelled']);
  });

  it('draws a delayed or retry-waiting task cancelled from Scheduled', () => {
    expect(edgesOfTransition('SCHEDULED', 'CANCELLED', DEPTHS, null)).toEqual(['scheduled-cancelled']);
  });
});

describe('edgesOfTransition SCHEDULED -> PENDING', () => {
  const before = { primary: 0, retry: 0, scheduled: 5, dlq: 0 };

  it('sends a due delayed first run to Primary', () => {
    const after = { ...before, primary: 1, scheduled: 4 };
    expect(edgesOfTransition('SCHEDULED', 'PENDING', before, after)).toEqual(['scheduled-primary']);
  });

  it('sends a due retry to Retry', () => {
    const after = { ...before, retry: 1, scheduled: 4 };
    expect(edgesOfTransition('SCHEDULED', 'PENDING', before, after)).toEqual(['scheduled-retry']);
  });

  it('draws both when one promotion moved first runs and retries', () => {
    const after = { ...before, primary: 2, retry: 1, scheduled: 2 };
    expect(edgesOfTransition('SCHEDULED', 'PENDING', before, after)).toEqual(['scheduled-primary', 'scheduled-retry']);
  });

  it('keeps the retry edge when the event carries no depths', () => {
    expect(edgesOfTransition('SCHEDULED', 'PENDING', before, null)).toEqual(['scheduled-retry']);
  });
});

describe('edgeOfCreation', () => {
  it('draws a task created to run later into Scheduled', () => {
    expect(edgeOfCreation(DEPTHS, { ...DEPTHS, scheduled: 1 })).toBe('submit-scheduled');
  });

  it('draws a task to run now into Primary, also when the event has no depths', () => {
    expect(edgeOfCreation(DEPTHS, { ...DEPTHS, primary: 2 })).toBe('submit-primary');
    expect(edgeOfCreation(DEPTHS, null)).toBe('submit-primary');
  });
});
