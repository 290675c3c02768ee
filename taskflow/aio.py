"""Small asyncio helpers for loops that stop on an event instead of being cancelled."""

import asyncio
import contextlib


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True


async def first_of(*events: asyncio.Event) -> None:
    """Return as soon as any of `events` is set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()


async def stop_writer(writer: asyncio.Task[None] | None, *, writing: bool) -> None:
    """Stop a background writer: one asleep between writes is cancelled, one in the
    middle of a write is let finish (cancelling a Redis call mid-reply would spoil
    its connection)."""
    if writer is None or writer.done():
        return
    if writing:
        await asyncio.shield(writer)
        return
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer
