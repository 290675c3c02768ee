"""redis-py connections that send a command without a task of its own, and a pool
that hands out an idle connection without waiting machinery.

redis-py (8.x) applies its default 5 s socket timeout to every send through
`asyncio.wait_for`, which on Python 3.11 wraps the send in a new Task and costs an
extra event-loop pass: about a fifth of the instructions of a whole EVALSHA round
trip (docs/performance.md, "Create and latency, session 9"). A send almost never
waits: the transport writes to the socket at once. So these connections write, and
only when bytes are left buffered (or the connection is closing) wait for them to
drain, under the same timeout and with the same errors as redis-py's own send.
Reads are unchanged.

redis-py's BlockingConnectionPool takes every connection under an asyncio
Condition and a timeout, even when one is idle: a fifth of a command's
instructions again. `WaitingPool` takes a free one (or opens a new one below the
limit) at once, and falls back to the waiting path only when the pool is at its
limit or busy; the limit and the wait for a free connection are unchanged.

redis-py's asyncio connections pack each command in Python, argument by argument
(its sync ones use hiredis when it is installed). `hiredis.pack_command` writes the
same bytes in C: a remote worker's 50 completions and next claim in one FCALL pack in
20 µs of CPU against 102, a GET in 0.8 against 1.7 (bench/redis_pack.py). These
connections use it for commands without big values; a big value (a task's payload)
still goes through redis-py's packer, which sends it without copying it into the
command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio.connection import (
    AbstractConnection,
    BlockingConnectionPool,
    Connection,
    SSLConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Values longer than this are packed by redis-py, which does not copy them.
BIG_VALUE = 64 * 1024


class DirectSend(AbstractConnection):
    """Mixin for a redis-py asyncio connection class (see the module's text)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        for arg in args:
            kind = type(arg)
            if kind is bytes:
                if len(arg) > BIG_VALUE:
                    return super().pack_command(*args)
            elif kind is not str and kind is not int and kind is not float:
                # Anything else (a memoryview; None: redis-py's DataError) as redis-py.
                return super().pack_command(*args)
        first = args[0]
        if isinstance(first, str):  # as redis-py: "CONFIG GET" is two arguments
            args = (*first.encode().split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        return [hiredis.pack_command(args)]

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        writer: Any = self._writer
        try:
            writer.writelines(command)
            transport = writer.transport
            if transport.get_write_buffer_size() or transport.is_closing():
                async with asyncio.timeout(self.socket_timeout or None):
                    await writer.drain()
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as error:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket. {error}.") from error
        except BaseException:
            # As redis-py: a send cut short leaves the connection unusable.
            await self.disconnect(nowait=True)
            raise


class TcpConnection(DirectSend, Connection):
    """A plain TCP connection (redis://) that sends directly."""


class TlsConnection(DirectSend, SSLConnection):
    """A TLS connection (rediss://) that sends directly."""


DIRECT: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: TcpConnection,
    SSLConnection: TlsConnection,
}


def direct_send(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The direct-sending class for redis-py's TCP or TLS connection class; any
    other (a Unix socket, Sentinel-managed) as it is."""
    return DIRECT.get(connection_class, connection_class)


class WaitingPool(BlockingConnectionPool):
    """A BlockingConnectionPool whose free connections are handed out at once."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        if self._condition.locked() or self._in_maintenance or not self.can_get_connection():
            return await super().get_connection()  # type: ignore[no-untyped-call,no-any-return]
        # No await between the check and the take: no other task runs meanwhile.
        connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection
