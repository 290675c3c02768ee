// A worker written in Node: runs tasks of type "shout" from the queue "node".
//   node worker.mjs          (TASKFLOW_EXECUTOR_ADDRESS, default 127.0.0.1:50052)
import { PermanentError, Worker } from "@asynctaskflow/client";

const worker = new Worker({
  address: process.env.TASKFLOW_EXECUTOR_ADDRESS ?? "127.0.0.1:50052",
  queue: "node",
  concurrency: 16,
});

worker.task("shout", async (task) => {
  if (!task.content) throw new PermanentError("nothing to shout"); // -> DLQ, no retry
  return task.content.toUpperCase();
});

const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => stop.abort());
await worker.run(stop.signal); // finishes running tasks, hands the rest back
