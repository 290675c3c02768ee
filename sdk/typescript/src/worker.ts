// A remote worker: your handlers, run in this Node process, fed over WorkerService.
//
// One Work stream carries everything: the server sends tasks in batches as far as
// the credit this worker grants (its free slots, plus room for `prefetch` tasks
// waiting for one); outcomes go back in batches with the lease token each task
// came with. The server renews the leases while the
// stream is open, and says which tasks a client cancelled: their handlers' signal
// is aborted, and once they settle the task is reported cancelled.
//
// If the stream breaks (the executor restarts, the network drops), the worker
// reconnects with exponential back-off and registers again, naming the tasks it
// still runs, so the new stream renews their leases and takes their outcomes (and
// outcomes sent but not acknowledged are sent again). A task whose lease lapsed
// meanwhile was requeued: its signal is aborted, and anything it sends is refused
// (counted in `stats.refused`).
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";

import {
  OutcomeStatus,
  type AssignedTask,
  type OutcomeAck,
  type TaskOutcomeSchema,
  type WorkRequestSchema,
  WorkerService,
} from "./gen/taskflow/v1/worker_service_pb.js";
import { TaskState } from "./gen/taskflow/v1/enums_pb.js";
import type { TaskLogLineSchema } from "./gen/taskflow/v1/task_pb.js";
import { fromConnectError, PermanentError, TaskError } from "./errors.js";
import { PushQueue } from "./queue.js";
import { transportTo, type ConnectionOptions } from "./transport.js";

type WorkRequestInit = MessageInitShape<typeof WorkRequestSchema>;
type OutcomeInit = MessageInitShape<typeof TaskOutcomeSchema>;
type LogEntry = MessageInitShape<typeof TaskLogLineSchema>;

/** What a handler gets: the task's input, and ways to report on it. */
export interface TaskContext {
  taskId: string;
  taskType: string;
  content: string;
  metadata: JsonObject;
  retryCount: number;
  /** Aborted when a client cancels the task (`cancelled` is then true), or when its
   * lease is lost or the worker stops: stop early. */
  signal: AbortSignal;
  /** True once a client asked to cancel this task. */
  readonly cancelled: boolean;
  /** The task's binary input (e.g. a PDF), fetched from the executor when asked for;
   * empty when it has none. */
  payload(): Promise<Uint8Array>;
  /** How far the task is: `fraction` in 0..1 and a short message, stored with the task
   * as our own workers' (at most twice a second, the latest winning). */
  progress(fraction: number, message?: string): void;
  /** Log lines of this task (level INFO, the task type as logger), stored with it
   * (GetTaskLogs, `taskflow logs`). */
  log(...lines: string[]): void;
}

/** The result is text, or anything JSON.stringify can write. */
export type Handler = (task: TaskContext) => unknown;

export interface WorkerOptions extends ConnectionOptions {
  /** The executor serving WorkerService, "host:port" (default 127.0.0.1:50052). */
  address?: string;
  /** The named queue this worker's task types are routed to (default "default"). */
  queue?: string;
  /** Tasks run at once (default 8). */
  concurrency?: number;
  /** Tasks held ready beyond those running, each started when a slot frees (default
   * 0). For short tasks: the next batch is at hand while the finished one's outcomes
   * travel, and batches are whole. A prefetched task is ACTIVE and leased to this
   * worker before its handler starts: a cancellation reaches it (it never starts),
   * stopping hands it back at once, and if the worker dies it comes back when its
   * lease lapses, as a running task does. Long tasks are better without: a
   * prefetched one waits here while another worker may be idle. */
  prefetch?: number;
  workerId?: string;
  /** Seconds running tasks get to finish once run()'s signal is aborted (default 25). */
  graceSeconds?: number;
  /** First wait before reconnecting a broken stream; doubles (with jitter) while
   * reconnecting fails, up to maxReconnectDelayMs (defaults 500 ms and 30 s). */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export interface WorkerStats {
  completed: number;
  failed: number;
  refused: number;
  cancelled: number;
  reconnects: number;
}

/** A task this worker runs, and the context its handler gets: one object per task,
 * its AbortController and metadata made only when the handler asks for them. */
class Running implements TaskContext {
  readonly taskId: string;
  readonly token: string;
  readonly taskType: string;
  readonly content: string;
  readonly retryCount: number;
  done: Promise<void> = Promise.resolve();
  /** A client cancelled it: report `cancelled` once the handler settles. */
  requested = false;
  /** Stopped: a client cancelled it, its lease was lost, or the worker stopped. */
  stopped = false;
  /** Its handler was started (a prefetched task waits for a slot first). */
  launched = false;
  /** It takes one of the worker's slots (from its start until it settles or its lease is lost). */
  slot = false;
  private abort: AbortController | undefined;
  private stopReason: Error | undefined;
  private parsed: JsonObject | undefined;

  private readonly metadataJson: string;

  constructor(
    private readonly worker: Worker,
    task: AssignedTask,
  ) {
    this.taskId = task.taskId;
    this.token = task.leaseToken;
    this.taskType = task.taskType;
    this.content = task.content;
    this.retryCount = task.retryCount;
    this.metadataJson = task.metadataJson;
  }

  get metadata(): JsonObject {
    return (this.parsed ??= parseMetadata(this.metadataJson));
  }
  get cancelled(): boolean {
    return this.requested;
  }
  get signal(): AbortSignal {
    if (!this.abort) {
      this.abort = new AbortController();
      if (this.stopped) this.abort.abort(this.stopReason);
    }
    return this.abort.signal;
  }

  stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReason = reason;
    this.abort?.abort(reason);
  }

  payload(): Promise<Uint8Array> {
    return this.worker.payloadOf(this.taskId, this.token);
  }

  progress(fraction: number, message = ""): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError("progress fraction must be between 0 and 1");
    this.worker.report(this, { fraction, message });
  }

  log(...lines: string[]): void {
    const time = timestampNow();
    const logEntries = lines.map((message) => ({ time, level: "INFO", logger: this.taskType, message }));
    this.worker.report(this, { fraction: -1, logEntries });
  }
}

/** A task type's cluster-wide limits (see Worker.task). */
export interface TaskLimits {
  rateLimit?: string;
  concurrency?: number;
  concurrencyKey?: string;
}

interface TaskTypeLimitsInit {
  taskType: string;
  rateLimit: string;
  concurrencyLimit: number;
  concurrencyKey: string;
}

const FATAL = new Set([Code.Unauthenticated, Code.InvalidArgument, Code.PermissionDenied, Code.Unimplemented]);

export class Worker {
  readonly workerId: string;
  readonly stats: WorkerStats = { completed: 0, failed: 0, refused: 0, cancelled: 0, reconnects: 0 };
  private readonly options: Required<Omit<WorkerOptions, "token" | "workerId">> & ConnectionOptions;
  private readonly handlers = new Map<string, Handler>();
  private readonly limits = new Map<string, TaskTypeLimitsInit>();
  /** The tasks it holds: running, and prefetched ones waiting in `ready` for a slot. */
  private readonly running = new Map<string, Running>();
  private ready: Running[] = [];
  private active = 0;
  private outcomes: OutcomeInit[] = [];
  /** Sent but not acknowledged: sent again on the next stream if this one breaks. */
  private unacked = new Map<string, OutcomeInit>();
  private failures = 0;
  private client: Client<typeof WorkerService> | undefined;
  private requests = new PushQueue<WorkRequestInit>();
  private freed = 0;
  private flushQueued = false;
  private windingDown = false;
  /** Handlers of rate-limited types started this turn of the event loop, not yet reported. */
  private starts: { taskId: string; leaseToken: string }[] = [];

  constructor(options: WorkerOptions = {}) {
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    this.options = {
      address: options.address ?? "127.0.0.1:50052",
      queue: options.queue ?? "default",
      concurrency: options.concurrency ?? 8,
      prefetch: Math.max(0, options.prefetch ?? 0),
      graceSeconds: options.graceSeconds ?? 25,
      reconnectDelayMs: options.reconnectDelayMs ?? 500,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 30_000,
      token: options.token,
    };
  }

  /** `handler` runs tasks of `taskType`. Throw TaskError/PermanentError to choose the
   * retry schedule or the DLQ; any other error retries on the default schedule.
   * `limits` are the type's cluster-wide limits, declared at registration and enforced
   * by the server's claim: `rateLimit` ("100/s", "10/m", "5/2s") and `concurrency`
   * (tasks running at once, per value of `concurrencyKey` such as "metadata.tenant").
   * A task held back waits; it is not a failure. */
  task(taskType: string, handler: Handler, limits: TaskLimits = {}): this {
    this.handlers.set(taskType, handler);
    if (limits.rateLimit || limits.concurrency || limits.concurrencyKey) {
      this.limits.set(taskType, {
        taskType,
        rateLimit: limits.rateLimit ?? "",
        concurrencyLimit: limits.concurrency ?? 0,
        concurrencyKey: limits.concurrencyKey ?? "",
      });
    }
    return this;
  }

  /** Work until `signal` is aborted, then let running tasks finish within the grace
   * period and hand the rest back. */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.handlers.size === 0) throw new Error("register at least one handler with worker.task(...)");
    const client = createClient(WorkerService, transportTo(this.options.address, this.options));
    this.client = client;
    while (!signal?.aborted) {
      try {
        await this.session(client, signal);
      } catch (error) {
        if (error instanceof ConnectError && FATAL.has(error.code)) throw fromConnectError(error);
        if (signal?.aborted) break;
        const delay = this.nextDelay();
        console.warn(`event=stream_broken worker_id=${this.workerId} error=${String(error)} retry_in_ms=${Math.round(delay)}`);
        await sleep(delay, signal);
        this.stats.reconnects += 1;
      }
    }
  }

  /** Exponential back-off with jitter, from the first delay up to the cap. */
  private nextDelay(): number {
    const { reconnectDelayMs: first, maxReconnectDelayMs: cap } = this.options;
    this.failures += 1;
    const high = Math.min(cap, first * 2 ** (this.failures - 1));
    return first / 2 + Math.random() * Math.max(0, high - first / 2);
  }

  private async session(client: Client<typeof WorkerService>, signal?: AbortSignal): Promise<void> {
    this.requests = new PushQueue<WorkRequestInit>();
    this.requests.push({
      kind: {
        case: "register",
        value: {
          workerId: this.workerId,
          taskTypes: [...this.handlers.keys()].sort(),
          queue: this.options.queue,
          concurrency: this.options.concurrency,
          prefetch: this.options.prefetch,
          limits: [...this.limits.keys()].sort().map((name) => this.limits.get(name)!),
          runtime: `node/${process.versions.node} @asynctaskflow/client`,
          holding: [...this.running.entries()].map(([taskId, r]) => ({ taskId, leaseToken: r.token })),
        },
      },
    });
    this.freed = 0;
    this.outcomes = [...this.unacked.values(), ...this.outcomes];
    this.unacked.clear();
    this.flush(this.options.concurrency + this.options.prefetch - this.running.size);
    const onAbort = () => void this.windDown().finally(() => this.requests.close());
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const response of client.work(this.requests)) {
        const kind = response.kind;
        if (kind.case === "registered") {
          this.failures = 0;
        } else if (kind.case === "tasks") {
          for (const ack of kind.value.acks) this.count(ack);
          for (const task of kind.value.tasks) this.start(task);
        } else if (kind.case === "acks") {
          for (const ack of kind.value.acks) this.count(ack);
        } else if (kind.case === "cancel") {
          for (const taskId of kind.value.taskIds) this.cancel(taskId, kind.value.requested);
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.requests.close();
    }
  }

  private start(task: AssignedTask): void {
    const entry = new Running(this, task);
    this.running.set(task.taskId, entry);
    if (this.active < this.options.concurrency) this.launch(entry);
    else if (this.windingDown) this.handBack([entry]);
    else this.ready.push(entry);
  }

  private launch(entry: Running): void {
    this.active += 1;
    entry.launched = entry.slot = true;
    entry.done = this.execute(entry).finally(() => this.vacate(entry));
  }

  /** The entry's slot is free (its handler settled, or its lease was lost): a
   * prefetched task takes it once the outcomes finished this turn are sent. */
  private vacate(entry: Running): void {
    if (!entry.slot) return;
    entry.slot = false;
    this.active -= 1;
    if (this.ready.length > 0) this.queueFlush();
  }

  /** Prefetched tasks still held take the free slots. */
  private fill(): void {
    while (this.active < this.options.concurrency && this.ready.length > 0) {
      const next = this.ready.shift()!;
      if (this.running.get(next.taskId) === next) this.launch(next);
    }
  }

  /** @internal A running task's progress or log lines, sent with its lease token. */
  report(entry: Running, value: { fraction: number; message?: string; logEntries?: LogEntry[] }): void {
    this.requests.push({ kind: { case: "progress", value: { taskId: entry.taskId, leaseToken: entry.token, ...value } } });
  }

  /** @internal A held task's payload, for its context. */
  async payloadOf(taskId: string, leaseToken: string): Promise<Uint8Array> {
    if (!this.client) throw new Error("the worker is not running");
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of this.client.getTaskPayload({ taskId, leaseToken })) chunks.push(chunk.data);
    } catch (error) {
      throw error instanceof ConnectError ? fromConnectError(error) : error;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  private async execute(entry: Running): Promise<void> {
    const outcome: OutcomeInit = { taskId: entry.taskId, leaseToken: entry.token };
    try {
      const handler = this.handlers.get(entry.taskType);
      if (!handler) throw new PermanentError(`no handler for ${JSON.stringify(entry.taskType)}`);
      this.started(entry);
      const value = await handler(entry);
      outcome.result = { case: "completed", value: typeof value === "string" ? value : JSON.stringify(value ?? null) };
    } catch (error) {
      outcome.result = { case: "failed", value: failure(error) };
    }
    // A client's cancel wins over whatever the aborted handler made of it.
    if (entry.requested) outcome.result = { case: "cancelled", value: true };
    // Gone from `running`: its lease was lost (or the worker stopped); the outcome would be refused.
    if (this.running.get(entry.taskId) !== entry) return;
    this.running.delete(entry.taskId);
    this.freed += 1;
    if (!entry.stopped || entry.requested) this.outcomes.push(outcome);
    this.queueFlush();
  }

  /** A rate limit counts each token from its handler's start, as the server's own
   * workers report it: a task of a rate-limited type is reported as its handler
   * starts, those starting in one turn of the event loop in one message. */
  private started(entry: Running): void {
    if (!this.limits.get(entry.taskType)?.rateLimit) return;
    if (this.starts.length === 0) {
      setImmediate(() => {
        const tasks = this.starts;
        this.starts = [];
        if (!this.requests.isClosed) this.requests.push({ kind: { case: "started", value: { tasks } } });
      });
    }
    this.starts.push({ taskId: entry.taskId, leaseToken: entry.token });
  }

  private cancel(taskId: string, requested: boolean): void {
    const entry = this.running.get(taskId);
    if (!entry) return;
    this.stats.cancelled += 1;
    if (requested && !entry.launched) {
      // Prefetched, never started: reported cancelled now, its place freed.
      entry.requested = true;
      entry.stop(new Error("a client cancelled this task"));
      this.running.delete(taskId);
      this.freed += 1;
      this.outcomes.push({ taskId, leaseToken: entry.token, result: { case: "cancelled", value: true } });
      this.queueFlush();
      return;
    }
    if (requested) {
      entry.requested = true;
      entry.stop(new Error("a client cancelled this task"));
      return;
    }
    // The lease is lost: the slot is free now, whatever the handler does next.
    this.running.delete(taskId);
    this.freed += 1;
    entry.stop(new Error("the lease on this task was lost"));
    this.vacate(entry);
    this.queueFlush();
  }

  private count(ack: OutcomeAck): void {
    this.unacked.delete(ack.taskId);
    if (ack.status !== OutcomeStatus.ACCEPTED) {
      this.stats.refused += 1;
      console.warn(`event=outcome_refused task_id=${ack.taskId} status=${OutcomeStatus[ack.status]}`);
    } else if (ack.state === TaskState.COMPLETED) {
      this.stats.completed += 1;
    } else if (ack.state !== TaskState.CANCELLED) {
      this.stats.failed += 1;
    }
  }

  /** Outcomes finished in the same turn of the event loop go out as one batch; the
   * prefetched tasks that take their slots start after it (not as each slot frees),
   * so their outcomes go out in a batch of their own while this one's round trip,
   * with the credit for the next tasks, is on its way. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush(this.windingDown ? 0 : this.freed);
      this.fill();
    });
  }

  private flush(credit: number): void {
    // Between streams outcomes wait: the next session sends them first.
    if (this.requests.isClosed) return;
    const slots = Math.max(credit, 0);
    this.freed = Math.max(0, this.freed - slots);
    if (this.outcomes.length === 0) {
      if (slots > 0) this.requests.push({ kind: { case: "credit", value: { slots } } });
      return;
    }
    // The credit rides with the outcomes: the server records them and claims the
    // next batch in one round trip, and acks them with that batch.
    const outcomes = this.outcomes;
    this.outcomes = [];
    for (const outcome of outcomes) this.unacked.set(outcome.taskId ?? "", outcome);
    this.requests.push({ kind: { case: "outcomes", value: { outcomes, slots } } });
  }

  private async windDown(): Promise<void> {
    this.windingDown = true;
    // Prefetched tasks not started go back to their queue at once.
    this.handBack(this.ready.filter((entry) => this.running.get(entry.taskId) === entry));
    this.ready = [];
    const all = [...this.running.values()].map((r) => r.done);
    const graceOver = new AbortController();
    await Promise.race([Promise.all(all), sleep(this.options.graceSeconds * 1000, graceOver.signal)]);
    graceOver.abort();
    this.flush(0);
    this.handBack([...this.running.values()]);
  }

  /** Held tasks the worker will not finish (prefetched ones not started, those still
   * running when the grace period is over): stopped, and back to their queue now. */
  private handBack(entries: Running[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      this.running.delete(entry.taskId);
      entry.stop(new Error("the worker is stopping"));
    }
    const tasks = entries.map((entry) => ({ taskId: entry.taskId, leaseToken: entry.token }));
    this.requests.push({ kind: { case: "release", value: { tasks } } });
  }
}

function failure(error: unknown) {
  if (error instanceof TaskError) {
    return { error: error.message || error.errorType, errorType: error.errorType, permanent: error.permanent, retryAfterSeconds: error.retryAfter };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { error: message, errorType: "Default", permanent: false, retryAfterSeconds: 0 };
}

function parseMetadata(text: string): JsonObject {
  try {
    const value: unknown = JSON.parse(text || "{}");
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : {};
  } catch {
    return {};
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
