// The only way the dashboard talks to the gateway: REST calls of contract §4 plus
// the bulk operations and the per-task event stream the gateway adds.
import {
  corruptTasks,
  isObject,
  latencyMinutes,
  num,
  providerDays,
  providerStatus,
  queueStatus,
  str,
  throughputMinutes,
  workersStatus,
  type Json,
} from './normalize';
import { sessionTokenStore, type TokenStore } from './token';
import type {
  BreakerActionResult,
  CancelResult,
  LatencyMinute,
  ThroughputMinute,
  CancelManyResult,
  CleanupRequest,
  CleanupResult,
  CorruptTasks,
  MessageResult,
  Page,
  ProviderDay,
  ProviderStatus,
  PurgeResult,
  QueueStatus,
  RequeueResult,
  RetryAllResult,
  RunTime,
  TaskCreated,
  TaskDetail,
  TaskLogPage,
  TaskQuery,
  TaskState,
  TaskSummary,
  TaskTypeInfo,
  WorkersStatus,
} from './types';

/** A failed call: `status` is the HTTP status (0 when the gateway was unreachable). */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(status ? `${detail} (HTTP ${status})` : detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

/** The human-readable reason inside an error response body. */
export function errorDetail(status: number, statusText: string, body: string): string {
  const fallback = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    const text = body.trim();
    if (!text || text.startsWith('<')) return fallback;
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  }
  const detail = isObject(parsed) ? parsed.detail ?? parsed.message ?? parsed.error : parsed;
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail) && detail.length) return detail.map(validationMessage).join('; ');
  if (detail !== undefined && detail !== null) return JSON.stringify(detail);
  return fallback;
}

/** One FastAPI validation error `{loc: ["body", "content"], msg}` as "content: msg". */
function validationMessage(item: unknown): string {
  if (!isObject(item)) return str(item, JSON.stringify(item));
  const loc = Array.isArray(item.loc) ? item.loc.filter((part) => part !== 'body' && part !== 'query') : [];
  const msg = str(item.msg, JSON.stringify(item));
  return loc.length ? `${loc.join('.')}: ${msg}` : msg;
}

export interface ClientOptions {
  /** Prefix of every URL; "" means same origin. */
  base?: string;
  fetch?: typeof fetch;
  tokens?: TokenStore;
}

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: FormData;
  signal?: AbortSignal;
}

export type TokenPrompt = () => Promise<string | null>;

export class ApiClient {
  readonly base: string;
  readonly tokens: TokenStore;
  private readonly fetchImpl: typeof fetch;
  private prompt: TokenPrompt | null = null;
  private pendingPrompt: Promise<string | null> | null = null;

  constructor(options: ClientOptions = {}) {
    this.base = (options.base ?? '').replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.tokens = options.tokens ?? sessionTokenStore;
  }

  /** Who to ask for a token when the gateway answers 401. */
  setTokenPrompt(prompt: TokenPrompt | null): void {
    this.prompt = prompt;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.base}${path}${qs ? `?${qs}` : ''}`;
  }

  /** URL for an EventSource, which cannot send headers: the token goes in the query. */
  streamUrl(path: string): string {
    const token = this.tokens.get();
    return this.url(path, token ? { token } : undefined);
  }

  /** Asks for a token (one prompt at a time, shared by concurrent callers). */
  async requestToken(): Promise<string | null> {
    if (!this.prompt) return null;
    if (!this.pendingPrompt) {
      this.pendingPrompt = this.prompt().finally(() => {
        this.pendingPrompt = null;
      });
    }
    const token = await this.pendingPrompt;
    if (token) this.tokens.set(token);
    return token;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    let response = await this.send(method, path, options);
    if (response.status === 401 && this.prompt) {
      const token = await this.requestToken();
      if (token) response = await this.send(method, path, options);
    }
    const body = await response.text().catch(() => '');
    if (!response.ok) {
      if (response.status === 401) this.tokens.clear();
      throw new ApiError(response.status, errorDetail(response.status, response.statusText, body));
    }
    if (!body) return null;
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new ApiError(response.status, 'The gateway answered with something that is not JSON');
    }
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.tokens.get();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (options.form) body = options.form;
    else if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    try {
      return await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body,
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'Cannot reach the gateway');
    }
  }

  // Queues and workers ------------------------------------------------------

  async queueStatus(signal?: AbortSignal): Promise<QueueStatus> {
    return queueStatus(await this.request('GET', '/api/v1/queues/status', { signal }));
  }

  /** Ids a claim set aside as corrupt, newest first (ListCorruptTasks). */
  async corruptTasks(signal?: AbortSignal): Promise<CorruptTasks> {
    return corruptTasks(await this.request('GET', '/api/v1/queues/corrupt', { signal }));
  }

  /** Drops these set-aside ids (what is left of their hashes stays); how many went. */
  async dropCorruptTasks(taskIds: string[]): Promise<number> {
    const body = asJson(await this.request('POST', '/api/v1/queues/corrupt/drop', { json: { task_ids: taskIds } }));
    return num(body.dropped);
  }

  async workers(signal?: AbortSignal): Promise<WorkersStatus> {
    return workersStatus(await this.request('GET', '/api/v1/workers/', { signal }));
  }

  /** Whether claiming is paused cluster-wide (every executor follows one flag). */
  async executorsPaused(signal?: AbortSignal): Promise<boolean> {
    return asJson(await this.request('GET', '/api/v1/executors/status', { signal })).paused === true;
  }

  async pauseExecutors(): Promise<boolean> {
    return asJson(await this.request('POST', '/api/v1/executors/pause', { json: {} })).paused === true;
  }

  async resumeExecutors(): Promise<boolean> {
    return asJson(await this.request('POST', '/api/v1/executors/resume', { json: {} })).paused === true;
  }

  /** Stops claims from one named queue; the answer says whether it is paused now. */
  async pauseQueue(name: string): Promise<boolean> {
    const path = `/api/v1/queues/${encodeURIComponent(name)}/pause`;
    return asJson(await this.request('POST', path, { json: {} })).paused === true;
  }

  async resumeQueue(name: string): Promise<boolean> {
    const path = `/api/v1/queues/${encodeURIComponent(name)}/resume`;
    return asJson(await this.request('POST', path, { json: {} })).paused === true;
  }

  async resetCircuitBreaker(): Promise<BreakerActionResult> {
    const body = asJson(await this.request('POST', '/api/v1/workers/reset-circuit-breaker', { json: {} }));
    return { message: str(body.message, 'Circuit breaker reset'), count: num(body.successful_resets) };
  }

  async openCircuitBreaker(): Promise<BreakerActionResult> {
    const body = asJson(await this.request('POST', '/api/v1/workers/open-circuit-breaker', { json: {} }));
    return {
      message: str(body.message, 'Circuit breaker opened'),
      count: num(body.successful_opens ?? body.successful_resets),
    };
  }

  async providerStatus(signal?: AbortSignal): Promise<ProviderStatus> {
    return providerStatus(await this.request('GET', '/api/v1/openrouter/status', { signal }));
  }

  async providerMetrics(signal?: AbortSignal): Promise<ProviderDay[]> {
    return providerDays(await this.request('GET', '/api/v1/openrouter/metrics', { signal }));
  }

  /** Tasks created, completed and failed per minute over the last `minutes`, oldest first. */
  async taskThroughput(minutes: number, signal?: AbortSignal): Promise<ThroughputMinute[]> {
    const query = { minutes };
    return throughputMinutes(await this.request('GET', '/api/v1/tasks/metrics/throughput', { query, signal }));
  }

  /** Creation -> completion latency per minute over the last `minutes`, oldest first. */
  async taskLatency(minutes: number, signal?: AbortSignal): Promise<LatencyMinute[]> {
    const query = { minutes };
    return latencyMinutes(await this.request('GET', '/api/v1/tasks/metrics/latency', { query, signal }));
  }

  // Tasks -------------------------------------------------------------------

  async taskSummaries(query: TaskQuery, signal?: AbortSignal): Promise<Page<TaskSummary>> {
    const body = asJson(await this.request('GET', '/api/v1/tasks/summaries/', { query: { ...query }, signal }));
    const tasks = Array.isArray(body.tasks) ? body.tasks.filter(isObject).map(taskSummary) : [];
    return {
      tasks,
      page: num(body.page, query.page ?? 1),
      page_size: num(body.page_size, query.page_size ?? 20),
      total_items: num(body.total_items, tasks.length),
      total_pages: num(body.total_pages, 1),
    };
  }

  /** A page of full task records (GET /api/v1/tasks/), e.g. to find a worker's failures. */
  async tasks(query: TaskQuery, signal?: AbortSignal): Promise<TaskDetail[]> {
    const body = asJson(await this.request('GET', '/api/v1/tasks/', { query: { ...query }, signal }));
    return (Array.isArray(body.tasks) ? body.tasks : []).filter(isObject).map(taskDetail);
  }

  async task(taskId: string, signal?: AbortSignal): Promise<TaskDetail> {
    const body = asJson(await this.request('GET', `/api/v1/tasks/${encodeURIComponent(taskId)}`, { signal }));
    return taskDetail(body);
  }

  /** The task's log lines numbered above `afterSeq` (GET /api/v1/tasks/{id}/logs). */
  async taskLogs(taskId: string, afterSeq = 0, signal?: AbortSignal): Promise<TaskLogPage> {
    const path = `/api/v1/tasks/${encodeURIComponent(taskId)}/logs`;
    const body = asJson(await this.request('GET', path, { query: { after_seq: afterSeq, limit: 1000 }, signal }));
    const lines = (Array.isArray(body.lines) ? body.lines : []).filter(isObject).map((line) => ({
      seq: num(line.seq),
      time: str(line.time),
      level: str(line.level),
      logger: str(line.logger),
      message: str(line.message),
    }));
    return {
      lines,
      nextAfterSeq: num(body.next_after_seq, afterSeq),
      truncated: body.truncated === true,
      more: body.more === true,
    };
  }

  async taskTypes(signal?: AbortSignal): Promise<TaskTypeInfo[]> {
    const body = asJson(await this.request('GET', '/api/v1/task-types', { signal }));
    const kinds = Array.isArray(body.task_types) ? body.task_types : [];
    return kinds.filter(isObject).map((kind) => ({
      name: str(kind.name),
      description: str(kind.description),
      cpu_bound: kind.cpu_bound === true,
      builtin: kind.builtin === true,
      validates_input: kind.validates_input === true,
      default_max_retries: num(kind.default_max_retries),
      max_content_bytes: num(kind.max_content_bytes),
      max_payload_bytes: num(kind.max_payload_bytes),
    }));
  }

  /** A task of any registered type (POST /api/v1/tasks). */
  /** `when`: a delay in seconds or an ISO 8601 run time with its zone (issue 15); none runs at once. */
  async createTask(
    taskType: string,
    content: string,
    metadata: Record<string, unknown>,
    when: RunTime = {},
  ): Promise<TaskCreated> {
    const json = { task_type: taskType, content, metadata, ...when };
    return created(await this.request('POST', '/api/v1/tasks', { json }));
  }

  async createSummarize(content: string): Promise<TaskCreated> {
    return created(await this.request('POST', '/api/v1/tasks/summarize/', { json: { content } }));
  }

  async createPdfxtract(file: File, issueDate?: string): Promise<TaskCreated> {
    const form = new FormData();
    form.append('file', file, file.name);
    if (issueDate) form.append('issue_date', issueDate);
    return created(await this.request('POST', '/api/v1/tasks/pdfxtract', { form }));
  }

  async retryTask(taskId: string, resetRetryCount = false): Promise<TaskCreated> {
    const path = `/api/v1/tasks/${encodeURIComponent(taskId)}/retry`;
    return created(await this.request('POST', path, { json: { reset_retry_count: resetRetryCount } }));
  }

  async deleteTask(taskId: string): Promise<MessageResult> {
    const body = asJson(await this.request('DELETE', `/api/v1/tasks/${encodeURIComponent(taskId)}`));
    return { task_id: str(body.task_id, taskId), message: str(body.message, 'Task deleted') };
  }

  async cancelTask(taskId: string): Promise<CancelResult> {
    const body = asJson(await this.request('POST', `/api/v1/tasks/${encodeURIComponent(taskId)}/cancel`, { json: {} }));
    return {
      task_id: str(body.task_id, taskId),
      state: stateName(body.state),
      message: str(body.message),
    };
  }

  // Bulk operations -----------------------------------------------------------

  async cleanup(request: CleanupRequest): Promise<CleanupResult> {
    const body = asJson(await this.request('POST', '/api/v1/tasks/cleanup', { json: request }));
    return { deleted: num(body.deleted), message: str(body.message) };
  }

  async retryAllDlq(): Promise<RetryAllResult> {
    const body = asJson(await this.request('POST', '/api/v1/queues/dlq/retry-all', { json: {} }));
    return { retried: num(body.retried), message: str(body.message) };
  }

  async purgeDlq(): Promise<PurgeResult> {
    const body = asJson(await this.request('DELETE', '/api/v1/queues/dlq'));
    return { purged: num(body.purged), message: str(body.message) };
  }

  /** CancelTasks: every task in one of `states` (PENDING, SCHEDULED, ACTIVE). */
  async cancelTasks(states: TaskState[]): Promise<CancelManyResult> {
    const json = { states: states.map((state) => `TASK_STATE_${state}`) };
    const body = asJson(await this.request('POST', '/api/v1/tasks/cancel', { json }));
    return { cancelled: num(body.cancelled), cancel_requested: num(body.cancel_requested), message: str(body.message) };
  }

  async requeueOrphaned(): Promise<RequeueResult> {
    const body = asJson(await this.request('POST', '/api/v1/tasks/requeue-orphaned', { json: {} }));
    return {
      found: num(body.found),
      requeued: num(body.requeued),
      errors: Array.isArray(body.errors) ? body.errors.length : num(body.errors),
      message: str(body.message),
    };
  }
}

function asJson(value: unknown): Json {
  return isObject(value) ? value : {};
}

function created(value: unknown): TaskCreated {
  const body = asJson(value);
  const taskId = str(body.task_id);
  if (!taskId) throw new ApiError(200, 'The gateway did not return a task id');
  return { task_id: taskId, state: str(body.state, 'PENDING') };
}

function optStr(value: unknown): string | null {
  const text = str(value);
  return text === '' ? null : text;
}

function stateName(value: unknown): string {
  return str(value).replace(/^TASK_STATE_/, '').toUpperCase();
}

export function taskSummary(raw: Json): TaskSummary {
  return {
    ...raw,
    task_id: str(raw.task_id),
    task_type: str(raw.task_type, 'unknown'),
    state: stateName(raw.state),
    retry_count: num(raw.retry_count),
    max_retries: num(raw.max_retries),
    last_error: optStr(raw.last_error),
    error_type: optStr(raw.error_type),
    created_at: optStr(raw.created_at),
    updated_at: optStr(raw.updated_at),
    completed_at: optStr(raw.completed_at),
  } as TaskSummary;
}

/** A TaskDetail whose JSON-text fields (metadata, histories) are parsed. */
export function taskDetail(raw: Json): TaskDetail {
  const parse = (value: unknown): unknown => {
    if (typeof value !== 'string' || value === '') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  };
  const errors = parse(raw.error_history);
  const states = parse(raw.state_history);
  const metadata = parse(raw.metadata);
  return {
    ...raw,
    ...taskSummary(raw),
    content: typeof raw.content === 'string' ? raw.content : null,
    result: typeof raw.result === 'string' ? raw.result : raw.result == null ? null : JSON.stringify(raw.result),
    metadata: isObject(metadata) ? metadata : null,
    error_history: Array.isArray(errors) ? errors.filter(isObject) : [],
    state_history: Array.isArray(states)
      ? states.filter(isObject).map((s) => ({ ...s, state: str(s.state).replace(/^TASK_STATE_/, '') }))
      : [],
  } as TaskDetail;
}

const env = import.meta.env as Record<string, string | undefined>;

/** The client the app uses: same origin unless VITE_API_BASE says otherwise. */
export const api = new ApiClient({ base: env.VITE_API_BASE ?? '' });
