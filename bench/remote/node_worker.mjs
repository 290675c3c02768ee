// A remote worker on the TypeScript SDK that returns at once, for bench.remote_drain.
//   node bench/remote/node_worker.mjs <executor> <concurrency> [<prefetch>]
import { Worker } from "../../sdk/typescript/dist/src/index.js";

const [address, concurrency, prefetch = "0"] = process.argv.slice(2);
const worker = new Worker({
  address,
  queue: "bench",
  concurrency: Number(concurrency),
  prefetch: Number(prefetch),
  workerId: "bench-node",
});
worker.task("bench_noop", () => "ok");
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
await worker.run(stop.signal);
