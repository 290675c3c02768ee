// TaskflowClient: create tasks, read them, wait for their results, cancel them, and
// manage schedules (`.schedules`), over gRPC.
import { createClient, type Client } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";

import { TaskState } from "./gen/taskflow/v1/enums_pb.js";
import { MonitorService } from "./gen/taskflow/v1/monitor_service_pb.js";
import { SchedulerService } from "./gen/taskflow/v1/scheduler_service_pb.js";
import type { Task } from "./gen/taskflow/v1/task_pb.js";
import { fromConnectError, TaskflowError } from "./errors.js";
import { durationFromSeconds, Schedules } from "./schedules.js";
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

/** A task as stored. */
export interface TaskInfo {
  taskId: string;
  taskType: string;
  /** PENDING, ACTIVE, COMPLETED, FAILED, SCHEDULED or DLQ. */
  state: string;
  content: string;
  metadata: JsonObject;
  result: string;
  retryCount: number;
  maxRetries: number;
  lastError: string;
  errorType: string;
  workerId: string;
}

const TERMINAL = new Set(["COMPLETED", "DLQ", "CANCELLED"]);

/** True once a task will not change unless someone acts on it. */
export function isDone(task: TaskInfo): boolean {
  return TERMINAL.has(task.state);
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

  constructor(options: ClientOptions = {}) {
    const scheduler = transportTo(options.scheduler ?? "127.0.0.1:50051", options);
    const monitor = transportTo(options.monitor ?? "127.0.0.1:50053", options);
    this.scheduler = createClient(SchedulerService, scheduler);
    this.monitor = createClient(MonitorService, monitor);
    this.schedules = new Schedules(this.scheduler);
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

function info(task: Task | undefined): TaskInfo {
  if (!task) throw new TaskflowError("the service answered without a task");
  return {
    taskId: task.taskId,
    taskType: task.taskType,
    state: TaskState[task.state] ?? "UNSPECIFIED",
    content: task.content,
    metadata: task.metadata ?? {},
    result: task.result,
    retryCount: task.retryCount,
    maxRetries: task.maxRetries,
    lastError: task.lastError,
    errorType: task.errorType,
    workerId: task.workerId,
  };
}
