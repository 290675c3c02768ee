// The Node twin of remote_worker.py, on the installed @asynctaskflow/client only, run
// by tests/sdk/ as a process (from the Node project the packed SDK is installed in).
//
//   node remote_worker.mjs <executor address> <side-effect file> [--hang] [--prefetch=N]
//
// Handles `ts_shout` (upper-cases the content) on the queue "sdk-node". Every
// handler run appends `start <id>` to the side-effect file when it begins and
// `done <id>` just before it returns. With --hang, tasks whose content is "hang"
// never finish (to be SIGKILLed mid-task). Content "wait" reports progress 0.5
// "halfway", writes `waiting <id>`, then waits until the task is cancelled
// (writing `cancelled <id>`). Content "hold" writes `holding <id>` and finishes
// once the file holds `go <id>`. Content "payload" answers "<size> <sha256>" of the
// task's payload. With --prefetch=N it holds N tasks beyond its 4 slots.
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { parse } from "node:path";
import { Worker } from "@asynctaskflow/client";

const [address, effects, ...flags] = process.argv.slice(2);
const hang = flags.includes("--hang");
const prefetch = Number(flags.find((flag) => flag.startsWith("--prefetch="))?.split("=")[1] ?? 0);
const worker = new Worker({ address, queue: "sdk-node", concurrency: 4, prefetch, workerId: parse(effects).name });

worker.task("ts_shout", async (task) => {
  appendFileSync(effects, `start ${task.taskId}\n`);
  task.log(`shouting ${task.content.length} characters`);
  if (task.content === "payload") {
    const data = await task.payload();
    return `${data.length} ${createHash("sha256").update(data).digest("hex")}`;
  }
  if (task.content === "hold") {
    appendFileSync(effects, `holding ${task.taskId}\n`);
    const go = `go ${task.taskId}`;
    while (!readFileSync(effects, "utf8").split("\n").includes(go)) await new Promise((r) => setTimeout(r, 50));
  }
  if (task.content === "wait") {
    task.progress(0.5, "halfway");
    appendFileSync(effects, `waiting ${task.taskId}\n`);
    await new Promise((resolve) => task.signal.addEventListener("abort", resolve));
    if (task.cancelled) appendFileSync(effects, `cancelled ${task.taskId}\n`);
    throw task.signal.reason;
  }
  if (hang && task.content === "hang") await new Promise(() => {});
  appendFileSync(effects, `done ${task.taskId}\n`);
  return task.content.toUpperCase();
}, { rateLimit: "1000/s" }); // a rate no test reaches: it proves the limit is declared

const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
await worker.run(stop.signal);
