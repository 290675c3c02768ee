// The package's own tests. Those marked "live" need the real services and run when
// tests/sdk/test_typescript_sdk.py starts them and passes their addresses
// (TASKFLOW_SCHEDULER_ADDRESS, TASKFLOW_MONITOR_ADDRESS, TASKFLOW_EXECUTOR_ADDRESS).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Code, PermanentError, TaskError, TaskflowClient, Worker, isDone, v1 } from "../src/index.js";

const scheduler = process.env.TASKFLOW_SCHEDULER_ADDRESS;
const monitor = process.env.TASKFLOW_MONITOR_ADDRESS;
const executor = process.env.TASKFLOW_EXECUTOR_ADDRESS;
const live = { skip: !(scheduler && monitor && executor) && "needs the services (run by tests/sdk/test_typescript_sdk.py)" };

test("the generated descriptors name the services of taskflow.v1", () => {
  assert.equal(v1.WorkerService.typeName, "taskflow.v1.WorkerService");
  assert.deepEqual(v1.WorkerService.methods.map((m) => m.name), ["Work", "CompleteTask", "FailTask", "GetTaskPayload"]);
  assert.equal(v1.WorkerService.method.work.methodKind, "bidi_streaming");
  assert.equal(v1.SchedulerService.typeName, "taskflow.v1.SchedulerService");
});

test("handler errors carry their retry class", () => {
  const limited = new TaskError("slow down", "RateLimitError", { retryAfter: 30 });
  assert.deepEqual([limited.errorType, limited.permanent, limited.retryAfter], ["RateLimitError", false, 30]);
  const hopeless = new PermanentError("bad input");
  assert.deepEqual([hopeless.errorType, hopeless.permanent], ["PermanentError", true]);
});

test("a worker without handlers refuses to run", async () => {
  await assert.rejects(new Worker().run(), /register at least one handler/);
});

test("live: the client creates, reads and waits; the Python executor runs the tasks", live, async () => {
  const client = new TaskflowClient({ scheduler, monitor });
  const created = await client.create("echo", "hello from node", { metadata: { client: "ts" } });
  assert.equal(created.created, true);
  const done = await client.wait(created.taskId);
  assert.deepEqual([done.state, done.result, done.metadata], ["COMPLETED", "hello from node", { client: "ts" }]);
  assert.ok(isDone(done));
  const many = await client.createMany([1, 2, 3].map((i) => ({ taskType: "echo", content: `n${i}` })));
  const results = await Promise.all(many.map(async (c) => (await client.wait(c.taskId)).result));
  assert.deepEqual(results, ["n1", "n2", "n3"]);
  await assert.rejects(client.create("no_such_type", "x"), (error: { code: Code }) => error.code === Code.InvalidArgument);
  await assert.rejects(client.get("00000000-0000-4000-8000-000000000000"), (error: { code: Code }) => error.code === Code.NotFound);
});

test("live: the client cancels a delayed task and runs every schedule call", live, async () => {
  const client = new TaskflowClient({ scheduler, monitor });
  const delayed = await client.create("echo", "never", { delaySeconds: 3600 });
  assert.equal(await client.cancel(delayed.taskId), "CANCELLED");
  assert.equal((await client.get(delayed.taskId)).state, "CANCELLED");
  await assert.rejects(client.cancel(delayed.taskId), (error: { code: Code }) => error.code === Code.FailedPrecondition);

  const made = await client.schedules.create({ taskType: "echo", content: "tick", metadata: { from: "ts" }, intervalSeconds: 3600, overlap: "SKIP" });
  assert.deepEqual([made.spec.intervalSeconds, made.spec.overlap, made.spec.metadata, made.paused], [3600, "SKIP", { from: "ts" }, false]);
  assert.ok((await client.schedules.list()).some((s) => s.scheduleId === made.scheduleId));
  const changed = await client.schedules.update(made.scheduleId, { taskType: "echo", content: "tock", cron: "0 * * * *" });
  assert.deepEqual([changed.spec.content, changed.spec.cron, changed.spec.intervalSeconds], ["tock", "0 * * * *", undefined]);
  const paused = await client.schedules.pause(made.scheduleId);
  assert.deepEqual([paused.paused, paused.nextFireAt], [true, undefined]);
  const resumed = await client.schedules.resume(made.scheduleId);
  assert.ok(!resumed.paused && resumed.nextFireAt instanceof Date);
  const fired = await client.schedules.trigger(made.scheduleId);
  const ran = await client.wait(fired);
  assert.deepEqual([ran.state, ran.result], ["COMPLETED", "tock"]);
  const read = await client.schedules.get(made.scheduleId);
  assert.deepEqual([read.lastTaskId, read.fireCount], [fired, 1]);
  await client.schedules.delete(made.scheduleId);
  await assert.rejects(client.schedules.get(made.scheduleId), (error: { code: Code }) => error.code === Code.NotFound);
});

test("live: the client retries, deletes, reads logs, cancels by filter and administers", live, async () => {
  const client = new TaskflowClient({ scheduler, monitor });
  const doomed = await client.create("doomed", "ts", { metadata: { from: "ts-admin" } });
  await client.wait(doomed.taskId);
  assert.ok((await client.admin.listDlq(1000)).some((t) => t.taskId === doomed.taskId));
  const listed = await client.list({ state: "dlq", taskType: "doomed", pageSize: 100 });
  assert.ok(listed.tasks.some((t) => t.taskId === doomed.taskId && t.state === "DLQ"));
  assert.equal(listed.totalItems, listed.tasks.length);
  const types = new Map((await client.taskTypes()).map((t) => [t.name, t]));
  assert.deepEqual([types.get("noop")?.builtin, types.get("doomed")?.builtin], [true, false]);
  assert.equal(await client.retry(doomed.taskId, { resetRetryCount: true }), "PENDING");
  assert.equal((await client.wait(doomed.taskId)).state, "DLQ");
  assert.ok((await client.admin.retryAllDlq()) >= 1);
  assert.equal((await client.wait(doomed.taskId)).state, "DLQ");
  assert.ok((await client.admin.purgeDlq()) >= 1);
  await assert.rejects(client.get(doomed.taskId), (error: { code: Code }) => error.code === Code.NotFound);

  const chatty = await client.create("chatty", "2:0");
  await client.wait(chatty.taskId);
  const page = await client.logs(chatty.taskId);
  assert.deepEqual(page.lines.map((l) => [l.seq, l.level, l.message]), [[1, "INFO", "chatty step 1"], [2, "WARNING", "chatty step 2"]]);
  assert.ok(page.lines[0].time instanceof Date);
  const rest = await client.logs(chatty.taskId, { afterSeq: page.nextAfterSeq });
  assert.deepEqual([rest.lines.length, rest.more], [0, false]);
  await assert.rejects(client.retry(chatty.taskId), (error: { code: Code }) => error.code === Code.FailedPrecondition);
  await client.delete(chatty.taskId);
  await assert.rejects(client.delete(chatty.taskId), (error: { code: Code }) => error.code === Code.NotFound);

  const later = await client.createMany([1, 2].map(() => ({ taskType: "echo", content: "x", delaySeconds: 3600 })));
  const waiting = await client.admin.queueIds("scheduled", 1000);
  assert.ok(later.every((c) => waiting.includes(c.taskId)));
  const counted = await client.cancelMany({ states: ["scheduled"] });
  assert.ok(counted.cancelled >= 2);
  assert.equal(counted.cancelRequested, 0);
  assert.equal(await client.admin.cleanup(["CANCELLED"], { createdBefore: new Date(Date.now() - 3600_000) }), 0);
  assert.ok((await client.admin.cleanup(["cancelled"])) >= 2);
  for (const c of later) await assert.rejects(client.get(c.taskId), (error: { code: Code }) => error.code === Code.NotFound);
  assert.equal(await client.admin.requeueOrphaned(), 0);
  const corrupt = await client.admin.listCorrupt();
  assert.deepEqual([corrupt.total, corrupt.tasks], [0, []]);
  assert.equal(await client.admin.dropCorrupt(["not-set-aside"]), 0);
  await assert.rejects(client.admin.cleanup(), (error: { code: Code }) => error.code === Code.InvalidArgument);
  await assert.rejects(client.admin.queueIds("nowhere"), (error: { code: Code }) => error.code === Code.NotFound);
  await assert.rejects(client.admin.cleanup(["sleeping"]), /no task state "sleeping"/);
});

test("live: a Node worker runs its task type, retries by error class, and stops cleanly", live, async () => {
  const worker = new Worker({ address: executor, queue: "ts-own-tests", concurrency: 4, workerId: "ts-own-tests" });
  worker.task("ts_reverse", async (task) => {
    if (task.content === "flaky" && task.retryCount === 0) throw new TaskError("slow down", "RateLimitError");
    if (task.content === "hopeless") throw new PermanentError("never");
    task.log(`reversing ${task.content.length} characters`);
    return [...task.content].reverse().join("");
  });
  const stop = new AbortController();
  const running = worker.run(stop.signal);
  const client = new TaskflowClient({ scheduler, monitor });
  let created;
  for (;;) {
    try {
      created = await client.createMany(["abc", "flaky", "hopeless"].map((content) => ({ taskType: "ts_reverse", content })));
      break;
    } catch (error) {
      // Until the worker registered its type, the scheduler does not know it.
      assert.equal((error as { code: Code }).code, Code.InvalidArgument);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const [abc, flaky, hopeless] = await Promise.all(created.map((c) => client.wait(c.taskId)));
  assert.deepEqual([abc.state, abc.result, abc.workerId], ["COMPLETED", "cba", "ts-own-tests"]);
  assert.deepEqual([flaky.state, flaky.result, flaky.retryCount, flaky.errorType], ["COMPLETED", "ykalf", 1, "RateLimitError"]);
  assert.deepEqual([hopeless.state, hopeless.errorType], ["DLQ", "PermanentError"]);
  // The stats count outcomes as the executor acknowledges them, and a client may see
  // a task's end before its worker reads that acknowledgement: wait for all four.
  await until(() => worker.stats.completed + worker.stats.failed === 4, "every outcome acknowledged");
  stop.abort();
  await running;
  assert.deepEqual(worker.stats, { completed: 2, failed: 2, refused: 0, cancelled: 0, reconnects: 0 });
});

/** Wait for `condition`, checking every 20 ms, for up to 60 s (a loaded machine). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
