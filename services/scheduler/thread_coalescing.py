"""coalescing.py's rule for the thread-based server: unary creates that arrive together
reach Redis together, through the blocking client.

A create that finds no store call under way makes its own at once (a sequential
client pays nothing extra). Creates arriving meanwhile wait in their own threads;
when the call ends, the first of them leads the next call for all that waited (up
to `max_batch`), so no thread sends for others after its own answer is known. Each
task is still created atomically; each caller gets its own Created. A batch the
store refuses as a whole (a domain error) is sent again one task at a time, so only
the culprit gets the error; a failure to reach Redis, or a server that ran nothing
(NotLoaded: its callers then take the event loop's path), is every caller's.
"""

from __future__ import annotations

import threading

from services.scheduler.coalescing import MAX_BATCH
from taskflow.errors import TaskflowError
from taskflow.store import Created, NewTask
from taskflow.store.sync_create import SyncCreator


class _Waiter:
    def __init__(self, task: NewTask) -> None:
        self.task = task
        self.done = threading.Event()
        self.created: Created | None = None
        self.error: BaseException | None = None
        self.batch: list[_Waiter] = []  # set when this waiter is to lead the next call

    def outcome(self) -> Created:
        if self.error is not None:
            raise self.error
        assert self.created is not None
        return self.created


class ThreadCoalescer:
    def __init__(self, creator: SyncCreator, max_batch: int = MAX_BATCH) -> None:
        self.creator = creator
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._busy = False
        self._waiting: list[_Waiter] = []

    def create(self, task: NewTask) -> Created:
        with self._lock:
            if not self._busy:
                self._busy = True
                me = None
            else:
                me = _Waiter(task)
                self._waiting.append(me)
        if me is None:  # nothing under way: this create's own call, at once
            try:
                (created,) = self.creator.create_many([task])
                return created
            finally:
                self._hand_over()
        me.done.wait()
        if me.batch:  # this thread leads the call of those that waited with it
            try:
                _deliver(self.creator, me.batch)
            finally:
                self._hand_over()
        return me.outcome()

    def _hand_over(self) -> None:
        """The next waiting creates' first thread leads their call; none: idle."""
        with self._lock:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            if not batch:
                self._busy = False
                return
        batch[0].batch = batch
        batch[0].done.set()


def _deliver(creator: SyncCreator, batch: list[_Waiter]) -> None:
    """Every waiter of `batch` settled (the leader's own too), whatever happens."""
    try:
        created = creator.create_many([waiter.task for waiter in batch])
    except TaskflowError as error:
        if len(batch) == 1:
            _settle(batch, error)
        else:
            for one in batch:
                _deliver(creator, [one])
        return
    except Exception as error:
        _settle(batch, error)
        return
    except BaseException as error:
        _settle(batch, error)
        raise
    for waiter, result in zip(batch, created, strict=True):
        waiter.created = result
        waiter.done.set()


def _settle(batch: list[_Waiter], error: BaseException) -> None:
    for waiter in batch:
        waiter.error = error
        waiter.done.set()
