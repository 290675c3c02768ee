// Per-type limits over REST (MonitorService.ListLimits, served by the gateway's
// transcoder in proto JSON: int64 numbers arrive as strings).
import type { ApiClient } from './client';
import { isObject, num, str, type Json } from './normalize';

export interface ConcurrencySlots {
  /** The concurrency key's value ('' when tasks lack it, or the whole type). */
  key_value: string;
  used: number;
  limit: number;
}

export interface TypeLimitUse {
  task_type: string;
  /** e.g. "100/s"; '' without a rate limit. */
  rate_limit: string;
  rate_tokens: number;
  rate_capacity: number;
  rate_interval_ms: number;
  /** 0 without a concurrency limit. */
  concurrency_limit: number;
  /** e.g. "metadata.tenant"; '' counts the whole type. */
  concurrency_key: string;
  slots: ConcurrencySlots[];
  held_back: number;
  held_by_rate_total: number;
  held_by_concurrency_total: number;
  declared_by: string;
  declared_at: string | null;
}

function slots(raw: unknown): ConcurrencySlots {
  const s: Json = isObject(raw) ? raw : {};
  return { key_value: str(s.key_value), used: num(s.used), limit: num(s.limit) };
}

function typeLimitUse(raw: unknown): TypeLimitUse {
  const u: Json = isObject(raw) ? raw : {};
  return {
    task_type: str(u.task_type),
    rate_limit: str(u.rate_limit),
    rate_tokens: num(u.rate_tokens),
    rate_capacity: num(u.rate_capacity),
    rate_interval_ms: num(u.rate_interval_ms),
    concurrency_limit: num(u.concurrency_limit),
    concurrency_key: str(u.concurrency_key),
    slots: Array.isArray(u.slots) ? u.slots.map(slots) : [],
    held_back: num(u.held_back),
    held_by_rate_total: num(u.held_by_rate_total),
    held_by_concurrency_total: num(u.held_by_concurrency_total),
    declared_by: str(u.declared_by),
    declared_at: typeof u.declared_at === 'string' ? u.declared_at : null,
  };
}

export async function listLimits(client: ApiClient, signal?: AbortSignal): Promise<TypeLimitUse[]> {
  const body = await client.request('GET', '/api/v1/limits', { signal });
  const items = isObject(body) && Array.isArray(body.limits) ? body.limits : [];
  return items.map(typeLimitUse);
}
