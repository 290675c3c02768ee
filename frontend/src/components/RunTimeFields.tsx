// When a new task runs (issue 15): now, after a delay, or at a local date and time,
// checked here as the gateway would (a positive delay, at most 365 days ahead).
import type { RunTime } from '../api/types';

export type RunMode = 'now' | 'delay' | 'at';
export const DELAY_UNITS = { seconds: 1, minutes: 60, hours: 3600, days: 86400 } as const;
export type DelayUnit = keyof typeof DELAY_UNITS;
/** The gateway refuses a run time further ahead than this (issue 15). */
const MAX_AHEAD_S = 365 * 86400;

/** What the form's "Run" fields ask for, or why it cannot be sent. `at` is a
 * `datetime-local` value (the browser's local time), sent as UTC. */
export function runTime(
  mode: RunMode,
  amount: string,
  unit: DelayUnit,
  at: string,
  now: Date = new Date(),
): { value: RunTime } | { problem: string } {
  if (mode === 'now') return { value: {} };
  if (mode === 'delay') {
    const seconds = Number(amount) * DELAY_UNITS[unit];
    if (!amount.trim() || !Number.isFinite(seconds) || seconds <= 0) return { problem: 'The delay must be a positive number.' };
    if (seconds > MAX_AHEAD_S) return { problem: 'The delay must be at most 365 days.' };
    return { value: { delay: seconds } };
  }
  const when = new Date(at);
  if (!at || Number.isNaN(when.getTime())) return { problem: 'Choose the date and time to run at.' };
  if ((when.getTime() - now.getTime()) / 1000 > MAX_AHEAD_S) return { problem: 'The run time must be within 365 days.' };
  return { value: { run_at: when.toISOString() } };
}

export function RunTimeFields(props: {
  mode: RunMode;
  setMode: (mode: RunMode) => void;
  amount: string;
  setAmount: (amount: string) => void;
  unit: DelayUnit;
  setUnit: (unit: DelayUnit) => void;
  at: string;
  setAt: (at: string) => void;
  problem: string | null;
  inputClassName: string;
}) {
  const { mode, amount, unit, at, problem, inputClassName: INPUT } = props;
  return (
    <div className="grid gap-3 sm:col-span-2 sm:grid-cols-3">
      <div>
        <label htmlFor="any-run" className="mb-1 block text-sm font-medium text-slate-700">
          Run
        </label>
        <select id="any-run" value={mode} onChange={(event) => props.setMode(event.target.value as RunMode)} className={INPUT}>
          <option value="now">Now</option>
          <option value="delay">After a delay</option>
          <option value="at">At a time</option>
        </select>
      </div>
      {mode === 'delay' && (
        <>
          <div>
            <label htmlFor="any-delay" className="mb-1 block text-sm font-medium text-slate-700">
              Delay
            </label>
            <input
              id="any-delay"
              type="number"
              min="0"
              step="any"
              value={amount}
              onChange={(event) => props.setAmount(event.target.value)}
              aria-invalid={problem !== null}
              className={INPUT}
            />
          </div>
          <div>
            <label htmlFor="any-delay-unit" className="mb-1 block text-sm font-medium text-slate-700">
              Delay unit
            </label>
            <select id="any-delay-unit" value={unit} onChange={(event) => props.setUnit(event.target.value as DelayUnit)} className={INPUT}>
              {Object.keys(DELAY_UNITS).map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </>
      )}
      {mode === 'at' && (
        <div className="sm:col-span-2">
          <label htmlFor="any-run-at" className="mb-1 block text-sm font-medium text-slate-700">
            Run at (your local time)
          </label>
          <input
            id="any-run-at"
            type="datetime-local"
            step="1"
            value={at}
            onChange={(event) => props.setAt(event.target.value)}
            aria-invalid={problem !== null}
            className={INPUT}
          />
        </div>
      )}
      {problem && <p className="text-xs text-red-700 sm:col-span-3">{problem}</p>}
    </div>
  );
}
