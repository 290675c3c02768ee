"""The Lua scripts (each a file in lua/, with the shared prelude), as one Valkey/Redis
function library loaded once per server, called with FCALL.

The library (`library()`) is the prelude once, then per script its includes and its
body wrapped as a function that first runs the prelude's per-call setup
(begin_call). So the prelude's helpers are built once, at FUNCTION LOAD, instead of
on every call as EVALSHA of the whole text did. The library's name and its
functions' names carry a hash of every source file: a service of another version
finds no function of this one ("Function not found") and loads its own beside it,
so two versions never run each other's code.

A server that lost the library (a restart without persistence, FUNCTION FLUSH, a
new cluster node) answers "Function not found" having run nothing: it is loaded
(FUNCTION LOAD REPLACE) and the call sent again, as redis-py does on NOSCRIPT. A
server without functions (Redis 6: "unknown command") or a user not allowed to
load them gets the same scripts by EVALSHA, each text the prelude, its includes,
begin_call and the body (`script_source`); `Scripts(client, functions=False)`
forces that path.

On a Redis Cluster the library (or script text) differs in one line: it publishes
every event on the `queue-updates` channel, where on one server it publishes only
while someone is subscribed (lua/_prelude.lua, heard()): a cluster delivers a
message to the subscribers of every node, but a node counts only its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

SCRIPT_NAMES = (
    "create",
    "claim",
    "complete",
    "complete_and_claim",
    "fail",
    "park",
    "release",
    "renew",
    "promote",
    "reap",
    "retry",
    "delete",
    "requeue_orphans",
    "cancel",
    "cancelled",
    "progress",
    "schedule_fire",
    "expire",
    "log_append",
    "log_read",
    "limits_started",
    "limits_read",
    "breaker_acquire",
    "breaker_record",
    "breaker_admin",
    "breaker_read",
    "rate_limit_acquire",
    "rate_limit_send",
    "watch_snapshot",
)
# Shared Lua a script needs besides the prelude, put between the two.
INCLUDES = {
    "create": ("_create_task",),
    "schedule_fire": ("_create_task",),
    "delete": ("_remove_task", "_remove_malformed"),
    "expire": ("_remove_task",),
    # Per-type limits (lua/_limits.lua): claims admit each candidate through them
    # (before _claim_due, which uses them too).
    "claim": ("_limits", "_claim_due", "_claim"),
    "complete": ("_complete",),
    "complete_and_claim": ("_limits", "_claim_due", "_claim", "_complete"),
    "limits_started": ("_limits",),
    "limits_read": ("_limits",),
    "breaker_acquire": ("breaker_common",),
    "breaker_record": ("breaker_common",),
    "breaker_admin": ("breaker_common",),
    "breaker_read": ("breaker_common",),
    "rate_limit_acquire": ("rate_limit_common",),
    "rate_limit_send": ("rate_limit_common",),
}
# Scripts that never write: registered `no-writes` and called with FCALL_RO (a
# replica may serve them).
READ_ONLY = frozenset({"log_read", "breaker_read", "watch_snapshot"})
# A script call: its name, keys and arguments.
Call = tuple[str, Sequence[Any], Sequence[Any]]
# How the prelude's per-call setup is called (lua/_prelude.lua, begin_call).
_BEGIN = "begin_call({argv}, {hooks})"
# After the prelude, for a cluster: publish every event (lua/_prelude.lua, heard()).
_CLUSTER = "PUBLISH_ALWAYS = true"


@cache
def _part(name: str) -> str:
    return (resources.files("taskflow.store") / "lua" / f"{name}.lua").read_text()


def _prelude(cluster: bool) -> list[str]:
    return [_part("_prelude"), _CLUSTER] if cluster else [_part("_prelude")]


@cache
def script_source(name: str, cluster: bool = False) -> str:
    """The text EVALSHA runs for `name` (servers without functions): prelude, its
    includes, the per-call setup, then the script."""
    parts = [*_prelude(cluster), *(_part(i) for i in INCLUDES.get(name, ())), _part(name)]
    parts.insert(-1, _BEGIN.format(argv="ARGV", hooks="CALL_HOOKS"))
    return "\n".join(parts)


@dataclass(frozen=True)
class Library:
    name: str  # taskflow_<version>
    functions: dict[str, str]  # script name -> function name
    source: str  # what FUNCTION LOAD gets


@cache
def library(cluster: bool = False) -> Library:
    """Every script as one function library, named after a hash of all the sources
    (and of the cluster line, for a cluster's)."""
    sources = ["_prelude", *sorted({i for v in INCLUDES.values() for i in v}), *SCRIPT_NAMES]
    digest = hashlib.sha1()
    for name in sources:
        digest.update(name.encode() + b"\0" + _part(name).encode() + b"\0")
    if cluster:
        digest.update(_CLUSTER.encode())
    version = digest.hexdigest()[:16]
    lib = f"taskflow_{version}"
    functions = {name: f"{lib}_{name}" for name in SCRIPT_NAMES}
    lines = [f"#!lua name={lib}", *_prelude(cluster)]
    for name in SCRIPT_NAMES:
        flags = ", flags = { 'no-writes' }" if name in READ_ONLY else ""
        lines += [
            f"do -- {name}",
            "local hooks = new_call_hooks()",
            *(_part(i) for i in INCLUDES.get(name, ())),
            "local function run(KEYS, ARGV)",
            _part(name),
            "end",
            f"redis.register_function{{ function_name = '{functions[name]}',",
            "  callback = function(keys, args) "
            + _BEGIN.format(argv="args", hooks="hooks")
            + f" return run(keys, args) end{flags} }}",
            "end",
        ]
    return Library(lib, functions, "\n".join(lines))


def _missing_function(error: BaseException) -> bool:
    return isinstance(error, ResponseError) and "function not found" in str(error).lower()


def _no_functions(error: BaseException) -> bool:
    """A server (or user) that cannot load or call functions: Redis 6, an ACL."""
    text = str(error).lower()
    return isinstance(error, ResponseError) and ("unknown command" in text or "noperm" in text)


class Script:
    """One script, called as redis-py's Script is: `await script(keys=[..], args=[..])`."""

    def __init__(self, scripts: Scripts, name: str) -> None:
        self._scripts = scripts
        self.name = name

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return await self._scripts.call(self.name, keys, args)


class Scripts:
    """The store's scripts bound to a client: FCALL of the function library, or
    EVALSHA where the server has no functions (or `functions=False`)."""

    def __init__(self, client: Redis, *, functions: bool = True) -> None:
        self.client = client
        self.functions = functions
        self._cluster = isinstance(client, RedisCluster)
        self._library = library(self._cluster)
        self._evalsha: dict[str, AsyncScript] = {}

    def __getitem__(self, name: str) -> Script:
        if name not in self._library.functions:
            raise KeyError(name)
        return Script(self, name)

    def _script(self, name: str) -> AsyncScript:
        found = self._evalsha.get(name)
        if found is None:
            found = self.client.register_script(script_source(name, self._cluster))
            self._evalsha[name] = found
        return found

    async def load(self) -> None:
        """Load the library (REPLACE: a half-loaded or older copy of this version
        is replaced); on a server without functions, use EVALSHA from now on."""
        try:
            await self.client.function_load(self._library.source, replace=True)
        except ResponseError as error:
            if not _no_functions(error):
                raise
            self.functions = False

    def _fcall(self, client: Any, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        command = client.fcall_ro if name in READ_ONLY else client.fcall
        return command(self._library.functions[name], len(keys), *keys, *args)

    async def call(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run script `name`; loads the library once if the server lacks it."""
        if self.functions:
            try:
                return await self._fcall(self.client, name, keys, args)
            except ResponseError as error:
                if _no_functions(error):
                    self.functions = False
                elif _missing_function(error):
                    await self.load()  # which may find the server has no functions
                else:
                    raise
            if self.functions:
                return await self._fcall(self.client, name, keys, args)
        return await self._script(name)(keys=list(keys), args=list(args))

    async def pipelined(self, calls: Sequence[Call]) -> list[Any]:
        """Run calls (script name, keys, args) in one pipeline (not a transaction);
        each reply, or the ResponseError it met. A call the server could not run
        (no library, NOSCRIPT: it ran nothing) is sent again on its own, which
        loads what is missing. A lost connection raises, as a single call would.
        Cluster pipelines refuse script calls: there the calls go concurrently."""
        if isinstance(self.client, RedisCluster):
            return list(await asyncio.gather(*(self._answer(*call) for call in calls)))
        async with self.client.pipeline(transaction=False) as pipe:
            for name, keys, args in calls:
                if self.functions:
                    self._fcall(pipe, name, keys, args)
                else:
                    pipe.evalsha(self._script(name).sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
        results: list[Any] = []
        for (name, keys, args), reply in zip(calls, replies, strict=True):
            if isinstance(reply, NoScriptError) or (
                isinstance(reply, ResponseError)
                and (_missing_function(reply) or _no_functions(reply))
            ):
                reply = await self._answer(name, keys, args)
            results.append(reply)
        return results

    async def _answer(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            return await self.call(name, keys, args)
        except ResponseError as error:
            return error


def ran_nothing(error: BaseException) -> bool:
    """An FCALL the server refused without running anything: the library is not
    loaded there, or the server (or user) cannot call functions."""
    return _missing_function(error) or _no_functions(error)
