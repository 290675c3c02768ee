// A badge beside the page title while a claim has set ids aside as corrupt (their
// stored task could not be read: tasks:corrupt); it links to the Queues page, which
// lists them with drop and delete buttons. Nothing shows while there are none. The
// count comes with the live stream's snapshots (initial_status.corrupt_tasks; the
// monitor sends a fresh one when the count changes) and the GET status the stream
// falls back to: no polling of its own.
import { useLiveState } from '../live/store';
import { useServices } from '../services';
import { Badge } from './ui';

export function CorruptBadge() {
  const { store } = useServices();
  const count = useLiveState(store).corruptTasks;
  if (!count) return null;
  const label = `${count} ${count === 1 ? 'task' : 'tasks'} set aside as corrupt`;
  return (
    <a href="#/queues" aria-label={label} title={`${label}: see the Queues page`} data-testid="corrupt-badge">
      <Badge className="bg-red-100 text-red-800">{count} corrupt</Badge>
    </a>
  );
}
