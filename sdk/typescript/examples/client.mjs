// A Node service creating a task and waiting for its result.
//   node client.mjs          (TASKFLOW_SCHEDULER_ADDRESS / TASKFLOW_MONITOR_ADDRESS)
import { TaskflowClient } from "@asynctaskflow/client";

const client = new TaskflowClient({
  scheduler: process.env.TASKFLOW_SCHEDULER_ADDRESS ?? "127.0.0.1:50051",
  monitor: process.env.TASKFLOW_MONITOR_ADDRESS ?? "127.0.0.1:50053",
});
const task = await client.run("summarize", "Redis is fast. gRPC is typed. Both are here.");
console.log(JSON.stringify({ id: task.taskId, state: task.state, result: task.result }));
