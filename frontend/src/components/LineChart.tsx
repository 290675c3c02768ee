// A small SVG line chart: one polyline per series over evenly spaced rows, a
// rounded-up y maximum, and labels for both ends of the x axis.
export interface Line {
  key: string;
  label: string;
  color: string;
}

const WIDTH = 600;
const HEIGHT = 160;

export function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

interface Props {
  lines: readonly Line[];
  rows: Record<string, number>[];
  /** Appended to the y maximum, e.g. "/s". */
  unit: string;
  /** What the chart shows, for screen readers. */
  label: string;
  from: string;
  to: string;
  yFormat?: (value: number) => string;
}

export function LineChart({ lines, rows, unit, label, from, to, yFormat = String }: Props) {
  const yMax = niceMax(Math.max(...rows.flatMap((row) => lines.map((l) => row[l.key] ?? 0)), 0));
  const x = (i: number): number => (rows.length <= 1 ? 0 : (i / (rows.length - 1)) * WIDTH);
  const y = (v: number): number => HEIGHT - (v / yMax) * HEIGHT;
  return (
    <>
      <div className="flex gap-2">
        <div className="flex flex-col justify-between text-right text-xs text-slate-500" aria-hidden="true">
          <span>
            {yFormat(yMax)}
            {unit}
          </span>
          <span>0</span>
        </div>
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          className="h-40 w-full rounded border border-slate-100 bg-slate-50"
          role="img"
          aria-label={label}
        >
          {[0.25, 0.5, 0.75].map((f) => (
            <line key={f} x1={0} x2={WIDTH} y1={HEIGHT * f} y2={HEIGHT * f} stroke="#e2e8f0" strokeWidth={1} />
          ))}
          {lines.map((l) => (
            <polyline
              key={l.key}
              fill="none"
              stroke={l.color}
              strokeWidth={2}
              vectorEffect="non-scaling-stroke"
              points={rows.map((row, i) => `${x(i).toFixed(1)},${y(row[l.key] ?? 0).toFixed(1)}`).join(' ')}
            />
          ))}
        </svg>
      </div>
      <div className="mt-1 flex justify-between pl-8 text-xs text-slate-500" aria-hidden="true">
        <span>{from}</span>
        <span>{to}</span>
      </div>
    </>
  );
}

/** The series' colours, names and current values, above a chart. */
export function Legend({
  lines,
  label,
  testIdPrefix,
  value,
  className = '',
}: {
  lines: readonly Line[];
  label: string;
  testIdPrefix: string;
  value: (key: string) => string;
  className?: string;
}) {
  return (
    <ul className={`flex flex-wrap gap-4 text-sm ${className}`} aria-label={label}>
      {lines.map((l) => (
        <li key={l.key} className="flex items-center gap-1.5">
          <span className="inline-block h-2.5 w-2.5 rounded-full" style={{ background: l.color }} aria-hidden="true" />
          <span className="text-slate-600">{l.label}</span>
          <span className="font-semibold text-slate-900" data-testid={`${testIdPrefix}-${l.key}`}>
            {value(l.key)}
          </span>
        </li>
      ))}
    </ul>
  );
}
