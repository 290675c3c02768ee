// Creation -> completion latency per minute over the last hour, from the series the
// server keeps as tasks complete (percentiles estimated from log-spaced buckets).
import type { LatencyMinute } from '../api/types';
import { Legend, LineChart } from './LineChart';

const SERIES = [
  { key: 'p50', label: 'p50', color: '#16a34a' },
  { key: 'p95', label: 'p95', color: '#d97706' },
  { key: 'p99', label: 'p99', color: '#dc2626' },
  { key: 'max', label: 'max', color: '#64748b' },
] as const;

export function formatSeconds(value: number): string {
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

export function LatencyChart({ minutes }: { minutes: LatencyMinute[] | null }) {
  const rows = minutes ?? [];
  const busy = rows.filter((m) => m.count > 0);
  const last = busy[busy.length - 1];
  const completed = busy.reduce((sum, m) => sum + m.count, 0);
  const summary = last
    ? SERIES.map((s) => `${s.label} ${formatSeconds(last[s.key])}`).join(', ')
    : 'no task completed in the last hour';
  return (
    <div>
      <Legend
        lines={SERIES}
        className="mb-2"
        label="Latency of the last minute with completions"
        testIdPrefix="latency"
        value={(key) => (last ? formatSeconds(last[key as (typeof SERIES)[number]['key']]) : '–')}
      />
      <LineChart
        lines={SERIES}
        rows={rows.map((m) => ({ p50: m.p50, p95: m.p95, p99: m.p99, max: m.max }))}
        unit=""
        yFormat={formatSeconds}
        label={`Latency per minute over the last hour: ${summary}`}
        from="−1 hour"
        to="now"
      />
      <p className="mt-2 text-xs text-slate-500">
        Seconds from creation to completion, per minute of completion ({completed} completed in the hour). Percentiles
        are estimated from log-spaced buckets (within 10 %); max is exact.
      </p>
    </div>
  );
}
