"""Loads the Lua scripts (each a file in lua/, with the shared prelude) once per client.

redis-py's Script objects call EVALSHA and reload on NOSCRIPT, so a restarted
server or a new cluster node needs nothing from us.
"""

from functools import cache
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

SCRIPT_NAMES = (
    "create",
    "claim",
    "complete",
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
)
# Shared Lua a script needs besides the prelude, put between the two.
INCLUDES = {
    "create": ("_create_task",),
    "schedule_fire": ("_create_task",),
    "delete": ("_remove_task",),
    "expire": ("_remove_task",),
    # Per-type limits (lua/_limits.lua): claims admit each candidate through them
    # (before _claim_due, which uses them too).
    "claim": ("_limits", "_claim_due"),
    "limits_started": ("_limits",),
    "limits_read": ("_limits",),
}


@cache
def script_source(name: str) -> str:
    """The full text Redis runs for `name`: prelude, its includes, then the script."""
    folder = resources.files("taskflow.store") / "lua"
    parts = ["_prelude", *INCLUDES.get(name, ()), name]
    return "\n".join((folder / f"{part}.lua").read_text() for part in parts)


class Scripts:
    """One registered script per transition, bound to a client."""

    def __init__(self, client: "Redis") -> None:
        self._scripts = {name: client.register_script(script_source(name)) for name in SCRIPT_NAMES}

    def __getitem__(self, name: str) -> AsyncScript:
        return self._scripts[name]
