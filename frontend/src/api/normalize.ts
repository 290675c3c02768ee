// Defensive readers for JSON from the gateway: every field is checked, nothing is
// trusted to have the documented type, and enum spellings are folded (the gRPC
// names such as CIRCUIT_STATE_OPEN and the REST names such as "open" both work).
import {
  QUEUE_NAMES,
  TASK_STATES,
  type CorruptTasks,
  type ProviderDay,
  type ProviderStatus,
  type NamedQueue,
  type QueueDepths,
  type QueueStatus,
  type StateCounts,
  type LatencyMinute,
  type TaskState,
  type ThroughputMinute,
  type WorkerDetail,
  type WorkersStatus,
} from './types';

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function num(value: unknown, fallback = 0): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return fallback;
}

export function optNum(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const parsed = num(value, NaN);
  return Number.isNaN(parsed) ? null : parsed;
}

export function str(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fallback;
}

/** An ISO string for a timestamp given as ISO text, unix seconds or unix ms. */
export function timestamp(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') {
    if (/^\d+(\.\d+)?$/.test(value)) return timestamp(Number(value));
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    const ms = value < 1e12 ? value * 1000 : value;
    return new Date(ms).toISOString();
  }
  return null;
}

/** Folds `TASK_STATE_PENDING`, `pending`, `Pending` to `PENDING`. */
export function enumName(value: unknown, prefix = ''): string {
  let name = str(value).trim().toUpperCase();
  if (prefix && name.startsWith(prefix)) name = name.slice(prefix.length);
  return name;
}

export function taskState(value: unknown): TaskState | null {
  const name = enumName(value, 'TASK_STATE_');
  return (TASK_STATES as readonly string[]).includes(name) ? (name as TaskState) : null;
}

export function emptyDepths(): QueueDepths {
  return { primary: 0, retry: 0, scheduled: 0, dlq: 0 };
}

export function emptyCounts(): StateCounts {
  return { PENDING: 0, ACTIVE: 0, COMPLETED: 0, FAILED: 0, SCHEDULED: 0, DLQ: 0, CANCELLED: 0 };
}

export function queueDepths(value: unknown): QueueDepths | null {
  if (!isObject(value)) return null;
  const out = emptyDepths();
  for (const name of QUEUE_NAMES) out[name] = Math.max(0, num(value[name] ?? value[name.toUpperCase()]));
  return out;
}

export function stateCounts(value: unknown): StateCounts | null {
  if (!isObject(value)) return null;
  const out = emptyCounts();
  for (const [key, count] of Object.entries(value)) {
    const state = taskState(key);
    if (state) out[state] = Math.max(0, num(count));
  }
  return out;
}

export function queueStatus(value: unknown): QueueStatus {
  const body = isObject(value) ? value : {};
  return {
    queues: queueDepths(body.queues ?? body.queue_depths) ?? emptyDepths(),
    states: stateCounts(body.states ?? body.state_counts) ?? emptyCounts(),
    retry_ratio: num(body.retry_ratio),
    named_queues: namedQueues(body.named_queues),
    corrupt_tasks: num(body.corrupt_tasks),
  };
}

/** ListCorruptTasks in proto JSON (the int64 total as a string). */
export function corruptTasks(value: unknown): CorruptTasks {
  const body = isObject(value) ? value : {};
  const tasks = Array.isArray(body.tasks) ? body.tasks.filter(isObject) : [];
  return {
    tasks: tasks.map((raw) => ({
      task_id: str(raw.task_id),
      fields: isObject(raw.fields) ? Object.fromEntries(Object.entries(raw.fields).map(([k, v]) => [k, str(v)])) : {},
    })),
    total: num(body.total),
  };
}

export function namedQueues(value: unknown): NamedQueue[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((raw) => ({
    name: str(raw.name),
    primary: num(raw.primary),
    primary_by_priority: numbers(raw.primary_by_priority),
    retry: num(raw.retry),
    waiting: numbers(raw.waiting),
    paused: raw.paused === true,
    workers: Array.isArray(raw.workers) ? raw.workers.map((w) => str(w)) : [],
  }));
}

function numbers(value: unknown): Record<string, number> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([key, n]) => [key, num(n)]));
}

function lower(value: unknown, prefix: string): string {
  return enumName(value, prefix).toLowerCase();
}

function breakerOf(raw: Json): string {
  const nested = raw.circuit_breaker;
  const value = raw.circuit_breaker_state ?? (isObject(nested) ? nested.state : nested);
  return lower(value, 'CIRCUIT_STATE_') || 'unknown';
}

function activeCount(raw: Json): number {
  for (const key of ['active_task_ids', 'active_tasks']) {
    const value = raw[key];
    if (Array.isArray(value)) return value.length;
    if (value !== undefined) return num(value);
  }
  return num(raw.active_task_count);
}

function taskIds(value: unknown): string[] {
  return Array.isArray(value) ? value.map((id) => str(id)) : [];
}

export function workerDetail(value: unknown): WorkerDetail {
  const raw = isObject(value) ? value : {};
  return {
    worker_id: str(raw.worker_id, '?'),
    status: lower(raw.status ?? raw.health, 'WORKER_HEALTH_') || 'unknown',
    circuit_breaker_state: breakerOf(raw),
    success_count: num(raw.success_count ?? raw.completed ?? raw.successes),
    failure_count: num(raw.failure_count ?? raw.fail_count ?? raw.failed ?? raw.failures),
    active_tasks: activeCount(raw),
    last_seen: timestamp(raw.last_seen ?? raw.last_heartbeat),
    active_task_ids: taskIds(raw.active_task_ids ?? raw.active_tasks),
    hostname: str(raw.hostname),
    pid: num(raw.pid),
    concurrency: num(raw.concurrency),
    started_at: timestamp(raw.started_at),
  };
}

export function workersStatus(value: unknown): WorkersStatus {
  const raw = isObject(value) ? value : {};
  const details = Array.isArray(raw.worker_details) ? raw.worker_details.map(workerDetail) : [];
  // Each breaker's state by service is `breakers`; `circuit_breaker_states` counts
  // workers per state (the original's shape) and names services only in old answers.
  const breakers: Record<string, string> = {};
  const byService = isObject(raw.breakers) ? raw.breakers : raw.circuit_breaker_states;
  if (isObject(byService)) {
    for (const [name, state] of Object.entries(byService)) {
      if (typeof state === 'number') continue;
      breakers[name] = lower(isObject(state) ? state.state : state, 'CIRCUIT_STATE_');
    }
  }
  const healthy = details.filter((w) => w.status === 'healthy').length;
  return {
    overall_status: lower(raw.overall_status, 'HEALTH_STATUS_') || 'unknown',
    total_workers: num(raw.total_workers, details.length),
    healthy_workers: num(raw.healthy_workers, healthy),
    stale_workers: num(raw.stale_workers, details.length - healthy),
    circuit_breaker_states: breakers,
    worker_details: details,
    timestamp: timestamp(raw.timestamp),
  };
}

export function providerStatus(value: unknown): ProviderStatus {
  const raw = isObject(value) ? value : {};
  return {
    status: lower(raw.status, 'PROVIDER_STATE_') || 'unknown',
    message: str(raw.message),
    balance: optNum(raw.balance),
    usage_today: optNum(raw.usage_today),
    usage_month: optNum(raw.usage_month),
    last_check: timestamp(raw.last_check),
    error_details: str(raw.error_details),
    consecutive_failures: num(raw.consecutive_failures),
    circuit_breaker_open: raw.circuit_breaker_open === true,
    cache_hit: raw.cache_hit === true,
  };
}

/** Provider metrics: `{daily: [...]}`, `{days: [...]}`, a bare list, or one day's flat object. */
export function providerDays(value: unknown): ProviderDay[] {
  const list: unknown[] = Array.isArray(value)
    ? value
    : isObject(value) && Array.isArray(value.daily)
      ? value.daily
      : isObject(value) && Array.isArray(value.days)
        ? value.days
        : isObject(value) && !('metrics' in value)
          ? [value]
          : [];
  return list.filter(isObject).map((day) => ({
    date: str(day.date, 'today'),
    total_calls: num(day.total_calls ?? day.calls ?? day.total),
    successes: num(day.successes ?? day.success ?? day.successful_calls),
    failures: num(day.failures ?? day.failed ?? day.failed_calls),
    rate_limit_hits: num(day.rate_limit_hits ?? day.rate_limited),
  }));
}

function minutes(value: unknown): Json[] {
  return isObject(value) && Array.isArray(value.metrics) ? value.metrics.filter(isObject) : [];
}

/** `{metrics: [{timestamp, created_count, completed_count, failed_count}], time_window}`. */
export function throughputMinutes(value: unknown): ThroughputMinute[] {
  return minutes(value).map((m) => ({
    timestamp: timestamp(m.timestamp),
    created: num(m.created_count),
    completed: num(m.completed_count),
    failed: num(m.failed_count),
  }));
}

/** `{metrics: [{timestamp, p50, p90, p95, p99, max_latency, avg_latency, task_count}]}`. */
export function latencyMinutes(value: unknown): LatencyMinute[] {
  return minutes(value).map((m) => ({
    timestamp: timestamp(m.timestamp),
    p50: num(m.p50),
    p95: num(m.p95),
    p99: num(m.p99),
    max: num(m.max_latency),
    avg: num(m.avg_latency),
    count: num(m.task_count),
  }));
}
