"""Creating tasks through a blocking (sync) redis-py client, for a thread-based
gRPC server: the same create script, arguments and reply as TaskStore.create_many,
without an event loop between the caller and the socket (issue 19, the sequential
create: a loop's turns cost a lone create more than its Redis round trip).

Only the plain case is served here: FCALL of a library already loaded, on one
server. A call the server refused without running anything (`NotLoaded`: the
library is missing, or the server has no functions) is the caller's cue to use
the asyncio store, which loads the library or falls back to EVALSHA.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
from redis.exceptions import ResponseError

from taskflow.store.config import StoreConfig
from taskflow.store.keys import Keys
from taskflow.store.models import Created, NewTask
from taskflow.store.scripts import library, ran_nothing
from taskflow.store.tasks import create_arguments, created_from, domain_error


class NotLoaded(Exception):
    """The server ran nothing: the library is not loaded there, or it has no functions."""


class SyncCreator:
    """TaskStore.create_many over a sync client (a pool shared by threads)."""

    def __init__(self, client: redis.Redis, config: StoreConfig) -> None:
        self.client = client
        self.config = config
        self._function = library().functions["create"]
        self._primary = Keys(config.prefix).primary

    def create_many(self, tasks: Sequence[NewTask]) -> list[Created]:
        if not tasks:
            return []
        args = create_arguments(tasks, self.config)
        try:
            flat = self.client.fcall(self._function, 1, self._primary, self.config.prefix, *args)
        except ResponseError as error:
            if ran_nothing(error):
                raise NotLoaded(str(error)) from None
            raise domain_error(error) from None
        return created_from(flat)
