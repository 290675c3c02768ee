import { describe, expect, it } from 'vitest';
import { edgesOfTransition } from './flow';

const DEPTHS = { primary: 1, retry: 0, scheduled: 0, dlq: 0 };

describe('edgesOfTransition to CANCELLED', () => {
  it('draws a PENDING task cancelled from the primary queue', () => {
    expect(edgesOfTransition('PENDING', 'CANCELLED', DEPTHS, null)).toEqual(['primary-cancelled']);
  });

  it('draws a running task stopped by its cancel from Active', () => {
    expect(edgesOfTransition('ACTIVE', 'CANCELLED', DEPTHS, null)).toEqual(['active-cancelled']);
  });

  it('draws no edge for a SCHEDULED task (the Cancelled count still moves)', () => {
    expect(edgesOfTransition('SCHEDULED', 'CANCELLED', DEPTHS, null)).toEqual([]);
  });
});
