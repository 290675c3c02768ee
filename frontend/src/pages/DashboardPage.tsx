import { memo } from 'react';
import { ProviderStatusCard } from '../components/ProviderStatusCard';
import { QueueCards } from '../components/QueueCards';
import { StateFlowGraph } from '../components/StateFlowGraph';
import { LatencyChart } from '../components/LatencyChart';
import { ThroughputChart } from '../components/ThroughputChart';
import { Card, ErrorMessage } from '../components/ui';
import { WorkerStats } from '../components/WorkerStats';
import { useLiveState } from '../live/store';
import { useServices } from '../services';
import { useNow } from '../useNow';
import { usePolling } from '../usePolling';

// The server's per-minute series: a minute's figures settle once it is over.
const SERIES_MINUTES = 60;
const SERIES_POLL_MS = 15_000;

// Re-renders on every live update; WorkerStats and ProviderStatusCard are memo'd
// and poll on their own, so they do not re-render with it.
export const DashboardPage = memo(function DashboardPage() {
  const { store, client } = useServices();
  const live = useLiveState(store);
  const now = useNow(1000);
  const throughput = usePolling((signal) => client.taskThroughput(SERIES_MINUTES, signal), SERIES_POLL_MS);
  const latency = usePolling((signal) => client.taskLatency(SERIES_MINUTES, signal), SERIES_POLL_MS);
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
        <ThroughputChart throughput={live.throughput} now={now} hour={throughput.data} />
        {throughput.error && <ErrorMessage>Throughput series: {throughput.error}</ErrorMessage>}
      </Card>
      <Card title="Latency" headingId="latency-heading">
        <LatencyChart minutes={latency.data} />
        {latency.error && <ErrorMessage>Latency series: {latency.error}</ErrorMessage>}
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
