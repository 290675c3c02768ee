// AsyncTaskFlow from Node: a typed client and remote workers, over gRPC.
export { TaskflowClient, isDone, type ClientOptions, type Created, type NewTask, type TaskInfo } from "./client.js";
export { Schedules, type ScheduleInfo, type ScheduleSpec } from "./schedules.js";
export { Worker, type Handler, type TaskContext, type TaskLimits, type WorkerOptions, type WorkerStats } from "./worker.js";
export { PermanentError, TaskError, TaskflowError, type TaskErrorOptions } from "./errors.js";
export { Code } from "@connectrpc/connect";
export * as v1 from "./v1.js";
