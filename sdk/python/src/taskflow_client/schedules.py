"""Schedules: tasks created on a cron expression or a fixed interval (SchedulerService)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from google.protobuf import json_format, timestamp_pb2

from taskflow_client.errors import from_rpc_error
from taskflow_client.models import state_name
from taskflow_client.v1 import schedule_pb2
from taskflow_client.v1 import scheduler_service_pb2 as spb

if TYPE_CHECKING:
    from taskflow_client.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub

Reply = TypeVar("Reply")


@dataclass(frozen=True)
class ScheduleSpec:
    """What a schedule creates and when: give `cron` or `interval` (seconds), not both.

    `misfire` ("SKIP" or "RUN_ONCE"): what to do after every scheduler was down
    across fire times; `overlap` ("ALLOW" or "SKIP"): what to do while the previous
    task still runs. Empty: the service's defaults."""

    task_type: str
    content: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0
    max_retries: int | None = None
    cron: str = ""
    time_zone: str = ""
    interval: float | None = None
    misfire: str = ""
    overlap: str = ""

    def to_proto(self) -> schedule_pb2.ScheduleSpec:
        spec = schedule_pb2.ScheduleSpec(
            task_type=self.task_type,
            content=self.content,
            priority=self.priority,
            cron=self.cron,
            time_zone=self.time_zone,
        )
        spec.metadata.update(dict(self.metadata))
        if self.max_retries is not None:
            spec.max_retries = self.max_retries
        if self.interval is not None:
            spec.interval.FromNanoseconds(round(self.interval * 1e9))
        if self.misfire:
            spec.misfire_policy = schedule_pb2.MisfirePolicy.Value(f"MISFIRE_POLICY_{self.misfire}")
        if self.overlap:
            spec.overlap_policy = schedule_pb2.OverlapPolicy.Value(f"OVERLAP_POLICY_{self.overlap}")
        return spec

    @classmethod
    def from_proto(cls, spec: schedule_pb2.ScheduleSpec) -> ScheduleSpec:
        return cls(
            task_type=spec.task_type,
            content=spec.content,
            metadata=json_format.MessageToDict(spec.metadata),
            priority=spec.priority,
            max_retries=spec.max_retries if spec.HasField("max_retries") else None,
            cron=spec.cron,
            time_zone=spec.time_zone,
            interval=spec.interval.ToNanoseconds() / 1e9 if spec.HasField("interval") else None,
            misfire=_policy(schedule_pb2.MisfirePolicy.Name(spec.misfire_policy)),
            overlap=_policy(schedule_pb2.OverlapPolicy.Name(spec.overlap_policy)),
        )


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule and its firing state."""

    schedule_id: str
    spec: ScheduleSpec
    paused: bool
    next_fire_at: datetime | None  # None while paused
    last_fire_at: datetime | None
    last_task_id: str
    last_task_state: str  # "UNSPECIFIED" if none
    created_at: datetime | None
    fire_count: int

    @classmethod
    def from_proto(cls, schedule: schedule_pb2.Schedule) -> ScheduleInfo:
        return cls(
            schedule_id=schedule.schedule_id,
            spec=ScheduleSpec.from_proto(schedule.spec),
            paused=schedule.paused,
            next_fire_at=_time(schedule, "next_fire_at"),
            last_fire_at=_time(schedule, "last_fire_at"),
            last_task_id=schedule.last_task_id,
            last_task_state=state_name(schedule.last_task_state),
            created_at=_time(schedule, "created_at"),
            fire_count=schedule.fire_count,
        )


class Schedules:
    """`TaskflowClient.schedules`: create, read, change and remove schedules."""

    def __init__(
        self, stub: SchedulerServiceAsyncStub, metadata: tuple[tuple[str, str], ...], timeout: float
    ) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    async def create(self, spec: ScheduleSpec) -> ScheduleInfo:
        request = spb.CreateScheduleRequest(spec=spec.to_proto())
        reply = await self._call(self._stub.CreateSchedule, request)
        return ScheduleInfo.from_proto(reply.schedule)

    async def get(self, schedule_id: str) -> ScheduleInfo:
        request = spb.GetScheduleRequest(schedule_id=schedule_id)
        reply = await self._call(self._stub.GetSchedule, request)
        return ScheduleInfo.from_proto(reply.schedule)

    async def list(self) -> list[ScheduleInfo]:
        reply = await self._call(self._stub.ListSchedules, spb.ListSchedulesRequest())
        return [ScheduleInfo.from_proto(s) for s in reply.schedules]

    async def update(self, schedule_id: str, spec: ScheduleSpec) -> ScheduleInfo:
        """Replace what the schedule creates and when; its next fire time follows."""
        request = spb.UpdateScheduleRequest(schedule_id=schedule_id, spec=spec.to_proto())
        reply = await self._call(self._stub.UpdateSchedule, request)
        return ScheduleInfo.from_proto(reply.schedule)

    async def pause(self, schedule_id: str) -> ScheduleInfo:
        request = spb.PauseScheduleRequest(schedule_id=schedule_id)
        reply = await self._call(self._stub.PauseSchedule, request)
        return ScheduleInfo.from_proto(reply.schedule)

    async def resume(self, schedule_id: str) -> ScheduleInfo:
        request = spb.ResumeScheduleRequest(schedule_id=schedule_id)
        reply = await self._call(self._stub.ResumeSchedule, request)
        return ScheduleInfo.from_proto(reply.schedule)

    async def trigger(self, schedule_id: str) -> str:
        """Create the schedule's task now, off its timetable; the new task's id."""
        request = spb.TriggerScheduleRequest(schedule_id=schedule_id)
        return (await self._call(self._stub.TriggerSchedule, request)).task_id

    async def delete(self, schedule_id: str) -> None:
        request = spb.DeleteScheduleRequest(schedule_id=schedule_id)
        await self._call(self._stub.DeleteSchedule, request)

    async def _call(self, rpc: Callable[..., Awaitable[Reply]], request: Any) -> Reply:
        try:
            return await rpc(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None


def _policy(name: str) -> str:
    value = name.split("_POLICY_", 1)[1]
    return "" if value == "UNSPECIFIED" else value


def _time(message: schedule_pb2.Schedule, name: str) -> datetime | None:
    if not message.HasField(name):  # type: ignore[arg-type]
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, name)
    return stamp.ToDatetime().astimezone()
