import { memo } from 'react';
import { ProviderStatusCard } from '../components/ProviderStatusCard';
import { QueueCards } from '../components/QueueCards';
import { StateFlowGraph } from '../components/StateFlowGraph';
import { ThroughputChart } from '../components/ThroughputChart';
import { Card, ErrorMessage } from '../components/ui';
import { WorkerStats } from '../components/WorkerStats';
import { useLiveState } from '../live/store';
import { useServices } from '../services';
import { useNow } from '../useNow';

// Re-renders on every live update; WorkerStats and ProviderStatusCard are memo'd
// and poll on their own, so they do not re-render with it.
export const DashboardPage = memo(function DashboardPage() {
  const { store } = useServices();
  const live = useLiveState(store);
  const now = useNow(1000);
  return (
    <div className="space-y-6">
      {live.streamError && <ErrorMessage>Live stream: {live.streamError}</ErrorMessage>}
      <Card title="Task State Flow Overview" headingId="flow-heading">
        <StateFlowGraph live={live} now={now} />
      </Card>
      <Card title="Current Queue Depths" headingId="queues-heading">
        <QueueCards queues={live.queues} retryRatio={live.retryRatio} />
      </Card>
      <Card title="Throughput" headingId="throughput-heading">
        <ThroughputChart throughput={live.throughput} now={now} />
      </Card>
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="xl:col-span-2">
          <WorkerStats />
        </div>
        <ProviderStatusCard />
      </div>
    </div>
  );
});
