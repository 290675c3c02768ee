// Schedules: tasks created on a cron expression or a fixed interval (SchedulerService).
import type { Client } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

import { TaskState } from "./gen/taskflow/v1/enums_pb.js";
import { MisfirePolicy, OverlapPolicy, type Schedule, type ScheduleSpec as SpecMessage } from "./gen/taskflow/v1/schedule_pb.js";
import type { SchedulerService } from "./gen/taskflow/v1/scheduler_service_pb.js";
import { fromConnectError, TaskflowError } from "./errors.js";

/** What a schedule creates and when: give `cron` or `intervalSeconds`, not both. */
export interface ScheduleSpec {
  taskType: string;
  content?: string;
  metadata?: JsonObject;
  priority?: number;
  /** Retries allowed per task; unset: the service's MAX_RETRIES. */
  maxRetries?: number;
  /** Five fields, or six with seconds first. */
  cron?: string;
  /** IANA time zone the cron expression is read in (default UTC). */
  timeZone?: string;
  intervalSeconds?: number;
  /** After every scheduler was down across fire times (default: the service's). */
  misfire?: "SKIP" | "RUN_ONCE";
  /** While the previous task still runs (default: the service's). */
  overlap?: "ALLOW" | "SKIP";
}

/** A schedule and its firing state. */
export interface ScheduleInfo {
  scheduleId: string;
  spec: ScheduleSpec;
  paused: boolean;
  /** Undefined while paused. */
  nextFireAt?: Date;
  lastFireAt?: Date;
  lastTaskId: string;
  /** "UNSPECIFIED" if none. */
  lastTaskState: string;
  createdAt?: Date;
  fireCount: number;
}

/** `TaskflowClient.schedules`: create, read, change and remove schedules. */
export class Schedules {
  constructor(private readonly scheduler: Client<typeof SchedulerService>) {}

  async create(spec: ScheduleSpec): Promise<ScheduleInfo> {
    return info((await call(() => this.scheduler.createSchedule({ spec: toMessage(spec) }))).schedule);
  }

  async get(scheduleId: string): Promise<ScheduleInfo> {
    return info((await call(() => this.scheduler.getSchedule({ scheduleId }))).schedule);
  }

  async list(): Promise<ScheduleInfo[]> {
    return (await call(() => this.scheduler.listSchedules({}))).schedules.map(info);
  }

  /** Replace what the schedule creates and when; its next fire time follows. */
  async update(scheduleId: string, spec: ScheduleSpec): Promise<ScheduleInfo> {
    return info((await call(() => this.scheduler.updateSchedule({ scheduleId, spec: toMessage(spec) }))).schedule);
  }

  async pause(scheduleId: string): Promise<ScheduleInfo> {
    return info((await call(() => this.scheduler.pauseSchedule({ scheduleId }))).schedule);
  }

  async resume(scheduleId: string): Promise<ScheduleInfo> {
    return info((await call(() => this.scheduler.resumeSchedule({ scheduleId }))).schedule);
  }

  /** Create the schedule's task now, off its timetable; the new task's id. */
  async trigger(scheduleId: string): Promise<string> {
    return (await call(() => this.scheduler.triggerSchedule({ scheduleId }))).taskId;
  }

  async delete(scheduleId: string): Promise<void> {
    await call(() => this.scheduler.deleteSchedule({ scheduleId }));
  }
}

/** A google.protobuf.Duration of `seconds` (fractions kept to the nanosecond). */
export function durationFromSeconds(seconds: number) {
  return { seconds: BigInt(Math.floor(seconds)), nanos: Math.round((seconds % 1) * 1e9) };
}

async function call<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc();
  } catch (error) {
    throw fromConnectError(error);
  }
}

function toMessage(spec: ScheduleSpec) {
  const interval = spec.intervalSeconds;
  return {
    taskType: spec.taskType,
    content: spec.content ?? "",
    metadata: spec.metadata ?? {},
    priority: spec.priority ?? 0,
    maxRetries: spec.maxRetries,
    cron: spec.cron ?? "",
    timeZone: spec.timeZone ?? "",
    interval: interval === undefined ? undefined : durationFromSeconds(interval),
    misfirePolicy: spec.misfire ? MisfirePolicy[spec.misfire] : MisfirePolicy.UNSPECIFIED,
    overlapPolicy: spec.overlap ? OverlapPolicy[spec.overlap] : OverlapPolicy.UNSPECIFIED,
  };
}

function fromMessage(spec: SpecMessage): ScheduleSpec {
  const out: ScheduleSpec = {
    taskType: spec.taskType,
    content: spec.content,
    metadata: spec.metadata ?? {},
    priority: spec.priority,
    maxRetries: spec.maxRetries,
    cron: spec.cron,
    timeZone: spec.timeZone,
  };
  if (spec.interval) out.intervalSeconds = Number(spec.interval.seconds) + spec.interval.nanos / 1e9;
  if (spec.misfirePolicy !== MisfirePolicy.UNSPECIFIED) out.misfire = MisfirePolicy[spec.misfirePolicy] as ScheduleSpec["misfire"];
  if (spec.overlapPolicy !== OverlapPolicy.UNSPECIFIED) out.overlap = OverlapPolicy[spec.overlapPolicy] as ScheduleSpec["overlap"];
  return out;
}

function info(schedule: Schedule | undefined): ScheduleInfo {
  if (!schedule?.spec) throw new TaskflowError("the service answered without a schedule");
  return {
    scheduleId: schedule.scheduleId,
    spec: fromMessage(schedule.spec),
    paused: schedule.paused,
    nextFireAt: date(schedule.nextFireAt),
    lastFireAt: date(schedule.lastFireAt),
    lastTaskId: schedule.lastTaskId,
    lastTaskState: TaskState[schedule.lastTaskState] ?? "UNSPECIFIED",
    createdAt: date(schedule.createdAt),
    fireCount: Number(schedule.fireCount),
  };
}

function date(stamp: Timestamp | undefined): Date | undefined {
  return stamp ? timestampDate(stamp) : undefined;
}
