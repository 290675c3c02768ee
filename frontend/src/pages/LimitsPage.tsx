// Limits: each task type's declared rate and concurrency limits and their use now
// (GET /api/v1/limits): free rate tokens, slots used per key value, tasks held back.
import { memo } from 'react';
import { listLimits, type TypeLimitUse } from '../api/limits';
import { Card, ErrorMessage } from '../components/ui';
import { formatDateTime } from '../format';
import { useServices } from '../services';
import { usePolling } from '../usePolling';

export const LimitsPage = memo(function LimitsPage() {
  const { client } = useServices();
  const polled = usePolling((signal) => listLimits(client, signal), 2000);
  const limits = polled.data ?? [];
  return (
    <Card title="Limits per task type" headingId="limits-heading">
      {polled.error && <ErrorMessage>Limits: {polled.error}</ErrorMessage>}
      {!polled.loading && !polled.error && limits.length === 0 && (
        <p className="text-sm text-slate-600">No task type declares a rate or concurrency limit.</p>
      )}
      {limits.length > 0 && (
        <div className="overflow-x-auto">
          <table className="min-w-full text-left text-sm" aria-labelledby="limits-heading">
            <thead className="text-slate-600">
              <tr>
                <th className="px-2 py-1">Type</th>
                <th className="px-2 py-1">Rate</th>
                <th className="px-2 py-1">Tokens free</th>
                <th className="px-2 py-1">Concurrency</th>
                <th className="px-2 py-1">Slots in use</th>
                <th className="px-2 py-1">Held back</th>
                <th className="px-2 py-1">Declared by</th>
              </tr>
            </thead>
            <tbody>
              {limits.map((use) => (
                <tr key={use.task_type} className="border-t border-slate-100 align-top">
                  <td className="px-2 py-1 font-medium">{use.task_type}</td>
                  <td className="px-2 py-1 font-mono">{use.rate_limit || '—'}</td>
                  <td className="px-2 py-1">{use.rate_limit ? `${use.rate_tokens} / ${use.rate_capacity}` : '—'}</td>
                  <td className="px-2 py-1">{concurrency(use)}</td>
                  <td className="px-2 py-1">
                    <SlotList use={use} />
                  </td>
                  <td className="px-2 py-1">
                    {use.held_back} now
                    <span className="block text-xs text-slate-500">
                      {use.held_by_rate_total} by rate, {use.held_by_concurrency_total} by concurrency in all
                    </span>
                  </td>
                  <td className="px-2 py-1 text-slate-600">
                    {use.declared_by}
                    {use.declared_at && <span className="block text-xs">{formatDateTime(use.declared_at)}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
});

function concurrency(use: TypeLimitUse): string {
  if (!use.concurrency_limit) return '—';
  return `${use.concurrency_limit} per ${use.concurrency_key || 'type'}`;
}

function SlotList({ use }: { use: TypeLimitUse }) {
  if (!use.concurrency_limit) return <>—</>;
  if (use.slots.length === 0) return <span className="text-slate-500">none</span>;
  return (
    <ul aria-label={`Slots of ${use.task_type}`}>
      {use.slots.map((slot) => (
        <li key={slot.key_value}>
          <span className="font-mono">{slot.key_value || '(no value)'}</span>: {slot.used} / {slot.limit}
          {slot.used >= slot.limit && <span className="ml-1 text-xs text-amber-700">full</span>}
        </li>
      ))}
    </ul>
  );
}
