"""The schedule RPCs of SchedulerService: validate the spec, call the store, convert.

Everything a spec can get wrong (bad cron, unknown time zone, unknown task type,
interval 0, both or neither of cron and interval) is InvalidInput before anything
is written.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from services.scheduler.intake import Intake
from taskflow.errors import InvalidInput
from taskflow.rpc import convert
from taskflow.schedule_times import check_cron, check_interval, next_fire_ms, zone
from taskflow.store import TaskState
from taskflow.store.remote import RemoteQueues
from taskflow.store.schedules import Schedule, ScheduleSpec, ScheduleStore
from taskflow.tasks import registered
from taskflow.v1 import schedule_pb2
from taskflow.v1 import scheduler_service_pb2 as pb

Context = aio.ServicerContext[Any, Any]
_MISFIRE = {
    schedule_pb2.MISFIRE_POLICY_UNSPECIFIED: "skip",
    schedule_pb2.MISFIRE_POLICY_SKIP: "skip",
    schedule_pb2.MISFIRE_POLICY_RUN_ONCE: "run_once",
}
_OVERLAP = {
    schedule_pb2.OVERLAP_POLICY_UNSPECIFIED: "allow",
    schedule_pb2.OVERLAP_POLICY_ALLOW: "allow",
    schedule_pb2.OVERLAP_POLICY_SKIP: "skip",
}


def spec_from_proto(
    message: schedule_pb2.ScheduleSpec, intake: Intake, remote_queue: str = ""
) -> ScheduleSpec:
    """`remote_queue`: the named queue of a remote worker's task type (its input is
    that worker's to check); empty for a type handled here."""
    has_interval = message.HasField("interval")
    if bool(message.cron) == has_interval:
        raise InvalidInput("give cron or interval, exactly one of them")
    interval_ms = 0
    if has_interval:
        interval_ms = message.interval.ToMilliseconds()
        check_interval(interval_ms)
    else:
        check_cron(message.cron)
    zone(message.time_zone)
    if message.misfire_policy not in _MISFIRE or message.overlap_policy not in _OVERLAP:
        raise InvalidInput("unknown misfire_policy or overlap_policy")
    task = intake.task(
        message.task_type,
        message.content,
        metadata=convert.struct_to_dict(message.metadata),
        max_retries=message.max_retries if message.HasField("max_retries") else None,
        priority=message.priority,
        remote_queue=remote_queue,
    )
    return ScheduleSpec(
        task_type=task.task_type,
        content=task.content,
        metadata=task.metadata,
        priority=task.priority,
        max_retries=task.max_retries,
        cron=message.cron,
        time_zone=message.time_zone,
        interval_ms=interval_ms,
        misfire=_MISFIRE[message.misfire_policy],
        overlap=_OVERLAP[message.overlap_policy],
        retention_s=task.retention_s,
        queue=task.queue,  # the type's own queue, or its remote worker's
    )


def spec_to_proto(spec: ScheduleSpec) -> schedule_pb2.ScheduleSpec:
    out = schedule_pb2.ScheduleSpec(
        task_type=spec.task_type,
        content=spec.content,
        metadata=convert.struct(spec.metadata),
        priority=spec.priority,
        max_retries=spec.max_retries,
        cron=spec.cron,
        time_zone=spec.time_zone,
        misfire_policy=(
            schedule_pb2.MISFIRE_POLICY_RUN_ONCE
            if spec.misfire == "run_once"
            else schedule_pb2.MISFIRE_POLICY_SKIP
        ),
        overlap_policy=(
            schedule_pb2.OVERLAP_POLICY_SKIP
            if spec.overlap == "skip"
            else schedule_pb2.OVERLAP_POLICY_ALLOW
        ),
    )
    if spec.interval_ms:
        out.interval.FromMilliseconds(spec.interval_ms)
    return out


def schedule_to_proto(schedule: Schedule) -> schedule_pb2.Schedule:
    out = schedule_pb2.Schedule(
        schedule_id=schedule.schedule_id,
        spec=spec_to_proto(schedule.spec),
        paused=schedule.paused,
        last_task_id=schedule.last_task_id,
        fire_count=schedule.fire_count,
        created_at=convert.timestamp_from_unix(schedule.created_ms / 1000),
    )
    if schedule.next_fire_ms is not None:
        out.next_fire_at.CopyFrom(convert.timestamp_from_unix(schedule.next_fire_ms / 1000))
    if schedule.last_fire_ms is not None:
        out.last_fire_at.CopyFrom(convert.timestamp_from_unix(schedule.last_fire_ms / 1000))
    if schedule.last_task_state:
        out.last_task_state = convert.state_to_proto(TaskState(schedule.last_task_state))
    return out


def first_fire_ms(spec: ScheduleSpec, *, anchor_ms: int, now_ms: int) -> int:
    return next_fire_ms(
        cron=spec.cron,
        time_zone=spec.time_zone,
        interval_ms=spec.interval_ms,
        anchor_ms=anchor_ms,
        after_ms=now_ms,
    )


class ScheduleRpcs:
    """Mixed into SchedulerServicer: the eight schedule RPCs."""

    intake: Intake
    schedules: ScheduleStore
    remote: RemoteQueues

    async def CreateSchedule(self, request: pb.CreateScheduleRequest, context: Context) -> Any:
        spec = await self._spec(request.spec)
        now = await self.schedules.now_ms()
        first = first_fire_ms(spec, anchor_ms=now + spec.interval_ms, now_ms=now)
        schedule_id = await self.schedules.create(spec, created_ms=now, next_fire_ms=first)
        return pb.CreateScheduleResponse(schedule=await self._read(schedule_id))

    async def GetSchedule(self, request: pb.GetScheduleRequest, context: Context) -> Any:
        return pb.GetScheduleResponse(schedule=await self._read(request.schedule_id))

    async def ListSchedules(self, request: pb.ListSchedulesRequest, context: Context) -> Any:
        found = await self.schedules.all()
        return pb.ListSchedulesResponse(schedules=[schedule_to_proto(s) for s in found])

    async def UpdateSchedule(self, request: pb.UpdateScheduleRequest, context: Context) -> Any:
        spec = await self._spec(request.spec)
        current = await self.schedules.get(request.schedule_id)
        now = await self.schedules.now_ms()
        first = first_fire_ms(spec, anchor_ms=current.created_ms, now_ms=now)
        await self.schedules.update(current.schedule_id, spec, next_fire_ms=first)
        return pb.UpdateScheduleResponse(schedule=await self._read(current.schedule_id))

    async def PauseSchedule(self, request: pb.PauseScheduleRequest, context: Context) -> Any:
        await self.schedules.pause(request.schedule_id)
        return pb.PauseScheduleResponse(schedule=await self._read(request.schedule_id))

    async def ResumeSchedule(self, request: pb.ResumeScheduleRequest, context: Context) -> Any:
        current = await self.schedules.get(request.schedule_id)
        now = await self.schedules.now_ms()
        first = first_fire_ms(current.spec, anchor_ms=current.created_ms, now_ms=now)
        await self.schedules.resume(current.schedule_id, next_fire_ms=first)
        return pb.ResumeScheduleResponse(schedule=await self._read(current.schedule_id))

    async def TriggerSchedule(self, request: pb.TriggerScheduleRequest, context: Context) -> Any:
        firing = await self.schedules.fire(
            request.schedule_id, due_ms=None, next_fire_ms=None, create=True
        )
        return pb.TriggerScheduleResponse(task_id=firing.task_id)

    async def DeleteSchedule(self, request: pb.DeleteScheduleRequest, context: Context) -> Any:
        await self.schedules.delete(request.schedule_id)
        return pb.DeleteScheduleResponse(schedule_id=request.schedule_id)

    async def _spec(self, message: schedule_pb2.ScheduleSpec) -> ScheduleSpec:
        """A type handled here first; else one a remote worker registered (routed to
        its named queue); else the intake's InvalidInput naming the known types."""
        name = message.task_type
        remote = "" if name in registered() else (await self.remote.queues_for([name])).get(name)
        return spec_from_proto(message, self.intake, remote or "")

    async def _read(self, schedule_id: str) -> schedule_pb2.Schedule:
        return schedule_to_proto(await self.schedules.get(schedule_id))
