// AsyncTaskFlow from Node: a typed client and remote workers, over gRPC.
export { TaskflowClient, type CancelCount, type ClientOptions, type Created, type LogLine, type LogPage, type NewTask, type TaskPage, type TaskType } from "./client.js";
export { isDone, type TaskInfo } from "./tasks.js";
export { Admin, type CorruptTask, type CorruptTasks } from "./admin.js";
export { Schedules, type ScheduleInfo, type ScheduleSpec } from "./schedules.js";
export { Worker, type Handler, type TaskContext, type TaskLimits, type WorkerOptions, type WorkerStats } from "./worker.js";
export { PermanentError, TaskError, TaskflowError, type TaskErrorOptions } from "./errors.js";
export { Code } from "@connectrpc/connect";
export * as v1 from "./v1.js";
