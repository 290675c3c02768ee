// BullMQ's side of bench/versus.py, one command per process; every command prints
// one JSON line on stdout. The queue is "bench" on BENCH_REDIS_URL; jobs are no-ops
// added and completed at BullMQ's defaults (completed jobs are kept).
//
//   node bench.mjs fill N          add N jobs (addBulk of 1000) and exit
//   node bench.mjs work C          a Worker of concurrency C: prints {"ready"} once
//                                  connected, starts on a line on stdin, runs until SIGTERM
//   node bench.mjs latency N       add one job at a time, wait for QueueEvents 'completed'
//   node bench.mjs add N [C]       N Queue.add calls, C in flight (default 1: sequential)
//   node bench.mjs addbulk N SIZE  N jobs by addBulk of SIZE
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { once } from "node:events";

const url = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
// BullMQ 6 loads no Redis client itself under ESM: each Queue, Worker and QueueEvents
// gets an ioredis connection of its own (BullMQ duplicates it where it blocks).
const connect = () => new Redis(url, { maxRetriesPerRequest: null });
const NAME = "bench";
const [command, ...args] = process.argv.slice(2);
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const jobs = (count) => Array.from({ length: count }, () => ({ name: "noop", data: { content: "x" } }));

async function timed(body) {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function withQueue(body) {
  const queue = new Queue(NAME, { connection: connect() });
  try {
    await body(queue);
  } finally {
    await queue.close();
  }
}

async function fill(n) {
  await withQueue(async (queue) => {
    for (let start = 0; start < n; start += 1000) {
      await queue.addBulk(jobs(Math.min(1000, n - start)));
    }
  });
  out({ queued: n });
}

async function work(concurrency) {
  const worker = new Worker(NAME, async () => "done", { connection: connect(), concurrency, autorun: false });
  await worker.waitUntilReady();
  out({ ready: true });
  process.stdin.once("data", () => worker.run());
  await once(process, "SIGTERM");
  await worker.close();
  process.exit(0);
}

async function latency(n) {
  const events = new QueueEvents(NAME, { connection: connect() });
  await events.waitUntilReady();
  // The event can arrive before the reply to add: a completion nobody waits for yet
  // is remembered, so its add finds it.
  const waiting = new Map();
  const early = new Set();
  events.on("completed", ({ jobId }) => {
    const done = waiting.get(jobId);
    if (done) done();
    else early.add(jobId);
  });
  const samples = [];
  await withQueue(async (queue) => {
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      const job = await queue.add("noop", { content: "x" });
      if (!early.delete(job.id)) {
        await new Promise((resolve) => waiting.set(job.id, resolve));
        waiting.delete(job.id);
      }
      samples.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  });
  await events.close();
  out({ samples });
}

async function add(n, inFlight = 1) {
  let seconds = 0;
  await withQueue(async (queue) => {
    let next = 0;
    const caller = async () => {
      while (next < n) {
        next++;
        await queue.add("noop", { content: "x" });
      }
    };
    seconds = await timed(() => Promise.all(Array.from({ length: inFlight }, caller)));
  });
  out({ count: n, seconds });
}

async function addbulk(n, size) {
  let seconds = 0;
  await withQueue(async (queue) => {
    seconds = await timed(async () => {
      for (let start = 0; start + size <= n; start += size) await queue.addBulk(jobs(size));
    });
  });
  out({ count: Math.floor(n / size) * size, seconds });
}

const commands = { fill, work, latency, add, addbulk };
if (!commands[command]) {
  process.stderr.write(`unknown command ${command}\n`);
  process.exit(2);
}
await commands[command](...args.map(Number));
if (command !== "work") process.exit(0);
