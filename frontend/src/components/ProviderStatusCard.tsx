// The LLM provider's account status (cached by the gateway) and today's call counts.
import { memo } from 'react';
import { formatDateTime } from '../format';
import { useServices } from '../services';
import { usePolling } from '../usePolling';
import { Card, ErrorMessage, HealthBadge } from './ui';

const money = (value: number | null): string => (value === null ? '—' : `$${value.toFixed(2)}`);

export const ProviderStatusCard = memo(function ProviderStatusCard() {
  const { client } = useServices();
  const status = usePolling((signal) => client.providerStatus(signal), 30_000);
  const metrics = usePolling((signal) => client.providerMetrics(signal), 30_000);
  const today = metrics.data?.[0];
  const s = status.data;

  return (
    <Card title="Provider Status" headingId="provider-heading">
      {status.error && <ErrorMessage>Provider status: {status.error}</ErrorMessage>}
      {!s && !status.error && <p className="text-sm text-slate-500">Loading provider status…</p>}
      {s && (
        <div className="space-y-3 text-sm">
          <div className="flex flex-wrap items-center gap-2">
            <HealthBadge value={s.status} />
            {s.circuit_breaker_open && <HealthBadge value="open" label="breaker open" />}
            <span className="text-slate-700">{s.message}</span>
          </div>
          <dl className="grid grid-cols-2 gap-x-4 gap-y-2 sm:grid-cols-4 xl:grid-cols-2">
            <Item term="Balance" value={money(s.balance)} />
            <Item term="Usage today" value={money(s.usage_today)} />
            <Item term="Usage this month" value={money(s.usage_month)} />
            <Item term="Failures in a row" value={String(s.consecutive_failures)} />
            <Item term="Last check" value={formatDateTime(s.last_check)} />
            <Item term="From cache" value={s.cache_hit ? 'yes' : 'no'} />
            {today && (
              <>
                <Item term={`Calls ${today.date}`} value={String(today.total_calls)} />
                <Item
                  term="Succeeded / failed / 429"
                  value={`${today.successes} / ${today.failures} / ${today.rate_limit_hits}`}
                />
              </>
            )}
          </dl>
          {s.error_details && <p className="text-red-700">{s.error_details}</p>}
        </div>
      )}
    </Card>
  );
});

function Item({ term, value }: { term: string; value: string }) {
  return (
    <div>
      <dt className="text-slate-500">{term}</dt>
      <dd className="font-medium text-slate-900">{value}</dd>
    </div>
  );
}
