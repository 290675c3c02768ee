// A sliding window of per-second counts of created, completed and failed tasks,
// kept as a fixed-size array so an update costs O(window), never O(events seen).
export interface Bucket {
  created: number;
  completed: number;
  failed: number;
}

export interface Throughput {
  /** Unix second of the last bucket. */
  endSecond: number;
  /** Oldest first; the last one is `endSecond`. */
  buckets: Bucket[];
}

export const WINDOW_SECONDS = 300;

const zero = (): Bucket => ({ created: 0, completed: 0, failed: 0 });

export function emptyThroughput(nowSecond = 0, size = WINDOW_SECONDS): Throughput {
  return { endSecond: nowSecond, buckets: Array.from({ length: size }, zero) };
}

/** The window moved forward so that its last bucket is `second` (never backwards). */
export function advance(window: Throughput, second: number): Throughput {
  const shift = second - window.endSecond;
  if (shift <= 0) return window;
  const size = window.buckets.length;
  if (shift >= size) return emptyThroughput(second, size);
  return {
    endSecond: second,
    buckets: [...window.buckets.slice(shift), ...Array.from({ length: shift }, zero)],
  };
}

/** Adds counts to the bucket of `second`; too old a second is dropped. */
export function record(window: Throughput, second: number, add: Partial<Bucket>): Throughput {
  const moved = advance(window, second);
  const index = moved.buckets.length - 1 - (moved.endSecond - second);
  if (index < 0) return moved;
  const buckets = moved === window ? [...moved.buckets] : moved.buckets;
  const old = buckets[index] ?? zero();
  buckets[index] = {
    created: old.created + (add.created ?? 0),
    completed: old.completed + (add.completed ?? 0),
    failed: old.failed + (add.failed ?? 0),
  };
  return { endSecond: moved.endSecond, buckets };
}

/** Totals and rates over the last `seconds` of the window. */
export function summarize(window: Throughput, seconds: number): Bucket {
  const total = zero();
  for (const bucket of window.buckets.slice(-seconds)) {
    total.created += bucket.created;
    total.completed += bucket.completed;
    total.failed += bucket.failed;
  }
  return total;
}
