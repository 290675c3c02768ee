// BullMQ on the same Redis, for bench.remote_drain; copied into build/bench-node,
// where bullmq is installed (never a project dependency).
//   node bullmq_bench.mjs fill <redis url> <n>      queue n no-op jobs
//   node bullmq_bench.mjs work <redis url> <concurrency>   one Worker until SIGTERM
import { Queue, Worker } from "bullmq";

const [mode, url, count] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const connection = { host: hostname, port: Number(port) };

if (mode === "fill") {
  const queue = new Queue("bench", { connection });
  const n = Number(count);
  for (let start = 0; start < n; start += 1000) {
    const size = Math.min(1000, n - start);
    await queue.addBulk(Array.from({ length: size }, () => ({ name: "noop", data: { content: "x" } })));
  }
  await queue.close();
} else {
  const worker = new Worker("bench", async () => "ok", { connection, concurrency: Number(count) });
  process.on("SIGTERM", async () => {
    await worker.close();
    process.exit(0);
  });
}
