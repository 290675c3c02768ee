"""TaskStore: every task operation, each state change one atomic Lua script."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from taskflow.errors import (
    Conflict,
    CorruptTask,
    InvalidInput,
    LeaseLost,
    NotFound,
    TaskflowError,
    quoted,
)
from taskflow.queue_spec import QUEUE_NAME
from taskflow.store.config import StoreConfig
from taskflow.store.due import (
    as_read,
    ask_list_depths,
    list_depths,
    redis_now_ms,
    with_redis_now_ms,
)
from taskflow.store.event_stream import ORIGIN
from taskflow.store.keys import DEFAULT_QUEUE, Keys
from taskflow.store.listing import TaskLister, pending_since
from taskflow.store.models import (
    PRIORITIES,
    ClaimBatch,
    ClaimedTask,
    Created,
    NewTask,
    QueueDepths,
    QueueName,
    QueueStatus,
    Task,
    TaskPage,
    TaskQuery,
    TaskState,
)
from taskflow.store.replies import text as _text
from taskflow.store.scripts import Scripts

# Lua scripts fail with a leading code word (lua/_prelude.lua fail_with).
_ERRORS: dict[str, type[Exception]] = {
    "NOTFOUND": NotFound,
    "CONFLICT": Conflict,
    "LEASELOST": LeaseLost,
    "CORRUPT": CorruptTask,
}
# Bulk operations work through big sets in slices so no script blocks Redis long.
_SLICE = 500


def domain_error(exc: ResponseError) -> Exception:
    """The domain error a script's error reply stands for (the reply itself if none)."""
    code, _, message = str(exc).partition(" ")
    error = _ERRORS.get(code)
    return error(message.split(" script:")[0]) if error else exc


def create_arguments(tasks: Sequence[NewTask], config: StoreConfig) -> list[Any]:
    """lua/create.lua's ARGV after the prefix, for `tasks` (checked, each a new id):
    the idempotency TTL, the batch as one JSON argument, then the payloads.
    One JSON argument is encoded in C, where ten protocol arguments per task cost
    redis-py's pure-Python packing."""
    rows: list[list[str]] = []
    payloads: list[bytes] = []
    for task, task_id in zip(tasks, new_task_ids(len(tasks)), strict=True):
        _check_new(task)
        row = [
            task_id,
            task.task_type,
            task.content,
            json.dumps(dict(task.metadata)) if task.metadata else "{}",
            str(task.max_retries),
            str(task.priority),
            task.idempotency_key,
            "" if task.run_at is None else str(int(task.run_at.timestamp() * 1000)),
            task.queue,
            str(task.retention_s),
        ]
        if task.payload:
            row.append("1")
            payloads.append(task.payload)
        rows.append(row)
    return [config.idempotency_ttl_s, json.dumps(rows, ensure_ascii=False), *payloads]


def created_from(flat: Sequence[Any]) -> list[Created]:
    """lua/create.lua's reply: (id, created, state) per task, flat."""
    return [
        Created(_text(flat[i]), flat[i + 1] == 1, TaskState(_text(flat[i + 2])))
        for i in range(0, len(flat), 3)
    ]


def _task_of(task_id: str, raw: Any, now_ms: int) -> Task:
    """The task as read at Redis time `now_ms`: due means PENDING."""
    if not raw:
        raise NotFound(f"task {task_id} does not exist")
    return Task.from_hash(as_read({_text(k): _text(v) for k, v in raw.items()}, now_ms))


def _snapshot_in_one_call(client: Redis, prefix: str) -> bool:
    """Whether one script may read both the event stream and a task's hash: always
    on one server; on a Redis Cluster only under a prefix with a hash tag (every
    key in its slot), else the two may live on different nodes."""
    if not isinstance(client, RedisCluster):
        return True
    start = prefix.find("{")
    return start >= 0 and prefix.find("}", start + 1) > start + 1


def new_task_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, from one read of the OS's random
    source: uuid.uuid4() reads it and builds a UUID object per id, a few µs each,
    which a batch of 500 creates pays 500 times."""
    raw = bytearray(os.urandom(16 * count))
    ids = []
    for start in range(0, len(raw), 16):
        raw[start + 6] = (raw[start + 6] & 0x0F) | 0x40  # version 4
        raw[start + 8] = (raw[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw[start : start + 16].hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


def check_task_id(task_id: str) -> str:
    """Task ids are UUID strings; anything else is refused before Redis is asked."""
    try:
        return str(uuid.UUID(task_id))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"task_id {quoted(task_id)} is not a UUID") from None


# Longest progress message kept (longer ones are cut).
PROGRESS_MESSAGE_MAX = 200


class TaskStore:
    """Tasks in Redis: create, claim, finish, retry, delete, list."""

    def __init__(self, client: Redis, config: StoreConfig | None = None) -> None:
        self.client = client
        self.config = config or StoreConfig()
        self.keys = Keys(self.config.prefix)
        self._scripts = Scripts(client, functions=self.config.functions)
        self._lister = TaskLister(client, self.keys)

    async def _run(self, name: str, key: str, *args: Any) -> Any:
        try:
            return await self._scripts[name](keys=[key], args=[self.config.prefix, *args])
        except ResponseError as exc:
            raise domain_error(exc) from None

    # --- creating -----------------------------------------------------------------

    async def create(self, task: NewTask) -> Created:
        return (await self.create_many([task]))[0]

    async def create_many(self, tasks: Sequence[NewTask]) -> list[Created]:
        """Create tasks in one round trip: each PENDING in the primary queue after it,
        or SCHEDULED when its run time is still ahead by the Redis clock."""
        if not tasks:
            return []
        args = create_arguments(tasks, self.config)
        return created_from(await self._run("create", self.keys.primary, *args))

    # --- working on tasks (executors) ---------------------------------------------------

    async def run_script(self, name: str, key: str, *args: Any) -> Any:
        """Run one of the store's scripts (for the store's other modules)."""
        return await self._run(name, key, *args)

    async def claim(
        self,
        worker_id: str,
        max_tasks: int = 1,
        *,
        queues: Sequence[tuple[str, int]] = ((DEFAULT_QUEUE, 1),),
        task_types: Sequence[str] = (),
    ) -> ClaimBatch:
        """Take up to `max_tasks` PENDING tasks for `worker_id`, each under a lease,
        from `queues` (name, weight: its share of the claims). With `task_types`, only
        tasks of those types: others wait in their queue for a claimer that runs them
        (docs/state-machine.md, Queues)."""
        args = self._claim_args(worker_id, max_tasks, queues, task_types)
        return claimed_tasks(await self._run("claim", *args))

    def _claim_args(
        self,
        worker_id: str,
        max_tasks: int,
        queues: Sequence[tuple[str, int]],
        task_types: Sequence[str],
    ) -> list[Any]:
        """claim.lua's key and arguments after the prefix."""
        ratio = self.config.retry_ratio
        return [
            self.keys.primary,
            worker_id,
            max_tasks,
            self.config.lease_ms,
            random.random(),
            ratio.default,
            ratio.warning_length,
            ratio.at_warning,
            ratio.critical_length,
            ratio.at_critical,
            self.config.lower_priority_every,
            len(task_types),
            *task_types,
            *(v for name, weight in queues for v in (check_queue_name(name), weight)),
        ]

    async def complete(self, claim: ClaimedTask, result: str) -> None:
        """ACTIVE -> COMPLETED; LeaseLost if this worker no longer holds the task."""
        (outcome,) = await self.complete_many([(claim, result)])
        if outcome is not None:
            raise outcome

    async def complete_many(
        self, finished: Sequence[tuple[ClaimedTask, str]]
    ) -> list[TaskflowError | None]:
        """Complete a batch in one round trip; per task None, or the error it met."""
        if not finished:
            return []
        codes = await self._run("complete", self.keys.primary, *_completion_args(finished))
        return _outcomes(codes, finished)

    async def complete_and_claim(
        self,
        finished: Sequence[tuple[ClaimedTask, str]],
        worker_id: str,
        max_tasks: int,
        *,
        queues: Sequence[tuple[str, int]] = ((DEFAULT_QUEUE, 1),),
        task_types: Sequence[str] = (),
    ) -> tuple[list[TaskflowError | None] | Exception, ClaimBatch | Exception]:
        """complete_many(finished) then claim(...) in one script call
        (complete_and_claim.lua): each task's change atomic as when sent apart, the
        call's fixed cost paid once. Each part's answer, or the exception that part
        met (the other one still counts)."""
        key, *claim_args = self._claim_args(worker_id, max_tasks, queues, task_types)
        codes, rows = await self._run(
            "complete_and_claim",
            key,
            len(finished),
            *_completion_args(finished),
            *claim_args,
        )
        return (
            _part_error(codes) or _outcomes(codes, finished),
            _part_error(rows) or claimed_tasks(rows),
        )

    async def fail(
        self,
        claim: ClaimedTask,
        error: str,
        error_type: str,
        *,
        permanent: bool,
        retry_delay_s: float = 0.0,
        consumes_retry: bool = True,
        exception: str = "",
        traceback: str = "",
    ) -> TaskState:
        """ACTIVE -> SCHEDULED (after `retry_delay_s`) or -> DLQ; returns the new state.

        `consumes_retry=False` (a call that was never attempted) reschedules without
        counting a retry, so it never sends the task to the DLQ. `exception` and
        `traceback` (an unexpected exception's class and the end of its traceback)
        go into the error_history entry."""
        state = await self._run(
            "fail",
            self.keys.primary,
            claim.task_id,
            claim.lease_token,
            error,
            error_type,
            "1" if permanent else "0",
            int(retry_delay_s * 1000),
            "1" if consumes_retry else "0",
            exception,
            traceback,
        )
        return TaskState(_text(state))

    async def park(self, claim: ClaimedTask, delay_s: float, reason: str) -> None:
        """ACTIVE -> SCHEDULED for `delay_s`, no retry spent and no failure recorded:
        the task was held back, not failed (`reason` goes into its state history)."""
        await self._run(
            "park",
            self.keys.scheduled,
            claim.task_id,
            claim.lease_token,
            int(delay_s * 1000),
            reason,
        )

    async def release(self, claims: Iterable[ClaimedTask]) -> int:
        """Hand unfinished tasks back to the head of their queue (graceful shutdown)."""
        args = [v for c in claims for v in (c.task_id, c.lease_token)]
        if not args:
            return 0
        return int(await self._run("release", self.keys.primary, *args))

    async def renew(self, claims: Iterable[ClaimedTask]) -> list[str]:
        """Extend leases; returns the ids this worker no longer holds."""
        args = [v for c in claims for v in (c.task_id, c.lease_token)]
        if not args:
            return []
        lost = await self._run("renew", self.keys.primary, self.config.lease_ms, *args)
        return [_text(i) for i in lost]

    async def payload(self, task_id: str) -> bytes:
        """The binary input stored beside a task (e.g. a PDF); b'' when it has none."""
        value = await self.client.get(self.keys.payload(check_task_id(task_id)))
        return value.encode() if isinstance(value, str) else bytes(value or b"")

    # --- background duties (schedulers) ----------------------------------------------

    async def promote_due(self, limit: int = 1000, budget_ms: int = 20) -> tuple[int, float | None]:
        """Move due SCHEDULED tasks onto their lists (promote.lua, one call: at most
        `limit` of them, stopping once it used about `budget_ms` of server CPU);
        returns (moved, seconds to the next due one: 0 when more are due now)."""
        moved, wait_ms = await self._run("promote", self.keys.scheduled, limit, budget_ms)
        return int(moved), (None if wait_ms < 0 else wait_ms / 1000)

    async def reap_expired(self, limit: int = 1000) -> tuple[int, int, int]:
        """Requeue tasks whose lease expired; returns (requeued, sent to the DLQ,
        cancelled: a client had asked to cancel them)."""
        requeued, dead, cancelled = await self._run("reap", self.keys.leases, limit)
        return int(requeued), int(dead), int(cancelled)

    async def expire_due(self, limit: int = 500) -> tuple[int, int, float | None]:
        """Delete terminal tasks whose retention ran out (expire.lua, one call per
        batch); returns (deleted, due ids looked at, seconds to the next expiry)."""
        expired, looked, wait_ms = await self._run("expire", self.keys.expiry, limit)
        return int(expired), int(looked), (None if wait_ms < 0 else wait_ms / 1000)

    async def requeue_orphans(self) -> tuple[int, int]:
        holders = self.keys.worker_active_tasks("")
        workers = [
            _text(key)[len(holders) :] async for key in self.client.scan_iter(match=f"{holders}*")
        ]
        found, requeued = await self._run("requeue_orphans", self.keys.primary, *workers)
        return int(found), int(requeued)

    # --- managing tasks ----------------------------------------------------------------

    async def get(self, task_id: str) -> Task:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.task(check_task_id(task_id)))
            (raw,), now = await with_redis_now_ms(self.client, pipe)
        return _task_of(task_id, raw, now)

    async def get_after_latest_event(self, task_id: str) -> tuple[str, Task]:
        """The id of the newest event kept, then the task, in one round trip (a
        watch's snapshot). Read in that order, a change landing between the two is
        in the task and also after the id: sent again on resume, never lost.
        One read-only call (lua/watch_snapshot.lua) where the stream and the hash
        share a slot; a pipeline where they may not (a cluster, a prefix without a
        hash tag)."""
        task_key = self.keys.task(check_task_id(task_id))
        if not _snapshot_in_one_call(self.client, self.config.prefix):
            return await self._snapshot_pipelined(task_id, task_key)
        newest, now, *flat = await self._scripts["watch_snapshot"](
            keys=[self.keys.events, task_key], args=[self.config.prefix]
        )
        if not flat:
            raise NotFound(f"task {task_id} does not exist")
        it = iter(flat)
        raw = {_text(k): _text(v) for k, v in zip(it, it, strict=True)}
        return (_text(newest) or ORIGIN), Task.from_hash(as_read(raw, int(now)))

    async def _snapshot_pipelined(self, task_id: str, task_key: str) -> tuple[str, Task]:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.xrevrange(self.keys.events, count=1)
            pipe.hgetall(task_key)
            (entries, raw), now = await with_redis_now_ms(self.client, pipe)
        return (_text(entries[0][0]) if entries else ORIGIN), _task_of(task_id, raw, now)

    async def retry(self, task_id: str, *, reset_retry_count: bool = False) -> None:
        """FAILED or DLQ -> PENDING (retry queue); Conflict in any other state."""
        await self._run(
            "retry", self.keys.retry, check_task_id(task_id), "1" if reset_retry_count else "0"
        )

    async def cancel(self, task_id: str) -> TaskState:
        """PENDING/SCHEDULED -> CANCELLED; an ACTIVE task is marked for its worker to
        stop (returns ACTIVE). Conflict for a task that already ended."""
        return TaskState(
            _text(await self._run("cancel", self.keys.primary, check_task_id(task_id)))
        )

    async def cancel_where(
        self, states: Iterable[TaskState], task_type: str | None, queue: str | None = None
    ) -> tuple[int, int]:
        """Cancel every task in `states` (of `task_type`, in `queue`) that exists now;
        returns (made CANCELLED, ACTIVE ones marked). The queue is checked by the
        cancel script itself, so a task moved meanwhile is judged where it is."""
        only_queue = queue or ""
        before = datetime.now(UTC)
        cancelled = marked = 0
        for state in states:
            if state is TaskState.ACTIVE:
                # Marked tasks stay ACTIVE (in the index): page through them once.
                offset = 0
                while ids := await self._lister.ids_in_state(
                    state, before, _SLICE, task_type=task_type, offset=offset
                ):
                    done, _ = await self._each_counting(
                        ids, "cancel", self.keys.primary, only_queue
                    )
                    marked += done
                    offset += len(ids)
                continue
            offset = 0
            while ids := await self._lister.ids_in_state(
                state, before, _SLICE, task_type=task_type, offset=offset
            ):
                done, elsewhere = await self._each_counting(
                    ids, "cancel", self.keys.primary, only_queue
                )
                cancelled += done
                # Tasks of other queues stay in this state's index: page past them.
                offset += elsewhere
        return cancelled, marked

    async def cancel_requested(self, task_ids: Sequence[str]) -> set[str]:
        """Which of these (ACTIVE) tasks a client asked to cancel (workers poll this)."""
        if not task_ids:
            return set()
        flags = await self.client.smismember(self.keys.cancelling, list(task_ids))
        return {task_id for task_id, flag in zip(task_ids, flags, strict=True) if flag}

    async def cancelled(self, claim: ClaimedTask) -> None:
        """ACTIVE -> CANCELLED once the handler stopped; LeaseLost if this worker no
        longer holds the task (it finished or was requeued meanwhile)."""
        (code,) = await self._run("cancelled", self.keys.primary, claim.task_id, claim.lease_token)
        outcome = _outcome(_text(code), claim)
        if outcome is not None:
            raise outcome

    async def progress(self, claim: ClaimedTask, fraction: float, message: str = "") -> None:
        """Store how far a running task is (0..1 and a short message) and append a
        `task_progress` event to the events stream; LeaseLost if no longer held.
        Callers throttle (the executor: at most twice a second per task)."""
        if not 0.0 <= fraction <= 1.0:
            raise InvalidInput("progress fraction must be between 0 and 1")
        code = await self._run(
            "progress",
            self.keys.primary,
            claim.task_id,
            claim.lease_token,
            repr(float(fraction)),
            message[:PROGRESS_MESSAGE_MAX],
        )
        outcome = _outcome(_text(code), claim)
        if outcome is not None:
            raise outcome

    async def delete(self, task_id: str) -> TaskState | None:
        """Delete a task in any state; returns the state it was in. A malformed hash
        (what a claim sets aside in tasks:corrupt) goes too, with every entry that may
        name it (lua/_remove_malformed.lua): None when its state field is no state."""
        old = _text(await self._run("delete", self.keys.primary, check_task_id(task_id)))
        return TaskState(old) if old else None

    async def delete_where(
        self, states: Iterable[TaskState], created_before: datetime | None
    ) -> int:
        """Delete every task in `states` created before `created_before` (all if None)."""
        deleted = 0
        for state in states:
            while ids := await self._lister.ids_in_state(state, created_before, _SLICE):
                deleted += await self._each(ids, "delete", self.keys.primary)
        return deleted

    async def retry_all_dlq(self, *, reset_retry_count: bool = False) -> int:
        ids = await self.queue_heads(QueueName.DLQ, limit=None)
        flag = "1" if reset_retry_count else "0"
        return await self._each(ids, "retry", self.keys.retry, flag)

    async def purge_dlq(self) -> int:
        return await self.delete_where([TaskState.DLQ], None)

    async def _each(self, ids: Sequence[str], script: str, key: str, *extra: Any) -> int:
        """Run one script per id, pipelined; ids that changed meanwhile are skipped."""
        done, _ = await self._each_counting(ids, script, key, *extra)
        return done

    async def _each_counting(
        self, ids: Sequence[str], script: str, key: str, *extra: Any
    ) -> tuple[int, int]:
        """As `_each`; also how many were refused for being in another queue."""
        done = other_queue = 0
        prefix = self.config.prefix
        for start in range(0, len(ids), _SLICE):
            batch = ids[start : start + _SLICE]
            results = await self._scripts.pipelined(
                [(script, [key], [prefix, task_id, *extra]) for task_id in batch]
            )
            done += sum(1 for r in results if not isinstance(r, Exception))
            other_queue += sum(1 for r in results if str(r).startswith("OTHERQUEUE"))
        return done, other_queue

    # --- reading -------------------------------------------------------------------------

    async def status(self) -> QueueStatus:
        """Depths and state counts in O(1), whatever the number of tasks. Due means
        PENDING (taskflow/store/due.py): due SCHEDULED tasks count as PENDING, and in
        the depth of the list they are bound for (lua/_prelude.lua snapshot())."""
        k = self.keys
        q = k.queue_keys(DEFAULT_QUEUE)
        now = await redis_now_ms(self.client)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zcard(k.scheduled)
            pipe.zcount(k.scheduled, "-inf", now)
            pipe.llen(k.dlq)
            pipe.llen(k.corrupt)
            # One GET per counter, not MGET: cluster pipelines refuse multi-key commands.
            for state in TaskState:
                pipe.get(k.state_counter(state))
            ask_list_depths(pipe, q.pending_lists, now)
            scheduled, due, dlq, corrupt, *rest = await pipe.execute()
        counts, by_list = rest[: len(TaskState)], list_depths(rest[len(TaskState) :])
        states = {s: int(c or 0) for s, c in zip(TaskState, counts, strict=True)}
        states[TaskState.SCHEDULED] -= due
        states[TaskState.PENDING] += due
        retry = by_list[-1]
        return QueueStatus(
            queues=QueueDepths(sum(by_list[:-1]), retry, scheduled - due, dlq),
            states=states,
            retry_ratio=self.config.retry_ratio.for_length(retry),
            corrupt=int(corrupt),
        )

    async def waiting_since(self) -> dict[QueueName, datetime | None]:
        """When the task that has waited longest in each pending queue (primary, all
        its priority levels; retry) became PENDING as reads show it (a due entry: at
        its due time, due means PENDING); None for an empty queue. Its age is how
        far the queue lags."""
        since: dict[QueueName, datetime | None] = {}
        for queue in (QueueName.PRIMARY, QueueName.RETRY):
            oldest = await self._lister.oldest_pending(queue)
            since[queue] = pending_since(oldest) if oldest else None
        return since

    async def list_tasks(self, query: TaskQuery) -> TaskPage:
        return await self._lister.page(query)

    async def queue_heads(self, queue: QueueName, limit: int | None = 10) -> list[str]:
        """Ids at the head of a queue, next-out first (scheduled: soonest due first)."""
        return await self._lister.queue_ids(queue, 0, limit)

    async def dlq_tasks(self, limit: int = 100) -> list[Task]:
        return await self._lister.load(await self.queue_heads(QueueName.DLQ, limit))


def claimed_tasks(flat: Sequence[Any]) -> ClaimBatch:
    """What claim.lua returns (six values a task, one flat list, and when its lists
    ran dry the ms until the next scheduled task is due), as a ClaimBatch."""
    batch = ClaimBatch(
        ClaimedTask(
            task_id=flat[i + 1].decode(),
            task_type=flat[i + 2].decode(),
            retry_count=int(flat[i + 3]),
            content=flat[i + 4].decode(),
            metadata_json=flat[i + 5].decode(),
            lease_token=flat[i].decode(),
        )
        for i in range(0, len(flat) - len(flat) % 6, 6)
    )
    if len(flat) % 6:
        batch.drained = True
        due_in_ms = int(flat[-1])
        batch.next_due_in_s = due_in_ms / 1000 if due_in_ms > 0 else None
    return batch


def _part_error(part: Any) -> Exception | None:
    """The error a part of complete_and_claim.lua met (its reply is then the
    error's text), as the domain error a call of its own would have raised."""
    if isinstance(part, bytes | str):
        return domain_error(ResponseError(_text(part)))
    return None


def _completion_args(finished: Sequence[tuple[ClaimedTask, str]]) -> list[str]:
    return [v for claim, result in finished for v in (claim.task_id, claim.lease_token, result)]


def _outcomes(
    codes: Sequence[bytes], finished: Sequence[tuple[ClaimedTask, str]]
) -> list[TaskflowError | None]:
    return [_outcome(_text(code), claim) for code, (claim, _) in zip(codes, finished, strict=True)]


def _outcome(code: str, claim: ClaimedTask) -> TaskflowError | None:
    if code == "OK":
        return None
    task_id = claim.task_id
    if code == "NOTFOUND":
        return NotFound(f"task {quoted(task_id)} does not exist")
    return LeaseLost(f"task {task_id} is no longer held with this lease")


def _check_new(task: NewTask) -> None:
    if not task.task_type or not task.task_type.replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(f"task_type {quoted(task.task_type)} must be a non-empty identifier")
    if task.max_retries < 0:
        raise InvalidInput("max_retries must be >= 0")
    if task.priority not in PRIORITIES:
        raise InvalidInput(f"priority must be between 0 and {PRIORITIES[-1]}")
    if len(task.idempotency_key) > 200:
        raise InvalidInput("idempotency_key must be at most 200 characters")
    if task.queue:
        check_queue_name(task.queue)


def check_queue_name(name: str) -> str:
    """Queue names are short identifiers (they become part of a Redis key):
    lower-case letters, digits, `_` and `-`, 1 to 64 of them."""
    if not QUEUE_NAME.fullmatch(name):
        raise InvalidInput(f"queue {quoted(name)} must match [a-z0-9_-]{{1,64}}")
    return name
