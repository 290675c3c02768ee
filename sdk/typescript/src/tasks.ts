// A task as the client returns it, and what every call shares: turning the service's
// errors into TaskflowError, and task states to and from their names.
import { TaskState } from "./gen/taskflow/v1/enums_pb.js";
import type { Task } from "./gen/taskflow/v1/task_pb.js";
import { fromConnectError, TaskflowError } from "./errors.js";
import type { JsonObject } from "@bufbuild/protobuf";

/** A task as stored. */
export interface TaskInfo {
  taskId: string;
  taskType: string;
  /** PENDING, ACTIVE, COMPLETED, FAILED, SCHEDULED, DLQ or CANCELLED. */
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

/** "DLQ" (any case) as the enum; a TaskflowError naming the states for anything else. */
export function stateValue(name: string): TaskState {
  const value = (TaskState as unknown as Record<string, TaskState | undefined>)[name.toUpperCase()];
  if (value === undefined || value === TaskState.UNSPECIFIED) {
    const known = Object.keys(TaskState).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED");
    throw new TaskflowError(`no task state "${name}"; one of ${known.join(", ")}`);
  }
  return value;
}

export async function call<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc();
  } catch (error) {
    throw fromConnectError(error);
  }
}

export function info(task: Task | undefined): TaskInfo {
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
