// TaskflowClient: create tasks, read them, wait for their results, cancel, retry and
// delete them, read their logs, manage schedules (`.schedules`) and act on many tasks
// at once (`.admin`: DLQ, corrupt ids, cleanup, orphans), over gRPC.
import { createClient, type Client } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";

import { Admin } from "./admin.js";
import { SortOrder, TaskState } from "./gen/taskflow/v1/enums_pb.js";
import { MonitorService } from "./gen/taskflow/v1/monitor_service_pb.js";
import { SchedulerService } from "./gen/taskflow/v1/scheduler_service_pb.js";
import { fromConnectError, TaskflowError } from "./errors.js";
import { durationFromSeconds, Schedules } from "./schedules.js";
import { call, info, isDone, stateValue, type TaskInfo } from "./tasks.js";
import { transportTo, type ConnectionOptions } from "./transport.js";
import { Code } from "@connectrpc/connect";

/** A task to create. */
export interface NewTask {
  taskType: string;
  content?: string;
  /** A JSON object stored with the task. */
  metadata?: JsonObject;
  /** Retries allowed; unset: the service's MAX_RETRIES. */
  maxRetries?: number;
  priority?: number;
  /** A second create with the same key returns the first task. */
  idempotencyKey?: string;
  /** Binary input stored beside the task. */
  payload?: Uint8Array;
  /** Run it this many seconds from now; it is SCHEDULED until then. */
  delaySeconds?: number;
}

export interface Created {
  taskId: string;
  /** False: the idempotency key named a task that already existed. */
  created: boolean;
}

/** One line a task's handler logged. */
export interface LogLine {
  seq: number;
  time?: Date;
  level: string;
  logger: string;
  message: string;
}

/** A page of a task's log: pass `nextAfterSeq` as `afterSeq` for the next one. */
export interface LogPage {
  lines: LogLine[];
  nextAfterSeq: number;
  /** More lines follow this page. */
  more: boolean;
  /** Older lines were dropped (the newest 1,000 are kept). */
  truncated: boolean;
}

export interface CancelCount {
  /** PENDING or SCHEDULED ones, cancelled at once. */
  cancelled: number;
  /** ACTIVE ones, CANCELLED once their worker stops them. */
  cancelRequested: number;
}

/** A page of tasks (`TaskflowClient.list`). */
export interface TaskPage {
  tasks: TaskInfo[];
  page: number;
  totalPages: number;
  totalItems: number;
}

/** A registered task type (`TaskflowClient.taskTypes`). */
export interface TaskType {
  name: string;
  description: string;
  /** The named queue its tasks go to ("" for the default). */
  queue: string;
  builtin: boolean;
  defaultMaxRetries: number;
}

export interface ClientOptions extends ConnectionOptions {
  /** SchedulerService, "host:port" (default 127.0.0.1:50051). */
  scheduler?: string;
  /** MonitorService, for wait() (default 127.0.0.1:50053). */
  monitor?: string;
}

export class TaskflowClient {
  private readonly scheduler: Client<typeof SchedulerService>;
  private readonly monitor: Client<typeof MonitorService>;
  /** Create, read, change and remove schedules. */
  readonly schedules: Schedules;
  /** DLQ, corrupt ids, cleanup, orphans, queue ids. */
  readonly admin: Admin;

  constructor(options: ClientOptions = {}) {
    const scheduler = transportTo(options.scheduler ?? "127.0.0.1:50051", options);
    const monitor = transportTo(options.monitor ?? "127.0.0.1:50053", options);
    this.scheduler = createClient(SchedulerService, scheduler);
    this.monitor = createClient(MonitorService, monitor);
    this.schedules = new Schedules(this.scheduler);
    this.admin = new Admin(this.scheduler);
  }

  /** Create one task (PENDING). */
  async create(taskType: string, content = "", fields: Omit<NewTask, "taskType" | "content"> = {}): Promise<Created> {
    try {
      const reply = await this.scheduler.createTask(request({ taskType, content, ...fields }));
      return { taskId: reply.taskId, created: reply.created };
    } catch (error) {
      throw fromConnectError(error);
    }
  }

  /** Create tasks in one call, all or none; results in the order given. */
  async createMany(tasks: NewTask[]): Promise<Created[]> {
    try {
      const reply = await this.scheduler.batchCreateTasks({ tasks: tasks.map(request) });
      return reply.tasks.map((t) => ({ taskId: t.taskId, created: t.created }));
    } catch (error) {
      throw fromConnectError(error);
    }
  }

  /** The task as stored now. */
  async get(taskId: string): Promise<TaskInfo> {
    try {
      const reply = await this.scheduler.getTask({ taskId });
      return info(reply.task);
    } catch (error) {
      throw fromConnectError(error);
    }
  }

  /** A page of tasks, newest first, filtered by state ("DLQ"...) and type. */
  async list(filters: { state?: string; taskType?: string; page?: number; pageSize?: number; oldestFirst?: boolean } = {}): Promise<TaskPage> {
    const request = {
      status: filters.state ? stateValue(filters.state) : TaskState.UNSPECIFIED,
      taskType: filters.taskType ?? "",
      page: filters.page ?? 1,
      pageSize: filters.pageSize ?? 20,
      sortOrder: filters.oldestFirst ? SortOrder.ASC : SortOrder.DESC,
    };
    const reply = await call(() => this.scheduler.listTasks(request));
    return { tasks: reply.tasks.map(info), page: reply.page, totalPages: reply.totalPages, totalItems: Number(reply.totalItems) };
  }

  /** Every registered task type (built-in, the services' modules, remote workers'). */
  async taskTypes(): Promise<TaskType[]> {
    const reply = await call(() => this.scheduler.listTaskTypes({}));
    return reply.taskTypes.map((t) => ({ name: t.name, description: t.description, queue: t.queue, builtin: t.builtin, defaultMaxRetries: t.defaultMaxRetries }));
  }

  /** The task once it is done, followed live over MonitorService.WatchTask. */
  async wait(taskId: string, options: { signal?: AbortSignal } = {}): Promise<TaskInfo> {
    try {
      for await (const change of this.monitor.watchTask({ taskId }, { signal: options.signal })) {
        if (change.deleted) throw new TaskflowError(`task ${taskId} was deleted`, Code.NotFound);
        const task = info(change.task);
        if (isDone(task)) return task;
      }
    } catch (error) {
      throw fromConnectError(error);
    }
    return this.get(taskId);
  }

  /** Cancel a task; its state afterwards: CANCELLED, or ACTIVE while its worker stops
   * the handler (it then becomes CANCELLED). A task already done is FailedPrecondition. */
  async cancel(taskId: string): Promise<string> {
    try {
      const reply = await this.scheduler.cancelTask({ taskId });
      return TaskState[reply.state] ?? "UNSPECIFIED";
    } catch (error) {
      throw fromConnectError(error);
    }
  }

  /** Cancel every task matching the filters (at least one): `states` such as
   * "PENDING", "SCHEDULED"; `queue` a named queue. */
  async cancelMany(filters: { states?: string[]; taskType?: string; queue?: string }): Promise<CancelCount> {
    const request = { states: (filters.states ?? []).map(stateValue), taskType: filters.taskType ?? "", queue: filters.queue ?? "" };
    const reply = await call(() => this.scheduler.cancelTasks(request));
    return { cancelled: reply.cancelled, cancelRequested: reply.cancelRequested };
  }

  /** Put a FAILED or DLQ task back in its queue; its state afterwards (PENDING).
   * Any other state is FailedPrecondition. */
  async retry(taskId: string, options: { resetRetryCount?: boolean } = {}): Promise<string> {
    const reply = await call(() => this.scheduler.retryTask({ taskId, resetRetryCount: options.resetRetryCount ?? false }));
    return TaskState[reply.state] ?? "UNSPECIFIED";
  }

  /** Delete a task, its result and its payload; NotFound if there is none. */
  async delete(taskId: string): Promise<void> {
    await call(() => this.scheduler.deleteTask({ taskId }));
  }

  /** A page of the lines the task's handler logged, after line `afterSeq`
   * (`limit` 0: the service's default page). */
  async logs(taskId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<LogPage> {
    const request = { taskId, afterSeq: BigInt(options.afterSeq ?? 0), limit: options.limit ?? 0 };
    const reply = await call(() => this.scheduler.getTaskLogs(request));
    return {
      lines: reply.lines.map((l) => ({
        seq: Number(l.seq),
        time: l.time ? timestampDate(l.time) : undefined,
        level: l.level,
        logger: l.logger,
        message: l.message,
      })),
      nextAfterSeq: Number(reply.nextAfterSeq),
      more: reply.more,
      truncated: reply.truncated,
    };
  }

  /** Create a task and wait until it is done. */
  async run(taskType: string, content = "", fields: Omit<NewTask, "taskType" | "content"> = {}): Promise<TaskInfo> {
    const created = await this.create(taskType, content, fields);
    return this.wait(created.taskId);
  }
}

function request(task: NewTask) {
  return {
    taskType: task.taskType,
    content: task.content ?? "",
    metadata: task.metadata ?? {},
    maxRetries: task.maxRetries,
    priority: task.priority ?? 0,
    idempotencyKey: task.idempotencyKey ?? "",
    payload: task.payload ?? new Uint8Array(),
    delay: task.delaySeconds === undefined ? undefined : durationFromSeconds(task.delaySeconds),
  };
}
