import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { latencyMinutes, throughputMinutes } from '../api/normalize';
import { emptyThroughput } from '../live/throughput';
import { LatencyChart } from './LatencyChart';
import { ThroughputChart } from './ThroughputChart';

// As the gateway answers /api/v1/tasks/metrics/throughput and /latency.
const throughput = throughputMinutes({
  metrics: [
    { timestamp: '2026-01-01T10:00:00+00:00', created_count: 5, completed_count: 4, failed_count: 1 },
    { timestamp: '2026-01-01T10:01:00+00:00', created_count: 2, completed_count: 3, failed_count: 0 },
  ],
  time_window: '2m',
});
const latency = latencyMinutes({
  metrics: [
    { timestamp: '2026-01-01T10:00:00+00:00', p50: 0.2, p90: 0.4, p95: 0.5, p99: 0.9, max_latency: 1.5, avg_latency: 0.3, task_count: 4 },
    { timestamp: '2026-01-01T10:01:00+00:00', p50: 0, p90: 0, p95: 0, p99: 0, max_latency: 0, avg_latency: 0, task_count: 0 },
  ],
  time_window: '2m',
});

describe('the series charts', () => {
  it('shows the last hour from the server, from before the page opened', async () => {
    render(<ThroughputChart throughput={emptyThroughput(1000)} now={1_000_000} hour={throughput} />);
    await userEvent.click(screen.getByRole('button', { name: '1 hour' }));
    expect(screen.getByRole('img')).toHaveAccessibleName(
      'Throughput per minute over the last hour: Created 7, Completed 7, Failed 1',
    );
    expect(screen.getByText(/also before this page opened/)).toBeInTheDocument();
  });

  it('shows latency percentiles of the last minute with completions', () => {
    render(<LatencyChart minutes={latency} />);
    expect(screen.getByTestId('latency-p50')).toHaveTextContent('200 ms');
    expect(screen.getByTestId('latency-max')).toHaveTextContent('1.5 s');
    expect(screen.getByRole('img')).toHaveAccessibleName(
      'Latency per minute over the last hour: p50 200 ms, p95 500 ms, p99 900 ms, max 1.5 s',
    );
    expect(screen.getByText(/4 completed in the hour/)).toBeInTheDocument();
  });

  it('says so when nothing completed', () => {
    render(<LatencyChart minutes={[]} />);
    expect(screen.getByRole('img')).toHaveAccessibleName(
      'Latency per minute over the last hour: no task completed in the last hour',
    );
  });
});
