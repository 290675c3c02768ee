import type { Connection } from '../live/reducer';

const LOOK: Record<Connection, { label: string; dot: string }> = {
  connected: { label: 'Connected', dot: 'bg-green-500' },
  connecting: { label: 'Connecting…', dot: 'bg-amber-400 animate-pulse' },
  reconnecting: { label: 'Reconnecting…', dot: 'bg-amber-400 animate-pulse' },
  offline: { label: 'Offline', dot: 'bg-red-500' },
};

export function ConnectionBadge({ connection }: { connection: Connection }) {
  const look = LOOK[connection];
  return (
    <span
      role="status"
      aria-label={`Live updates: ${look.label}`}
      data-connection={connection}
      className="inline-flex items-center gap-2 rounded-full bg-slate-100 px-3 py-1 text-sm text-slate-700"
    >
      <span className={`h-2.5 w-2.5 rounded-full ${look.dot}`} aria-hidden="true" />
      {look.label}
    </span>
  );
}
