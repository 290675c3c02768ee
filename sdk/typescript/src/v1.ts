// The generated descriptors and types of taskflow.v1, for anything the client does not wrap.
export * from "./gen/taskflow/v1/enums_pb.js";
export * from "./gen/taskflow/v1/task_pb.js";
export * from "./gen/taskflow/v1/scheduler_service_pb.js";
export * from "./gen/taskflow/v1/monitor_service_pb.js";
export * from "./gen/taskflow/v1/executor_service_pb.js";
export * from "./gen/taskflow/v1/worker_service_pb.js";
