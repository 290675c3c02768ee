// Delays between reconnection attempts: exponential, capped, with jitter so that
// many dashboards do not reconnect to a restarted gateway in lockstep.
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** Relative spread, 0.2 = ±20 %. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before attempt number `attempt` (0 = first retry); `random` returns [0, 1). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.floor(attempt));
  const raw = Math.min(options.maxMs, options.baseMs * options.factor ** exponent);
  const spread = raw * options.jitter * (random() * 2 - 1);
  return Math.round(Math.min(options.maxMs, Math.max(0, raw + spread)));
}
