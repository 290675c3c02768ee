"""Opt-in synchronous replication: every Lua script call waits for replicas (WAIT).

Each task state change is one Lua script, so waiting after every EVALSHA means a
change its caller saw succeed is on that many replicas too, and a Sentinel failover
to one of them keeps it. WAIT covers the writes sent on its own connection, so the
script and its WAIT always travel together in one pipeline.

When too few replicas answer within the timeout the change stands on the master
alone (as with plain asynchronous replication) and a warning is logged: a replica
outage slows the system down but does not stop it. Operators who prefer refusing
writes then set the server's own `min-replicas-to-write`.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)
# Commands that may change data from a script; EVALSHA_RO and EVAL_RO cannot.
_SCRIPT_CALLS = frozenset({"EVALSHA", "EVAL", "FCALL"})


def _is_script_call(args: tuple[Any, ...]) -> bool:
    name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    return name.upper() in _SCRIPT_CALLS


def _check_acks(acked: Any, wanted: int) -> None:
    if isinstance(acked, Exception):
        raise acked
    if int(acked) < wanted:
        log.warning("event=replica_ack_missing wanted=%d acked=%d", wanted, int(acked))


class ReplicaAckedRedis(Redis):
    """A client whose script calls return once `replicas` replicas confirmed them.

    Set `replicas` and `timeout_ms` on the instance after creating it (the Sentinel
    and URL factories build clients through `from_pool`/`from_url`).
    """

    replicas: int = 1
    timeout_ms: int = 500

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if not _is_script_call(args):
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        async with super().pipeline(transaction=False) as pipe:
            pipe.execute_command(*args, **options)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            # Errors come back as values, unannotated: the store reads their text.
            result, acked = await pipe.execute(raise_on_error=False)
        if isinstance(result, Exception):
            raise result
        _check_acks(acked, self.replicas)
        return result

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = ReplicaAckedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.replicas, pipe.timeout_ms = self.replicas, self.timeout_ms
        return pipe


class ReplicaAckedPipeline(Pipeline):
    """A pipeline that ends with a WAIT when it carries script calls (bulk changes)."""

    replicas: int = 1
    timeout_ms: int = 500

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        scripted = any(_is_script_call(args) for args, _ in self.command_stack)
        # Inside MULTI a WAIT would not wait; no transaction here runs a script.
        if not scripted or self.is_transaction:
            return await super().execute(raise_on_error)
        wait: tuple[Any, ...] = ("WAIT", self.replicas, self.timeout_ms)
        self.command_stack.append((wait, {}))
        results = await super().execute(raise_on_error)
        acked = results.pop()
        _check_acks(acked, self.replicas)
        return results
