// State history and error history of a task, oldest first.
import type { ErrorRecord, StateRecord } from '../api/types';
import { durationBetween, formatDateTime } from '../format';
import { StatusBadge } from './ui';

export function StateTimeline({ history }: { history: StateRecord[] }) {
  if (!history.length) return <p className="text-sm text-slate-500">No state changes recorded.</p>;
  return (
    <ol className="relative space-y-2 border-l-2 border-slate-200 pl-4" aria-label="State history">
      {history.map((record, index) => {
        const previous = history[index - 1];
        const after = previous ? durationBetween(previous.timestamp, record.timestamp) : null;
        return (
          <li key={index} className="relative flex flex-wrap items-center justify-between gap-2 rounded-md border border-slate-200 bg-white px-3 py-2">
            <span className="absolute -left-[1.4rem] top-3.5 h-2.5 w-2.5 rounded-full bg-slate-400" aria-hidden="true" />
            <span className="flex items-center gap-2">
              <StatusBadge state={record.state} />
              {after && <span className="text-xs text-slate-500">after {after}</span>}
              {record.reason && <span className="text-xs text-slate-600">held back: {record.reason}</span>}
            </span>
            <time dateTime={record.timestamp} className="text-sm text-slate-600">
              {formatDateTime(record.timestamp)}
            </time>
          </li>
        );
      })}
    </ol>
  );
}

export function ErrorTimeline({ history }: { history: ErrorRecord[] }) {
  if (!history.length) return <p className="text-sm text-slate-500">No errors.</p>;
  return (
    <ol className="space-y-2" aria-label="Error history">
      {history.map((record, index) => (
        <li key={index} className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <span className="font-medium text-red-800">
              {record.error_type || 'Error'}
              {record.state_transition && <span className="ml-2 font-normal text-slate-600">{record.state_transition}</span>}
              {record.retry_count !== undefined && (
                <span className="ml-2 font-normal text-slate-600">retry #{record.retry_count}</span>
              )}
            </span>
            <time dateTime={record.timestamp} className="text-slate-600">
              {formatDateTime(record.timestamp)}
            </time>
          </div>
          {record.error && <p className="mt-1 whitespace-pre-wrap break-words text-slate-800">{record.error}</p>}
          {record.traceback && (
            <details className="mt-1">
              <summary className="cursor-pointer text-slate-700">Traceback{record.exception ? ` (${record.exception})` : ''}</summary>
              <pre className="mt-1 max-h-80 overflow-auto whitespace-pre-wrap break-words rounded bg-white p-2 text-xs text-slate-800">
                {record.traceback}
              </pre>
            </details>
          )}
        </li>
      ))}
    </ol>
  );
}
