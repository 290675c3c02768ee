// Tasks created / completed / failed per second over the last minutes, from the
// stream's events (failed = attempts that ended FAILED, SCHEDULED or in the DLQ).
import { useState } from 'react';
import { advance, type Bucket, type Throughput } from '../live/throughput';

const SERIES = [
  { key: 'created', label: 'Created', color: '#2563eb' },
  { key: 'completed', label: 'Completed', color: '#16a34a' },
  { key: 'failed', label: 'Failed', color: '#dc2626' },
] as const;

const RANGES = [
  { seconds: 60, label: '1 min', bin: 2 },
  { seconds: 300, label: '5 min', bin: 10 },
] as const;

const WIDTH = 600;
const HEIGHT = 160;

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

function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

export function ThroughputChart({ throughput, now }: { throughput: Throughput; now: number }) {
  const [range, setRange] = useState<(typeof RANGES)[number]>(RANGES[0]);
  const sliding = advance(throughput, Math.floor(now / 1000));
  // The current second is still filling up; leave it out.
  const seconds = sliding.buckets.slice(-range.seconds - 1, -1);
  const bins = binRates(seconds, range.bin);
  const recent = binRates(seconds.slice(-10), 10)[0] ?? { created: 0, completed: 0, failed: 0 };
  const yMax = niceMax(Math.max(...bins.flatMap((b) => [b.created, b.completed, b.failed]), 0));
  const x = (i: number): number => (bins.length <= 1 ? 0 : (i / (bins.length - 1)) * WIDTH);
  const y = (v: number): number => HEIGHT - (v / yMax) * HEIGHT;
  const summary = SERIES.map((s) => `${s.label} ${recent[s.key].toFixed(1)}/s`).join(', ');

  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <ul className="flex flex-wrap gap-4 text-sm" aria-label="Rates over the last 10 seconds">
          {SERIES.map((s) => (
            <li key={s.key} className="flex items-center gap-1.5">
              <span className="inline-block h-2.5 w-2.5 rounded-full" style={{ background: s.color }} aria-hidden="true" />
              <span className="text-slate-600">{s.label}</span>
              <span className="font-semibold text-slate-900" data-testid={`rate-${s.key}`}>
                {recent[s.key].toFixed(1)}/s
              </span>
            </li>
          ))}
        </ul>
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
      <div className="flex gap-2">
        <div className="flex flex-col justify-between text-right text-xs text-slate-500" aria-hidden="true">
          <span>{yMax}/s</span>
          <span>0</span>
        </div>
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          className="h-40 w-full rounded border border-slate-100 bg-slate-50"
          role="img"
          aria-label={`Throughput over the last ${range.label}: ${summary}`}
        >
          {[0.25, 0.5, 0.75].map((f) => (
            <line key={f} x1={0} x2={WIDTH} y1={HEIGHT * f} y2={HEIGHT * f} stroke="#e2e8f0" strokeWidth={1} />
          ))}
          {SERIES.map((s) => (
            <polyline
              key={s.key}
              fill="none"
              stroke={s.color}
              strokeWidth={2}
              vectorEffect="non-scaling-stroke"
              points={bins.map((b, i) => `${x(i).toFixed(1)},${y(b[s.key]).toFixed(1)}`).join(' ')}
            />
          ))}
        </svg>
      </div>
      <div className="mt-1 flex justify-between pl-8 text-xs text-slate-500" aria-hidden="true">
        <span>−{range.label}</span>
        <span>now</span>
      </div>
      <p className="mt-2 text-xs text-slate-500">
        Per second, from the live stream since this page opened. Failed counts attempts that ended FAILED, SCHEDULED
        (a retry is due) or in the DLQ.
      </p>
    </div>
  );
}
