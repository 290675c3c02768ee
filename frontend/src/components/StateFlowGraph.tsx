// The Task State Flow graph of contract §9: each node shows its live count and an
// edge animates for a moment after a task travelled along it.
import { memo, useMemo } from 'react';
import {
  Background,
  Controls,
  Handle,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { formatCount } from '../format';
import { historyHash, type HistoryFilters } from '../pages/historyFilters';
import type { FlowEdge } from '../live/flow';
import type { LiveState } from '../live/reducer';

type Tone = 'blue' | 'green' | 'yellow' | 'red' | 'gray';

type CountNodeData = { label: string; count: number | null; tone: Tone; href: string | null };
type CountNode = Node<CountNodeData, 'count'>;

const TONES: Record<Tone, string> = {
  blue: 'border-blue-500 bg-blue-100',
  green: 'border-green-600 bg-green-50',
  yellow: 'border-amber-500 bg-amber-50',
  red: 'border-red-600 bg-red-50',
  gray: 'border-slate-500 bg-slate-100',
};

const HIDDEN = { opacity: 0 };

const SIDES = [
  ['top', Position.Top],
  ['bottom', Position.Bottom],
  ['left', Position.Left],
  ['right', Position.Right],
] as const;

const CountNodeView = memo(function CountNodeView({ data }: NodeProps<CountNode>) {
  return (
    <div className={`flex h-16 w-32 flex-col items-center justify-center rounded-md border-2 ${TONES[data.tone]}`}>
      {/* Edges need a handle on each side; nobody drags them, so none is drawn. */}
      {SIDES.map(([side, position]) => (
        <Handle key={`s-${side}`} id={`s-${side}`} type="source" position={position} isConnectable={false} style={HIDDEN} />
      ))}
      {SIDES.map(([side, position]) => (
        <Handle key={`t-${side}`} id={`t-${side}`} type="target" position={position} isConnectable={false} style={HIDDEN} />
      ))}
      {data.href ? (
        <a href={data.href} className="nodrag nopan pointer-events-auto text-sm font-medium text-blue-800 underline-offset-2 hover:underline">
          {data.label}
        </a>
      ) : (
        <span className="text-sm font-medium text-slate-800">{data.label}</span>
      )}
      {data.count !== null && (
        <span className="text-lg font-bold text-slate-900" data-testid={`flow-count-${data.label}`}>
          {formatCount(data.count)}
        </span>
      )}
    </div>
  );
});

const nodeTypes = { count: CountNodeView };

type NodeId = 'submit' | 'primary' | 'active' | 'completed' | 'failed' | 'dlq' | 'retry' | 'scheduled' | 'cancelled';

const LAYOUT: Record<NodeId, { label: string; x: number; y: number; tone: Tone }> = {
  submit: { label: 'Task Submit', x: 300, y: 0, tone: 'blue' },
  primary: { label: 'Primary', x: 300, y: 110, tone: 'green' },
  active: { label: 'Active', x: 300, y: 220, tone: 'green' },
  completed: { label: 'Completed', x: 80, y: 220, tone: 'green' },
  failed: { label: 'Failed', x: 520, y: 220, tone: 'yellow' },
  dlq: { label: 'Dead Letter', x: 740, y: 220, tone: 'red' },
  retry: { label: 'Retry', x: 300, y: 350, tone: 'yellow' },
  scheduled: { label: 'Scheduled', x: 520, y: 350, tone: 'yellow' },
  cancelled: { label: 'Cancelled', x: 80, y: 110, tone: 'gray' },
};

const EDGES: Record<FlowEdge, { source: NodeId; from: string; target: NodeId; to: string; color: string }> = {
  'submit-primary': { source: 'submit', from: 'bottom', target: 'primary', to: 'top', color: '#3b82f6' },
  'submit-scheduled': { source: 'submit', from: 'right', target: 'scheduled', to: 'right', color: '#3b82f6' },
  'primary-active': { source: 'primary', from: 'bottom', target: 'active', to: 'top', color: '#16a34a' },
  'active-completed': { source: 'active', from: 'left', target: 'completed', to: 'right', color: '#16a34a' },
  'active-failed': { source: 'active', from: 'right', target: 'failed', to: 'left', color: '#d97706' },
  'failed-dlq': { source: 'failed', from: 'right', target: 'dlq', to: 'left', color: '#dc2626' },
  'failed-scheduled': { source: 'failed', from: 'bottom', target: 'scheduled', to: 'top', color: '#d97706' },
  'scheduled-retry': { source: 'scheduled', from: 'left', target: 'retry', to: 'right', color: '#d97706' },
  'scheduled-primary': { source: 'scheduled', from: 'right', target: 'primary', to: 'right', color: '#3b82f6' },
  'retry-active': { source: 'retry', from: 'top', target: 'active', to: 'bottom', color: '#d97706' },
  'primary-cancelled': { source: 'primary', from: 'left', target: 'cancelled', to: 'right', color: '#64748b' },
  'active-cancelled': { source: 'active', from: 'left', target: 'cancelled', to: 'bottom', color: '#64748b' },
  'scheduled-cancelled': { source: 'scheduled', from: 'bottom', target: 'cancelled', to: 'left', color: '#64748b' },
};

/** How long an edge keeps moving after a task travelled it. */
export const EDGE_ANIMATION_MS = 2000;

export function flowCounts(live: Pick<LiveState, 'queues' | 'states'>): Record<NodeId, number | null> {
  return {
    submit: null,
    primary: live.queues.primary,
    active: live.states.ACTIVE,
    completed: live.states.COMPLETED,
    failed: live.states.FAILED,
    dlq: live.states.DLQ,
    retry: live.queues.retry,
    scheduled: live.queues.scheduled,
    cancelled: live.states.CANCELLED ?? 0,
  };
}

// Where each counter clicks through to: the tasks it counts.
const LINKS: Partial<Record<NodeId, Partial<HistoryFilters>>> = {
  primary: { queue: 'primary' },
  retry: { queue: 'retry' },
  active: { status: 'ACTIVE' },
  completed: { status: 'COMPLETED' },
  failed: { status: 'FAILED' },
  scheduled: { status: 'SCHEDULED' },
  dlq: { status: 'DLQ' },
  cancelled: { status: 'CANCELLED' },
};

function linkOf(id: NodeId): string | null {
  const filters = LINKS[id];
  return filters ? historyHash(filters) : null;
}

export function StateFlowGraph({ live, now }: { live: LiveState; now: number }) {
  const counts = flowCounts(live);
  const countKey = JSON.stringify(counts);
  const nodes = useMemo<CountNode[]>(() => {
    const parsed = JSON.parse(countKey) as Record<NodeId, number | null>;
    return (Object.keys(LAYOUT) as NodeId[]).map((id) => ({
      id,
      type: 'count',
      position: { x: LAYOUT[id].x, y: LAYOUT[id].y },
      data: { label: LAYOUT[id].label, count: parsed[id], tone: LAYOUT[id].tone, href: linkOf(id) },
      draggable: false,
      selectable: false,
      focusable: false,
    }));
  }, [countKey]);

  const moving = (Object.keys(EDGES) as FlowEdge[]).filter(
    (edge) => now - (live.edgeActivity[edge] ?? -Infinity) < EDGE_ANIMATION_MS,
  );
  const movingKey = moving.join(',');
  const edges = useMemo<Edge[]>(() => {
    const active = new Set(movingKey.split(','));
    return (Object.keys(EDGES) as FlowEdge[]).map((id) => {
      const edge = EDGES[id];
      const animated = active.has(id);
      return {
        id,
        source: edge.source,
        sourceHandle: `s-${edge.from}`,
        target: edge.target,
        targetHandle: `t-${edge.to}`,
        animated,
        focusable: false,
        selectable: false,
        style: { stroke: edge.color, strokeWidth: animated ? 3 : 1.5, strokeDasharray: animated ? undefined : '4 4' },
      };
    });
  }, [movingKey]);

  return (
    <div>
      <div className="h-[280px] w-full rounded-lg border border-slate-200 sm:h-[440px]" role="group" aria-label="Task State Flow graph">
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          fitView
          fitViewOptions={{ padding: 0.15 }}
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable={false}
          edgesFocusable={false}
          elementsSelectable={false}
          zoomOnScroll={false}
          preventScrolling={false}
          minZoom={0.3}
        >
          <Background gap={16} />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
      {/* A phone shows the graph too small to read, so the counts are listed below it. */}
      <ul className="mt-3 grid grid-cols-2 gap-x-4 gap-y-1 text-sm text-slate-700 sm:sr-only" aria-label="Task counts by stage">
        {(Object.keys(LAYOUT) as NodeId[])
          .filter((id) => counts[id] !== null)
          .map((id) => (
            <li key={id}>
              {linkOf(id) ? <a href={linkOf(id) ?? ''} className="text-blue-800 hover:underline">{LAYOUT[id].label}</a> : LAYOUT[id].label}:{' '}
              <span className="font-semibold text-slate-900">{formatCount(counts[id] ?? 0)}</span>
            </li>
          ))}
      </ul>
    </div>
  );
}
