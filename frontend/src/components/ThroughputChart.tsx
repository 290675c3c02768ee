// Tasks created / completed / failed: per second over the last minutes from the
// stream's events (failed = attempts that ended FAILED, SCHEDULED or in the DLQ),
// or per minute over the last hour from the server's series (failed = tasks that
// entered FAILED or the DLQ), which go back before the page opened.
import { useState } from 'react';
import type { ThroughputMinute } from '../api/types';
import { advance, WINDOW_SECONDS as WINDOW_LIVE, type Bucket, type Throughput } from '../live/throughput';
import { Legend, LineChart } from './LineChart';

const SERIES = [
  { key: 'created', label: 'Created', color: '#2563eb' },
  { key: 'completed', label: 'Completed', color: '#16a34a' },
  { key: 'failed', label: 'Failed', color: '#dc2626' },
] as const;

const RANGES = [
  { seconds: 60, label: '1 min', bin: 2 },
  { seconds: 300, label: '5 min', bin: 10 },
  { seconds: 3600, label: '1 hour', bin: 60 },
] as const;

/** Per-second rates averaged over bins of `bin` seconds, oldest first. */
export function binRates(buckets: Bucket[], bin: number): Bucket[] {
  const out: Bucket[] = [];
  for (let start = 0; start < buckets.length; start += bin) {
    const slice = buckets.slice(start, start + bin);
    const sum = (key: keyof Bucket): number => slice.reduce((total, bucket) => total + bucket[key], 0) / slice.length;
    out.push({ created: sum('created'), completed: sum('completed'), failed: sum('failed') });
  }
  return out;
}

interface Props {
  throughput: Throughput;
  now: number;
  /** The server's per-minute series of the last hour, oldest first (null: not loaded). */
  hour: ThroughputMinute[] | null;
}

export function ThroughputChart({ throughput, now, hour }: Props) {
  const [range, setRange] = useState<(typeof RANGES)[number]>(RANGES[0]);
  const sliding = advance(throughput, Math.floor(now / 1000));
  // The current second is still filling up; leave it out.
  const seconds = sliding.buckets.slice(-WINDOW_LIVE - 1, -1);
  const recent = binRates(seconds.slice(-10), 10)[0] ?? { created: 0, completed: 0, failed: 0 };
  const hourly = range.seconds === 3600;
  const rows: Bucket[] = hourly
    ? (hour ?? []).map((m) => ({ created: m.created, completed: m.completed, failed: m.failed }))
    : binRates(seconds.slice(-range.seconds), range.bin);
  const summary = SERIES.map((s) => `${s.label} ${recent[s.key].toFixed(1)}/s`).join(', ');
  const total = (key: keyof Bucket): number => rows.reduce((sum, row) => sum + row[key], 0);
  const hourSummary = SERIES.map((s) => `${s.label} ${total(s.key)}`).join(', ');

  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <Legend
          lines={SERIES}
          label="Rates over the last 10 seconds"
          testIdPrefix="rate"
          value={(key) => `${recent[key as keyof Bucket].toFixed(1)}/s`}
        />
        <div role="group" aria-label="Time range" className="flex gap-1">
          {RANGES.map((r) => (
            <button
              key={r.seconds}
              type="button"
              aria-pressed={r.seconds === range.seconds}
              onClick={() => setRange(r)}
              className={`rounded px-2 py-0.5 text-xs focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 ${
                r.seconds === range.seconds ? 'bg-slate-800 text-white' : 'bg-slate-100 text-slate-700'
              }`}
            >
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <LineChart
        lines={SERIES}
        rows={rows.map((row) => ({ ...row }))}
        unit={hourly ? '/min' : '/s'}
        label={
          hourly
            ? `Throughput per minute over the last hour: ${hourSummary}`
            : `Throughput over the last ${range.label}: ${summary}`
        }
        from={`−${range.label}`}
        to="now"
      />
      <p className="mt-2 text-xs text-slate-500">
        {hourly
          ? 'Per minute, from the counters the server keeps as tasks move (also before this page opened). Failed counts tasks that entered FAILED or the DLQ.'
          : 'Per second, from the live stream since this page opened. Failed counts attempts that ended FAILED, SCHEDULED (a retry is due) or in the DLQ.'}
      </p>
    </div>
  );
}
