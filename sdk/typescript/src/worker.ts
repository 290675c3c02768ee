// A remote worker: your handlers, run in this Node process, fed over WorkerService.
//
// One Work stream carries everything: the server sends tasks in batches as far as
// the credit this worker grants (its free slots); outcomes go back in batches with
// the lease token each task came with. The server renews the leases while the
// stream is open. If the stream breaks, running handlers go on and their outcomes
// are sent on the next stream; one whose lease lapsed meanwhile is refused (the
// task was requeued) and counted in `stats.refused`.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
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
import { fromConnectError, PermanentError, TaskError } from "./errors.js";
import { PushQueue } from "./queue.js";
import { transportTo, type ConnectionOptions } from "./transport.js";

type WorkRequestInit = MessageInitShape<typeof WorkRequestSchema>;
type OutcomeInit = MessageInitShape<typeof TaskOutcomeSchema>;

/** What a handler gets: the task's input, and ways to report on it. */
export interface TaskContext {
  taskId: string;
  taskType: string;
  content: string;
  metadata: JsonObject;
  retryCount: number;
  /** Aborted when the server cancels the task (its lease was lost): stop early. */
  signal: AbortSignal;
  /** Report progress (0..1; negative if unknown) and log lines, logged by the executor. */
  progress(fraction: number, ...lines: string[]): void;
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
  workerId?: string;
  /** Seconds running tasks get to finish once run()'s signal is aborted (default 25). */
  graceSeconds?: number;
  /** Wait before reconnecting a broken stream (default 1000 ms). */
  reconnectDelayMs?: number;
}

export interface WorkerStats {
  completed: number;
  failed: number;
  refused: number;
  cancelled: number;
}

interface Running {
  token: string;
  abort: AbortController;
  done: Promise<void>;
}

const FATAL = new Set([Code.Unauthenticated, Code.InvalidArgument, Code.PermissionDenied, Code.Unimplemented]);

export class Worker {
  readonly workerId: string;
  readonly stats: WorkerStats = { completed: 0, failed: 0, refused: 0, cancelled: 0 };
  private readonly options: Required<Omit<WorkerOptions, "token" | "workerId">> & ConnectionOptions;
  private readonly handlers = new Map<string, Handler>();
  private readonly running = new Map<string, Running>();
  private outcomes: OutcomeInit[] = [];
  private requests = new PushQueue<WorkRequestInit>();
  private freed = 0;
  private flushQueued = false;
  private windingDown = false;

  constructor(options: WorkerOptions = {}) {
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    this.options = {
      address: options.address ?? "127.0.0.1:50052",
      queue: options.queue ?? "default",
      concurrency: options.concurrency ?? 8,
      graceSeconds: options.graceSeconds ?? 25,
      reconnectDelayMs: options.reconnectDelayMs ?? 1000,
      token: options.token,
    };
  }

  /** `handler` runs tasks of `taskType`. Throw TaskError/PermanentError to choose the
   * retry schedule or the DLQ; any other error retries on the default schedule. */
  task(taskType: string, handler: Handler): this {
    this.handlers.set(taskType, handler);
    return this;
  }

  /** Work until `signal` is aborted, then let running tasks finish within the grace
   * period and hand the rest back. */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.handlers.size === 0) throw new Error("register at least one handler with worker.task(...)");
    const client = createClient(WorkerService, transportTo(this.options.address, this.options));
    while (!signal?.aborted) {
      try {
        await this.session(client, signal);
      } catch (error) {
        if (error instanceof ConnectError && FATAL.has(error.code)) throw fromConnectError(error);
        if (signal?.aborted) break;
        console.warn(`event=stream_broken worker_id=${this.workerId} error=${String(error)}`);
        await sleep(this.options.reconnectDelayMs, signal);
      }
    }
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
          runtime: `node/${process.versions.node} @asynctaskflow/client`,
        },
      },
    });
    this.freed = 0;
    this.flush(this.options.concurrency - this.running.size);
    const onAbort = () => void this.windDown().finally(() => this.requests.close());
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const response of client.work(this.requests)) {
        const kind = response.kind;
        if (kind.case === "tasks") {
          for (const task of kind.value.tasks) this.start(task);
        } else if (kind.case === "acks") {
          for (const ack of kind.value.acks) this.count(ack);
        } else if (kind.case === "cancel") {
          for (const taskId of kind.value.taskIds) this.cancel(taskId);
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.requests.close();
    }
  }

  private start(task: AssignedTask): void {
    const abort = new AbortController();
    const report = (fraction: number, lines: string[]) =>
      this.requests.push({
        kind: { case: "progress", value: { taskId: task.taskId, leaseToken: task.leaseToken, fraction, logLines: lines } },
      });
    const context: TaskContext = {
      taskId: task.taskId,
      taskType: task.taskType,
      content: task.content,
      metadata: parseMetadata(task.metadataJson),
      retryCount: task.retryCount,
      signal: abort.signal,
      progress: (fraction, ...lines) => report(fraction, lines),
      log: (...lines) => report(-1, lines),
    };
    const done = this.execute(context, task.leaseToken, abort.signal);
    this.running.set(task.taskId, { token: task.leaseToken, abort, done });
  }

  private async execute(context: TaskContext, leaseToken: string, cancelled: AbortSignal): Promise<void> {
    const outcome: OutcomeInit = { taskId: context.taskId, leaseToken };
    try {
      const handler = this.handlers.get(context.taskType);
      if (!handler) throw new PermanentError(`no handler for ${JSON.stringify(context.taskType)}`);
      const value = await handler(context);
      outcome.result = { case: "completed", value: typeof value === "string" ? value : JSON.stringify(value ?? null) };
    } catch (error) {
      outcome.result = { case: "failed", value: failure(error) };
    }
    this.running.delete(context.taskId);
    this.freed += 1;
    if (!cancelled.aborted) this.outcomes.push(outcome);
    this.queueFlush();
  }

  private cancel(taskId: string): void {
    const entry = this.running.get(taskId);
    if (!entry) return;
    this.stats.cancelled += 1;
    entry.abort.abort(new Error("the server cancelled this task"));
  }

  private count(ack: OutcomeAck): void {
    if (ack.status !== OutcomeStatus.ACCEPTED) {
      this.stats.refused += 1;
      console.warn(`event=outcome_refused task_id=${ack.taskId} status=${OutcomeStatus[ack.status]}`);
    } else if (ack.state === TaskState.COMPLETED) {
      this.stats.completed += 1;
    } else {
      this.stats.failed += 1;
    }
  }

  /** Outcomes finished in the same turn of the event loop go out as one batch. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush(this.windingDown ? 0 : this.freed);
    });
  }

  private flush(credit: number): void {
    // Between streams outcomes wait: the next session sends them first.
    if (this.requests.isClosed) return;
    // Credit first: the server claims the next batch while it records these outcomes.
    if (credit > 0) {
      this.freed = Math.max(0, this.freed - credit);
      this.requests.push({ kind: { case: "credit", value: { slots: credit } } });
    }
    if (this.outcomes.length > 0) {
      const outcomes = this.outcomes;
      this.outcomes = [];
      this.requests.push({ kind: { case: "outcomes", value: { outcomes } } });
    }
  }

  private async windDown(): Promise<void> {
    this.windingDown = true;
    const all = [...this.running.values()].map((r) => r.done);
    const graceOver = new AbortController();
    await Promise.race([Promise.all(all), sleep(this.options.graceSeconds * 1000, graceOver.signal)]);
    graceOver.abort();
    const leftovers = [...this.running.entries()];
    for (const [, entry] of leftovers) entry.abort.abort(new Error("the worker is stopping"));
    this.flush(0);
    if (leftovers.length > 0) {
      const tasks = leftovers.map(([taskId, entry]) => ({ taskId, leaseToken: entry.token }));
      this.requests.push({ kind: { case: "release", value: { tasks } } });
    }
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
