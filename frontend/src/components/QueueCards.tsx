// Current depth of each queue; the retry card shows the current retry ratio.
import { formatCount } from '../format';
import type { QueueDepths } from '../api/types';

const CARDS = [
  { key: 'primary', label: 'Primary', tone: 'border-orange-200 bg-orange-50' },
  { key: 'retry', label: 'Retry', tone: 'border-yellow-200 bg-yellow-50' },
  { key: 'scheduled', label: 'Scheduled', tone: 'border-violet-200 bg-violet-50' },
  { key: 'dlq', label: 'DLQ', tone: 'border-red-200 bg-red-50' },
] as const;

export function QueueCards({ queues, retryRatio }: { queues: QueueDepths; retryRatio: number }) {
  return (
    <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
      {CARDS.map((card) => (
        <div key={card.key} className={`rounded-lg border p-4 text-center ${card.tone}`}>
          <dt className="text-sm font-medium text-slate-600">{card.label}</dt>
          <dd className="text-2xl font-bold text-slate-900" data-testid={`queue-${card.key}`}>
            {formatCount(queues[card.key])}
          </dd>
          {card.key === 'retry' && (
            <dd className="text-xs text-slate-600">Ratio: {(retryRatio * 100).toFixed(1)}%</dd>
          )}
        </div>
      ))}
    </dl>
  );
}
