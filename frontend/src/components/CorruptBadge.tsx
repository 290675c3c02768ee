// A badge beside the page title while a claim has set ids aside as corrupt (their
// stored task could not be read: tasks:corrupt); it links to the Queues page, which
// lists them with a drop button. Nothing shows while there are none.
import { useServices } from '../services';
import { usePolling } from '../usePolling';
import { Badge } from './ui';

const POLL_MS = 5000;

export function CorruptBadge() {
  const { client } = useServices();
  const { data } = usePolling(async (signal) => (await client.queueStatus(signal)).corrupt_tasks ?? 0, POLL_MS);
  if (!data) return null;
  const label = `${data} ${data === 1 ? 'task' : 'tasks'} set aside as corrupt`;
  return (
    <a href="#/queues" aria-label={label} title={`${label}: see the Queues page`} data-testid="corrupt-badge">
      <Badge className="bg-red-100 text-red-800">{data} corrupt</Badge>
    </a>
  );
}
