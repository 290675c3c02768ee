"""Random sequences of store operations against the real server, checked against a
plain Python model after every step: states, FIFO queues, the structure each id
sits in, and the `metrics:tasks:state:*` counters against a full count of hashes.
Delayed creation and cancel (docs/state-machine.md) are among the operations, and
tasks live in two named queues (`default`, the original keys, and `emails`): every
transition keeps an id in its own queue's lists."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)
from redis.asyncio import Redis

from taskflow.errors import Conflict, LeaseLost, NotFound
from taskflow.redis_server import BundledRedis
from taskflow.store import ClaimedTask, NewTask, StoreConfig, TaskState, TaskStore

WORKERS = ("w1", "w2")
QUEUES = ("default", "emails")
T = TypeVar("T")


def strings(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]


@dataclass
class Model:
    _state: TaskState
    retry_count: int
    max_retries: int
    transitions: int = 1  # the creation counts: state_history starts with PENDING
    delayed: bool = False  # created with a run time an hour ahead: never due here
    cancel_requested: bool = False  # cancelled while ACTIVE; cleared when it ends
    queue: str = "default"

    @property
    def state(self) -> TaskState:
        return self._state

    @state.setter
    def state(self, new: TaskState) -> None:
        self._state = new
        self.transitions += 1
        if new is not TaskState.ACTIVE:
            self.cancel_requested = False

    @property
    def due(self) -> bool:
        """SCHEDULED and due: a retry scheduled with delay 0 is due at once (a task
        created delayed is an hour ahead), so every read shows it PENDING (due means
        PENDING) while its hash stays SCHEDULED until promotion."""
        return self._state is TaskState.SCHEDULED and not self.delayed

    @property
    def read_state(self) -> TaskState:
        return TaskState.PENDING if self.due else self._state


class StoreMachine(RuleBasedStateMachine):
    url = ""

    claims = Bundle("claims")
    lost_claims = Bundle("lost_claims")

    def __init__(self) -> None:
        super().__init__()
        # Task ids from a counter, not at random: which task a draw picks, and the
        # id order the store uses for same-millisecond leases, must be the same when
        # Hypothesis replays a case, or it stops with FlakyStrategyDefinition.
        self._random_uuid4 = uuid.uuid4
        numbers = itertools.count(1)
        uuid.uuid4 = lambda: uuid.UUID(int=next(numbers), version=4)
        self.runner = asyncio.Runner()
        self.sync = redis.Redis.from_url(self.url, decode_responses=True)
        self.sync.flushall()
        self.client = Redis.from_url(self.url)
        self.store = TaskStore(self.client, StoreConfig())
        self.short_lease = TaskStore(self.client, StoreConfig(lease_ms=1))
        self.keys = self.store.keys
        self.tasks: dict[str, Model] = {}
        # Model lists per queue, next-out first.
        self.primary: dict[str, list[str]] = {q: [] for q in QUEUES}
        self.retry: dict[str, list[str]] = {q: [] for q in QUEUES}

    def teardown(self) -> None:
        uuid.uuid4 = self._random_uuid4
        self.runner.run(self.client.aclose())
        self.runner.close()
        self.sync.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def in_state(self, state: TaskState) -> list[str]:
        return [i for i, m in self.tasks.items() if m.state is state]

    def in_creation_order(self) -> list[str]:
        """The tasks to draw from. Not sorted by id: ids are random, so the same draw
        would name another task when Hypothesis replays a case, and the replay would
        go elsewhere (FlakyStrategyDefinition). Creation order is the same every time."""
        return list(self.tasks)

    # --- rules ---------------------------------------------------------------------

    def unlist(self, task_id: str) -> None:
        for lists in (self.primary, self.retry):
            for ids in lists.values():
                if task_id in ids:
                    ids.remove(task_id)

    @rule(count=st.integers(1, 4), max_retries=st.integers(0, 2), queue=st.sampled_from(QUEUES))
    def create(self, count: int, max_retries: int, queue: str) -> None:
        name = "" if queue == "default" else queue
        new = NewTask("echo", "x", max_retries=max_retries, queue=name)
        created = self.run(self.store.create_many([new] * count))
        for c in created:
            self.tasks[c.task_id] = Model(TaskState.PENDING, 0, max_retries, queue=queue)
            self.primary[queue].append(c.task_id)

    @rule(count=st.integers(1, 3), queue=st.sampled_from(QUEUES))
    def create_delayed(self, count: int, queue: str) -> None:
        later = datetime.now(UTC) + timedelta(hours=1)
        name = "" if queue == "default" else queue
        created = self.run(
            self.store.create_many([NewTask("echo", "x", run_at=later, queue=name)] * count)
        )
        for c in created:
            assert c.state is TaskState.SCHEDULED
            self.tasks[c.task_id] = Model(TaskState.SCHEDULED, 0, 3, delayed=True, queue=queue)

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(self.in_creation_order()))
        model = self.tasks[task_id]
        if model.state not in (TaskState.PENDING, TaskState.SCHEDULED, TaskState.ACTIVE):
            with pytest.raises(Conflict):
                self.run(self.store.cancel(task_id))
            return
        state = self.run(self.store.cancel(task_id))
        if model.state is TaskState.ACTIVE:
            assert state is TaskState.ACTIVE
            model.cancel_requested = True
            return
        assert state is TaskState.CANCELLED
        model.state = TaskState.CANCELLED
        self.unlist(task_id)

    @rule(claimed=consumes(claims))
    def acknowledge_cancel(self, claimed: list[ClaimedTask]) -> None:
        for claim in claimed:
            model = self.tasks[claim.task_id]
            if not model.cancel_requested:
                with pytest.raises(LeaseLost):
                    self.run(self.store.cancelled(claim))
                self.run(self.store.complete(claim, "done"))
                model.state = TaskState.COMPLETED
                continue
            self.run(self.store.cancelled(claim))
            model.state = TaskState.CANCELLED

    @rule(
        target=claims,
        worker=st.sampled_from(WORKERS),
        wanted=st.integers(1, 3),
        queue=st.sampled_from(QUEUES),
    )
    def claim(self, worker: str, wanted: int, queue: str) -> list[ClaimedTask]:
        got = self.run(self.store.claim(worker, wanted, queues=[(queue, 1)]))
        self.take(got, wanted, queue)
        return got

    def take(self, got: list[ClaimedTask], wanted: int, name: str = "default") -> None:
        primary, retry = self.primary[name], self.retry[name]
        assert len(got) == min(wanted, len(primary) + len(retry))
        for claim in got:
            task_id = claim.task_id
            queue = primary if task_id in primary else retry
            assert queue, f"{task_id} was claimed but is in no model queue"
            assert queue[0] == task_id, "claim did not take the oldest task (FIFO)"
            queue.pop(0)
            self.tasks[task_id].state = TaskState.ACTIVE

    @rule(claimed=consumes(claims))
    def complete(self, claimed: list[ClaimedTask]) -> None:
        for claim in claimed:
            self.run(self.store.complete(claim, "done"))
            self.tasks[claim.task_id].state = TaskState.COMPLETED

    @rule(claimed=consumes(claims), permanent=st.booleans())
    def fail(self, claimed: list[ClaimedTask], permanent: bool) -> None:
        for claim in claimed:
            model = self.tasks[claim.task_id]
            state = self.run(
                self.store.fail(claim, "boom", "Default", permanent=permanent, retry_delay_s=0)
            )
            if permanent or model.retry_count >= model.max_retries:
                expected = TaskState.DLQ
            elif model.cancel_requested:
                expected = TaskState.CANCELLED
            else:
                expected = TaskState.SCHEDULED
                model.retry_count += 1
            assert state is expected
            model.state = expected

    @rule(claimed=consumes(claims))
    def release(self, claimed: list[ClaimedTask]) -> None:
        assert self.run(self.store.release(claimed)) == len(claimed)
        for claim in reversed(claimed):
            task_id = claim.task_id
            if self.tasks[task_id].cancel_requested:
                self.tasks[task_id].state = TaskState.CANCELLED
                continue
            self.tasks[task_id].state = TaskState.PENDING
            lists = (
                self.retry
                if self.sync.hget(self.keys.task(task_id), "queue") == "retry"
                else self.primary
            )
            lists[self.tasks[task_id].queue].insert(0, task_id)

    @rule()
    def promote(self) -> None:
        time.sleep(0.002)  # every retry scheduled with delay 0 is now due
        due = {i for i in self.in_state(TaskState.SCHEDULED) if not self.tasks[i].delayed}
        moved, _ = self.run(self.store.promote_due())
        assert moved == len(due)
        # Same-millisecond retries have no defined order among themselves.
        for queue in QUEUES:
            self.retry[queue] += [i for i in self.retry_list(queue) if i in due]
        for task_id in due:
            self.tasks[task_id].state = TaskState.PENDING

    @rule(target=lost_claims, wanted=st.integers(1, 2))
    def claim_and_lose_the_lease(self, wanted: int) -> list[ClaimedTask]:
        got = self.run(self.short_lease.claim("w3", wanted))
        self.take(got, wanted)
        time.sleep(0.003)
        requeued, dead, cancelled = self.run(self.store.reap_expired())
        assert (requeued + dead, cancelled) == (len(got), 0)
        # Leases that expire in the same millisecond are reaped in id order.
        for task_id in sorted(claim.task_id for claim in got):
            model = self.tasks[task_id]
            if model.retry_count >= model.max_retries:
                model.state = TaskState.DLQ
            else:
                model.state = TaskState.PENDING
                model.retry_count += 1
                self.retry[model.queue].append(task_id)
        return got

    @rule(target=lost_claims, wanted=st.integers(1, 2))
    def cancel_then_lose_the_lease(self, wanted: int) -> list[ClaimedTask]:
        got = self.run(self.short_lease.claim("w3", wanted))
        self.take(got, wanted)
        for claim in got:
            assert self.run(self.store.cancel(claim.task_id)) is TaskState.ACTIVE
        time.sleep(0.003)
        assert self.run(self.store.reap_expired()) == (0, 0, len(got))
        for claim in got:
            self.tasks[claim.task_id].state = TaskState.CANCELLED
        return got

    @rule(lost=consumes(lost_claims))
    def finishing_after_losing_the_lease_is_refused(self, lost: list[ClaimedTask]) -> None:
        for claim in lost:
            before = self.sync.hgetall(self.keys.task(claim.task_id))
            refusal = LeaseLost if claim.task_id in self.tasks else NotFound
            with pytest.raises(refusal):
                self.run(self.store.complete(claim, "too late"))
            with pytest.raises(refusal):
                self.run(self.store.fail(claim, "too late", "Default", permanent=True))
            assert self.sync.hgetall(self.keys.task(claim.task_id)) == before

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data(), reset=st.booleans())
    def manual_retry(self, data: st.DataObject, reset: bool) -> None:
        task_id = data.draw(st.sampled_from(self.in_creation_order()))
        model = self.tasks[task_id]
        if model.state not in (TaskState.DLQ, TaskState.FAILED):
            with pytest.raises(Conflict):
                self.run(self.store.retry(task_id))
            return
        self.run(self.store.retry(task_id, reset_retry_count=reset))
        model.state = TaskState.PENDING
        if reset:
            model.retry_count = 0
        self.retry[model.queue].append(task_id)

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        candidates = [
            i for i in self.in_creation_order() if self.tasks[i].state is not TaskState.ACTIVE
        ]
        if not candidates:
            return
        task_id = data.draw(st.sampled_from(candidates))
        # The state it was in as reads showed it: a due retry was PENDING.
        assert self.run(self.store.delete(task_id)) is self.tasks.pop(task_id).read_state
        self.unlist(task_id)

    # --- invariants ----------------------------------------------------------------

    def retry_list(self, queue: str) -> list[str]:
        retry = self.keys.queue_keys(queue).retry
        return strings(reversed(strings(self.sync.lrange(retry, 0, -1))))

    @invariant()
    def counters_equal_a_full_count_of_hashes(self) -> None:
        truth: Counter[str] = Counter()
        for key in self.sync.scan_iter(match=self.keys.pattern("task:*"), count=1000):
            if key.count(":") == 1:
                truth[str(self.sync.hget(key, "state") or "?")] += 1
        for state in TaskState:
            counter = int(self.sync.get(self.keys.state_counter(state)) or 0)
            assert counter == truth[state.value], f"{state}: counter {counter}"
        assert truth == Counter(m.state.value for m in self.tasks.values())

    @invariant()
    def each_id_sits_where_its_state_says(self) -> None:
        k, sync = self.keys, self.sync
        assert self.keys.queue_keys("default").primary == k.primary  # the original's keys
        for queue in QUEUES:
            primary = k.queue_keys(queue).primary
            assert strings(reversed(strings(sync.lrange(primary, 0, -1)))) == self.primary[queue]
            assert self.retry_list(queue) == self.retry[queue]
        scheduled = set(sync.zrange(k.scheduled, 0, -1))
        dlq = strings(sync.lrange(k.dlq, 0, -1))
        leased = set(sync.zrange(k.leases, 0, -1))
        active = Counter(
            i for w in (*WORKERS, "w3") for i in sync.smembers(k.worker_active_tasks(w))
        )
        assert scheduled == set(self.in_state(TaskState.SCHEDULED))
        assert sorted(dlq) == sorted(self.in_state(TaskState.DLQ))
        assert all(sync.exists(k.dlq_task(i)) for i in dlq)
        assert leased == set(self.in_state(TaskState.ACTIVE))
        marked = {i for i, m in self.tasks.items() if m.cancel_requested}
        assert set(sync.smembers(k.cancelling)) == marked
        assert marked <= set(self.in_state(TaskState.ACTIVE))
        assert active == Counter(self.in_state(TaskState.ACTIVE))
        for task_id, model in self.tasks.items():
            assert sync.hget(k.task(task_id), "state") == model.state.value
            assert int(sync.hget(k.task(task_id), "retry_count") or 0) == model.retry_count
            # A default-queue hash is the original's: no queue_name field.
            assert sync.hget(k.task(task_id), "queue_name") == (
                None if model.queue == "default" else model.queue
            )
            task = self.run(self.store.get(task_id))
            assert task.state is model.read_state
            assert len(task.state_history) == model.transitions + model.due
            assert task.state_history[-1].state == model.read_state.value

    @invariant()
    def status_matches_the_model(self) -> None:
        status = self.run(self.store.status())
        read = Counter(m.read_state for m in self.tasks.values())
        assert status.states == {s: read[s] for s in TaskState}
        # Due retries count in the retry depth before promotion moves them there.
        due = sum(1 for m in self.tasks.values() if m.due and m.queue == "default")
        depths = (status.queues.primary, status.queues.retry)
        assert depths == (len(self.primary["default"]), len(self.retry["default"]) + due)


def test_store_state_machine(redis_server: BundledRedis) -> None:
    StoreMachine.url = redis_server.url
    machine = StoreMachine.TestCase
    machine.settings = settings(
        max_examples=40,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine().runTest()
