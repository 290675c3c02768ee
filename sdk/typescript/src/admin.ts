// `TaskflowClient.admin`: the operator's actions on many tasks at once (SchedulerService):
// the dead letter queue, ids set aside as corrupt, cleanup by state and age, orphaned
// tasks, and the ids waiting in one of the four original queues.
import type { Client } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import type { SchedulerService } from "./gen/taskflow/v1/scheduler_service_pb.js";
import { call, info, stateValue, type TaskInfo } from "./tasks.js";

/** An id a claim set aside because its stored task could not be read. */
export interface CorruptTask {
  taskId: string;
  /** What is left of its hash. */
  fields: Record<string, string>;
}

export interface CorruptTasks {
  /** Ids set aside now (more than listed when over the limit). */
  total: number;
  tasks: CorruptTask[];
}

/** Bulk and repair actions; each returns how many tasks it touched. */
export class Admin {
  constructor(private readonly scheduler: Client<typeof SchedulerService>) {}

  /** Tasks in the dead letter queue (`limit` 0: the service's default). */
  async listDlq(limit = 0): Promise<TaskInfo[]> {
    return (await call(() => this.scheduler.listDlqTasks({ limit }))).tasks.map(info);
  }

  /** Put every DLQ task back in its queue; how many. */
  async retryAllDlq(options: { resetRetryCount?: boolean } = {}): Promise<number> {
    const resetRetryCount = options.resetRetryCount ?? false;
    return (await call(() => this.scheduler.retryAllDlqTasks({ resetRetryCount }))).retried;
  }

  /** Delete every DLQ task; how many. */
  async purgeDlq(): Promise<number> {
    return (await call(() => this.scheduler.purgeDlq({}))).purged;
  }

  async listCorrupt(limit = 0): Promise<CorruptTasks> {
    const reply = await call(() => this.scheduler.listCorruptTasks({ limit }));
    return { total: Number(reply.total), tasks: reply.tasks.map((t) => ({ taskId: t.taskId, fields: { ...t.fields } })) };
  }

  /** Drop these ids from the corrupt set (what is left of each hash stays). */
  async dropCorrupt(taskIds: string[]): Promise<number> {
    return Number((await call(() => this.scheduler.dropCorruptTasks({ taskIds }))).dropped);
  }

  /** Delete tasks in `states` ("COMPLETED", "DLQ"...) and/or created before a time
   * (at least one of the two); how many. */
  async cleanup(states: string[] = [], options: { createdBefore?: Date } = {}): Promise<number> {
    const createdBefore = options.createdBefore ? timestampFromDate(options.createdBefore) : undefined;
    const request = { states: states.map(stateValue), createdBefore };
    return (await call(() => this.scheduler.cleanupTasks(request))).deleted;
  }

  /** Put PENDING tasks that sit in no queue back in one; how many. */
  async requeueOrphaned(): Promise<number> {
    return (await call(() => this.scheduler.requeueOrphanedTasks({}))).requeued;
  }

  /** Ids in "primary", "retry", "scheduled" or "dlq", next to be read first. */
  async queueIds(queue: string, limit = 0): Promise<string[]> {
    return (await call(() => this.scheduler.listQueueTasks({ queueName: queue, limit }))).taskIds;
  }
}
