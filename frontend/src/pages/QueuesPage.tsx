// Queues: every named queue (docs/state-machine.md, Queues) with its depth (new work
// by priority, retries, tasks waiting for a worker with their handler), how fast the
// depth moves, whether it is paused, and the workers consuming it; pause (after a
// confirmation) and resume one queue; while a claim has set ids aside as corrupt,
// their list with a drop button.
import { memo, useRef } from 'react';
import type { NamedQueue } from '../api/types';
import { ConfirmButton } from '../components/ConfirmButton';
import { CorruptPanel } from '../components/CorruptPanel';
import { Badge, Button, Card, ErrorMessage } from '../components/ui';
import { useServices } from '../services';
import { useAsyncAction } from '../useAsyncAction';
import { usePolling } from '../usePolling';

const POLL_MS = 2000;

/** Tasks a queue holds: new work, retries and waiting tasks. */
export function queueDepth(queue: NamedQueue): number {
  return queue.primary + queue.retry + Object.values(queue.waiting).reduce((sum, n) => sum + n, 0);
}

/** Depth change per second between two readings, "—" until there are two. */
export function rateText(previous: { depth: number; at: number } | undefined, depth: number, at: number): string {
  if (!previous || at <= previous.at) return '—';
  const perSecond = (depth - previous.depth) / ((at - previous.at) / 1000);
  const rounded = Math.round(perSecond * 10) / 10;
  return `${rounded > 0 ? '+' : ''}${rounded}/s`;
}

interface Reading {
  queues: NamedQueue[];
  rates: Record<string, string>;
  corrupt: number;
}

export const QueuesPage = memo(function QueuesPage() {
  const { client } = useServices();
  const last = useRef<Record<string, { depth: number; at: number }>>({});
  const polled = usePolling(async (signal): Promise<Reading> => {
    const status = await client.queueStatus(signal);
    const queues = status.named_queues ?? [];
    const at = Date.now();
    const rates: Record<string, string> = {};
    for (const queue of queues) {
      const depth = queueDepth(queue);
      rates[queue.name] = rateText(last.current[queue.name], depth, at);
      last.current[queue.name] = { depth, at };
    }
    return { queues, rates, corrupt: status.corrupt_tasks ?? 0 };
  }, POLL_MS);
  const queues = polled.data?.queues ?? [];
  return (
    <div className="space-y-6">
      {polled.error && <ErrorMessage>Queues: {polled.error}</ErrorMessage>}
      <Card title={`Queues (${queues.length})`} headingId="queues-heading">
        <div className="overflow-x-auto">
          <table className="min-w-full text-left text-sm" aria-labelledby="queues-heading">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th className="py-2 pr-4">Queue</th>
                <th className="py-2 pr-4 text-right">Depth</th>
                <th className="py-2 pr-4">New work by priority</th>
                <th className="py-2 pr-4 text-right">Retries</th>
                <th className="py-2 pr-4">Waiting for a handler</th>
                <th className="py-2 pr-4 text-right">Rate</th>
                <th className="py-2 pr-4">State</th>
                <th className="py-2 pr-4">Workers</th>
                <th className="py-2" aria-label="Actions" />
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {queues.map((queue) => (
                <QueueRow key={queue.name} queue={queue} rate={polled.data?.rates[queue.name] ?? '—'} onChange={polled.reload} />
              ))}
            </tbody>
          </table>
        </div>
        <p className="mt-3 text-xs text-slate-500">
          Waiting tasks are PENDING tasks no running worker of their queue has a handler for: they run once one that has it
          starts, and never go to the DLQ for that. Rate: change of the depth per second (negative: draining).
        </p>
      </Card>
      {(polled.data?.corrupt ?? 0) > 0 && <CorruptPanel onChange={polled.reload} />}
    </div>
  );
});

function QueueRow({ queue, rate, onChange }: { queue: NamedQueue; rate: string; onChange: () => void }) {
  const { client } = useServices();
  const resume = useAsyncAction(async () => {
    await client.resumeQueue(queue.name);
    onChange();
  });
  const levels = Object.entries(queue.primary_by_priority).sort(([a], [b]) => Number(b) - Number(a));
  const waiting = Object.entries(queue.waiting).sort(([a], [b]) => a.localeCompare(b));
  return (
    <tr aria-label={`Queue ${queue.name}`}>
      <td className="py-2 pr-4 font-mono font-semibold text-slate-900">{queue.name}</td>
      <td className="py-2 pr-4 text-right font-mono" data-testid="depth">
        {queueDepth(queue)}
      </td>
      <td className="py-2 pr-4">
        {levels.length === 0 ? <span className="text-slate-400">none</span> : levels.map(([p, n]) => `p${p}: ${n}`).join(', ')}
      </td>
      <td className="py-2 pr-4 text-right font-mono">{queue.retry}</td>
      <td className="py-2 pr-4">
        {waiting.length === 0 ? (
          <span className="text-slate-400">none</span>
        ) : (
          <span className="text-amber-800">{waiting.map(([type, n]) => `${type}: ${n}`).join(', ')}</span>
        )}
      </td>
      <td className="py-2 pr-4 text-right font-mono">{rate}</td>
      <td className="py-2 pr-4">
        {queue.paused ? (
          <Badge className="bg-amber-100 text-amber-900">Paused</Badge>
        ) : (
          <Badge className="bg-green-100 text-green-800">Active</Badge>
        )}
      </td>
      <td className="py-2 pr-4" title={queue.workers.join('\n')}>
        {queue.workers.length === 0 ? <span className="text-slate-400">none</span> : queue.workers.length}
      </td>
      <td className="py-2">
        {queue.paused ? (
          <span className="inline-flex items-center gap-2">
            <Button onClick={() => void resume.run()} disabled={resume.busy} aria-label={`Resume queue ${queue.name}`}>
              Resume
            </Button>
            {resume.error && <span className="text-xs text-red-700">{resume.error}</span>}
          </span>
        ) : (
          <ConfirmButton
            label="Pause"
            ariaLabel={`Pause queue ${queue.name}`}
            title={`Pause queue ${queue.name}?`}
            message={`No worker claims tasks of ${queue.name} until it is resumed; running tasks finish. Other queues go on.`}
            variant="warning"
            showResult={false}
            action={async () => {
              await client.pauseQueue(queue.name);
              return `Queue ${queue.name} paused.`;
            }}
            onDone={onChange}
          />
        )}
      </td>
    </tr>
  );
}
