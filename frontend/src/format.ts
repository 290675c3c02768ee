// How times, durations and numbers are shown.
export function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: string | null | undefined): string {
  const date = parseTime(value);
  return date
    ? date.toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        second: '2-digit',
      })
    : '—';
}

export function formatClock(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 3 : 1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function durationBetween(start: string | null | undefined, end: string | null | undefined): string | null {
  const a = parseTime(start);
  const b = parseTime(end);
  return a && b ? formatDuration((b.getTime() - a.getTime()) / 1000) : null;
}

export function formatCount(value: number): string {
  return value.toLocaleString();
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
