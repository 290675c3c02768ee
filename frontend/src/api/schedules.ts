// Recurring schedules over REST (the gateway's transcoder serves them in proto JSON:
// enums by name, Durations as "60s", Timestamps as RFC 3339).
import type { ApiClient } from './client';
import { isObject, num, str, type Json } from './normalize';

export type MisfirePolicy = 'MISFIRE_POLICY_SKIP' | 'MISFIRE_POLICY_RUN_ONCE';

export interface ScheduleSpec {
  task_type: string;
  content?: string;
  cron?: string;
  time_zone?: string;
  /** Proto JSON Duration, e.g. "60s". */
  interval?: string;
  misfire_policy?: MisfirePolicy;
}

export interface Schedule {
  schedule_id: string;
  spec: ScheduleSpec;
  paused: boolean;
  next_fire_at: string | null;
  last_fire_at: string | null;
  last_task_id: string;
  /** The last task's state without its prefix (PENDING...), '' when none. */
  last_task_state: string;
  fire_count: number;
}

function schedule(raw: unknown): Schedule {
  const s: Json = isObject(raw) ? raw : {};
  const spec: Json = isObject(s.spec) ? s.spec : {};
  return {
    schedule_id: str(s.schedule_id),
    spec: {
      task_type: str(spec.task_type),
      content: str(spec.content),
      cron: str(spec.cron),
      time_zone: str(spec.time_zone),
      interval: str(spec.interval),
      misfire_policy: str(spec.misfire_policy, 'MISFIRE_POLICY_SKIP') as MisfirePolicy,
    },
    paused: s.paused === true,
    next_fire_at: typeof s.next_fire_at === 'string' ? s.next_fire_at : null,
    last_fire_at: typeof s.last_fire_at === 'string' ? s.last_fire_at : null,
    last_task_id: str(s.last_task_id),
    last_task_state: str(s.last_task_state).replace(/^TASK_STATE_/, '').replace(/^UNSPECIFIED$/, ''),
    fire_count: num(s.fire_count),
  };
}

const path = (id: string, action = ''): string => `/api/v1/schedules/${encodeURIComponent(id)}${action}`;

export async function listSchedules(client: ApiClient, signal?: AbortSignal): Promise<Schedule[]> {
  const body = await client.request('GET', '/api/v1/schedules', { signal });
  const items = isObject(body) && Array.isArray(body.schedules) ? body.schedules : [];
  return items.map(schedule);
}

export async function createSchedule(client: ApiClient, spec: ScheduleSpec): Promise<Schedule> {
  const body = await client.request('POST', '/api/v1/schedules', { json: { spec } });
  return schedule(isObject(body) ? body.schedule : null);
}

export async function scheduleAction(client: ApiClient, id: string, action: 'pause' | 'resume'): Promise<Schedule> {
  const body = await client.request('POST', path(id, `/${action}`), { json: {} });
  return schedule(isObject(body) ? body.schedule : null);
}

export async function triggerSchedule(client: ApiClient, id: string): Promise<string> {
  const body = await client.request('POST', path(id, '/trigger'), { json: {} });
  return isObject(body) ? str(body.task_id) : '';
}

export async function deleteSchedule(client: ApiClient, id: string): Promise<void> {
  await client.request('DELETE', path(id));
}
