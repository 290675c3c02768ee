// Shapes of the gateway's REST API (contract §4). Fields the contract leaves open
// are optional; `normalize.ts` turns loosely typed JSON into these.

export const TASK_STATES = ['PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'SCHEDULED', 'DLQ', 'CANCELLED'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const QUEUE_NAMES = ['primary', 'retry', 'scheduled', 'dlq'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export type QueueDepths = Record<QueueName, number>;
export type StateCounts = Record<TaskState, number>;

export interface QueueStatus {
  queues: QueueDepths;
  states: StateCounts;
  retry_ratio: number;
  /** Every named queue (ours, an addition): `default` first. */
  named_queues?: NamedQueue[];
  /** Ids a claim set aside because their stored task could not be read (ours). */
  corrupt_tasks?: number;
}

/** One id set aside in `tasks:corrupt`, with what is left of its hash. */
export interface CorruptTaskEntry {
  task_id: string;
  /** Its hash's fields (values cut to 1,000 characters); empty: no hash. */
  fields: Record<string, string>;
}

/** GET /api/v1/queues/corrupt: the newest set-aside ids and how many there are. */
export interface CorruptTasks {
  tasks: CorruptTaskEntry[];
  total: number;
}

/** One named queue: its depths, whether claims skip it, the workers consuming it. */
export interface NamedQueue {
  name: string;
  /** New work waiting, all priority levels together. */
  primary: number;
  /** New work per priority level, only levels that hold some. */
  primary_by_priority: Record<string, number>;
  retry: number;
  /** PENDING tasks per type that no running worker of the queue can run. */
  waiting: Record<string, number>;
  paused: boolean;
  workers: string[];
}

export interface ErrorRecord {
  timestamp?: string;
  error?: string;
  error_type?: string;
  retry_count?: number;
  state_transition?: string;
  /** Class name of an unexpected exception (e.g. KeyError); absent for task errors. */
  exception?: string;
  /** The end of that exception's traceback. */
  traceback?: string;
}

export interface StateRecord {
  state: string;
  timestamp?: string;
  /** Why the task was held back (parked) without a failure. */
  reason?: string;
}

export interface TaskSummary {
  task_id: string;
  task_type: string;
  state: string;
  retry_count?: number;
  max_retries?: number;
  last_error?: string | null;
  error_type?: string | null;
  created_at?: string | null;
  updated_at?: string | null;
  completed_at?: string | null;
  content_length?: number;
  has_result?: boolean;
}

export interface TaskDetail extends TaskSummary {
  content?: string | null;
  result?: string | null;
  metadata?: Record<string, unknown> | null;
  retry_after?: string | null;
  started_at?: string | null;
  failed_at?: string | null;
  scheduled_at?: string | null;
  dlq_at?: string | null;
  error_history?: ErrorRecord[];
  state_history?: StateRecord[];
  worker_id?: string | null;
  priority?: number | null;
  idempotency_key?: string | null;
  /** Binary input stored beside the task (a PDF), and its size in bytes. */
  has_payload?: boolean;
  payload_size?: number;
  /** Seconds the task is kept once terminal; null = forever. */
  retention_seconds?: number | null;
  /** The handler's last report (0..1), present once it reported. */
  progress?: number | null;
  progress_message?: string | null;
  progress_at?: string | null;
  cancelled_at?: string | null;
  cancel_requested_at?: string | null;
  [extra: string]: unknown;
}

export interface Page<T> {
  tasks: T[];
  page: number;
  page_size: number;
  total_items: number;
  total_pages: number;
}

export type SortOrder = 'asc' | 'desc';

export interface TaskQuery {
  status?: string;
  task_type?: string;
  queue?: string;
  start_date?: string;
  end_date?: string;
  sort_by?: string;
  sort_order?: SortOrder;
  page?: number;
  page_size?: number;
  task_id?: string;
}

/** A registered task type and the settings a new task of it gets (GET /api/v1/task-types). */
export interface TaskTypeInfo {
  name: string;
  description: string;
  cpu_bound: boolean;
  builtin: boolean;
  validates_input: boolean;
  default_max_retries: number;
  max_content_bytes: number;
  max_payload_bytes: number;
}

/** When a new task runs: after `delay` seconds or at `run_at` (ISO 8601 with a zone); empty: now. */
export interface RunTime {
  delay?: number;
  run_at?: string;
}

export interface TaskCreated {
  task_id: string;
  state: string;
}

export interface WorkerDetail {
  worker_id: string;
  status: string;
  circuit_breaker_state: string;
  success_count: number;
  failure_count: number;
  active_tasks: number;
  last_seen: string | null;
  /** The ids of the tasks it runs now. */
  active_task_ids: string[];
  hostname: string;
  pid: number;
  /** Slots: tasks it may run at once. */
  concurrency: number;
  started_at: string | null;
}

export interface WorkersStatus {
  overall_status: string;
  total_workers: number;
  healthy_workers: number;
  stale_workers: number;
  circuit_breaker_states: Record<string, string>;
  worker_details: WorkerDetail[];
  timestamp: string | null;
}

export interface BreakerActionResult {
  message: string;
  count: number;
}

export interface ProviderStatus {
  status: string;
  message: string;
  balance: number | null;
  usage_today: number | null;
  usage_month: number | null;
  last_check: string | null;
  error_details: string;
  consecutive_failures: number;
  circuit_breaker_open: boolean;
  cache_hit: boolean;
}

export interface ProviderDay {
  date: string;
  total_calls: number;
  successes: number;
  failures: number;
  rate_limit_hits: number;
}

export interface CleanupRequest {
  states: TaskState[];
  older_than_seconds?: number;
}

export interface CleanupResult {
  deleted: number;
  message: string;
}

export interface RetryAllResult {
  retried: number;
  message: string;
}

export interface PurgeResult {
  purged: number;
  message: string;
}

export interface CancelManyResult {
  /** PENDING or SCHEDULED ones, cancelled at once. */
  cancelled: number;
  /** ACTIVE ones, cancelled once their worker stops them. */
  cancel_requested: number;
  message: string;
}

export interface RequeueResult {
  found: number;
  requeued: number;
  errors: number;
  message: string;
}

export interface MessageResult {
  task_id: string;
  message: string;
}

/** The answer to a cancel: CANCELLED at once, or still ACTIVE until its handler stops. */
export interface CancelResult extends MessageResult {
  state: string;
}

/** Tasks of one minute (GET /api/v1/tasks/metrics/throughput). */
export interface ThroughputMinute {
  timestamp: string | null;
  created: number;
  completed: number;
  failed: number;
}

/** Creation -> completion latency of one minute, seconds (GET /api/v1/tasks/metrics/latency). */
export interface LatencyMinute {
  timestamp: string | null;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  avg: number;
  count: number;
}

/** One line a task's handler logged (GET /api/v1/tasks/{id}/logs). */
export interface TaskLogLine {
  seq: number;
  time: string;
  level: string;
  logger: string;
  message: string;
}

/** A page of a task's log lines, oldest first. */
export interface TaskLogPage {
  lines: TaskLogLine[];
  /** Pass back as after_seq to read on. */
  nextAfterSeq: number;
  /** Older lines were dropped (only the newest are kept). */
  truncated: boolean;
  more: boolean;
}
