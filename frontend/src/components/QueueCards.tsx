// Current depth of each queue; the retry card shows the current retry ratio. Each
// card links to the tasks now in its queue.
import { formatCount } from '../format';
import type { QueueDepths } from '../api/types';
import { historyHash } from '../pages/historyFilters';

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
        <div key={card.key} className={`relative rounded-lg border p-4 text-center hover:shadow-sm ${card.tone}`}>
          <dt className="text-sm font-medium text-slate-600">
            {/* The link covers the card (after:inset-0), so the whole card clicks through. */}
            <a
              href={historyHash({ queue: card.key })}
              className="after:absolute after:inset-0 focus:outline-none focus-visible:underline"
              aria-label={`${card.label} queue: list its tasks`}
            >
              {card.label}
            </a>
          </dt>
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
