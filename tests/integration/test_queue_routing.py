"""Routing with real executor processes (docs/state-machine.md, Queues): each
executor consumes its queues and claims only the types it has handlers for. A task
no running executor can run waits, visibly, in its queue's waiting list (never the
DLQ), and runs once an executor that has its handler starts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.processes import service_env, start_service
from tests.support.waiting import eventually

BOTH = json.dumps(["tests.support.tasks", "tests.support.mail_tasks"])
MAIL_ONLY = json.dumps(["tests.support.mail_tasks"])


def ran_by(log: Path) -> dict[str, int]:
    """task id -> pid of the process whose handler ran it (each id once)."""
    if not log.exists():
        return {}
    lines = [line.split() for line in log.read_text().splitlines()]
    ran = {task_id: int(pid) for task_id, pid in lines}
    assert len(ran) == len(lines), "a task ran twice"
    return ran


async def test_executors_take_only_their_queues_and_types_and_the_rest_waits(
    redis_url: str,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    log = tmp_path / "runs.log"
    meta = {"log": str(log)}

    def start(name: str, **env: str) -> subprocess.Popen[bytes]:
        process = start_service("executor", service_env(redis_url, **env), tmp_path / f"{name}.log")
        processes.append(process)
        return process

    general = start("general", TASKFLOW_QUEUES="default")  # tally, echo...: no send_mail
    mailer = start("mailer", TASKFLOW_QUEUES="emails", TASKFLOW_TASK_MODULES=MAIL_ONLY)

    def make(task_type: str, queue: str, n: int) -> list[NewTask]:
        return [NewTask(task_type, "0.05", metadata=meta, queue=queue) for _ in range(n)]

    tallies = await store.create_many(make("tally", "", 20))
    mails = await store.create_many(make("send_mail", "emails", 20))
    # Routed where nobody can run them: send_mail in default, tally in emails.
    stray_mails = await store.create_many(make("send_mail", "", 5))
    stray_tallies = await store.create_many(make("tally", "emails", 5))
    routed = [c.task_id for c in tallies + mails]
    stray = [c.task_id for c in stray_mails + stray_tallies]

    async def routed_done() -> bool:
        states = [(await store.get(i)).state for i in routed]
        return all(s is TaskState.COMPLETED for s in states)

    await eventually(routed_done, within=120, what="routed tasks completed")
    ran = ran_by(log)
    assert {ran[c.task_id] for c in tallies} == {general.pid}
    assert {ran[c.task_id] for c in mails} == {mailer.pid}

    async def strays_set_aside() -> bool:
        default_waits = await store.client.llen(
            store.keys.queue_keys("default").waiting_list("send_mail")
        )
        emails_waits = await store.client.llen(
            store.keys.queue_keys("emails").waiting_list("tally")
        )
        return (default_waits, emails_waits) == (5, 5)

    await eventually(strays_set_aside, within=60, what="stray tasks in the waiting lists")
    for task_id in stray:
        task = await store.get(task_id)
        assert task.state is TaskState.PENDING
        assert task_id not in ran
    assert (await store.status()).queues.dlq == 0

    # An executor with both handlers, consuming both queues, drains the waiting lists.
    both = start("both", TASKFLOW_QUEUES="default:1,emails:1", TASKFLOW_TASK_MODULES=BOTH)

    async def strays_done() -> bool:
        states = [(await store.get(i)).state for i in stray]
        return all(s is TaskState.COMPLETED for s in states)

    await eventually(strays_done, within=120, what="waiting tasks run by the new executor")
    ran = ran_by(log)
    assert {ran[i] for i in stray} == {both.pid}
    assert (await store.status()).queues.dlq == 0
