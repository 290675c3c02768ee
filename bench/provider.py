"""The provider's guards: the shared rate limiter, the circuit breaker, and their cost per call.

    uv run --frozen python -m bench.provider [--calls 20000]

Against a fresh bundled server: rate limiter acquires/s (one caller, and 32 callers
sharing one client) with a limit that never makes anyone wait; breaker acquire +
record_success/s; then the same provider call through `Provider` (breaker,
limiter, metrics) and through the bare `ChatClient`, against the local fake
provider answering at once in a process of its own, and the Redis traffic one
guarded call makes (round trips counted on the client, commands on the server).
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from multiprocessing.synchronize import Event
from socketserver import StreamRequestHandler
from typing import Any

from pydantic import SecretStr
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bench.common import Timer, bundled_server, machine, report
from taskflow.provider import ChatClient, Provider, ProviderConfig
from taskflow.store.breaker import CircuitBreakerStore
from taskflow.store.provider_state import CallOutcome, ProviderMetricsStore
from taskflow.store.rate_limit import RateLimiter
from tests.support.fake_openai import TEST_API_KEY, FakeOpenAI

SERVICE = "openrouter"
CONCURRENCY = 32
HELLO = [{"role": "user", "content": "hello"}]
# Limits no bench run comes near, so no acquire ever waits. The first keeps the
# set of tokens out short, as a real limit does (a token is out for 10 ms + the
# 100 ms arrival margin: a few hundred at a time); the second lets it grow to one
# entry per call made, to show what that costs.
NEVER_BLOCKS = (5000, "10ms")
LONG_LIST = (10_000_000, "1h")
# Guarded and bare calls are timed in alternating rounds, so drift hits both alike.
ROUNDS = 5


class CountingConnection(Connection):
    """Counts what the client writes to Redis: one packet per round trip."""

    sent = 0

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def calls_per_second(
    label: str, call: Callable[[], Awaitable[Any]], n: int, concurrency: int = 1
) -> None:
    async def caller(count: int) -> None:
        for _ in range(count):
            await call()

    with Timer() as t:
        await asyncio.gather(*(caller(n // concurrency) for _ in range(concurrency)))
    report(label, n // concurrency * concurrency, t.seconds, "calls/s")


async def limiter_rows(client: Redis, n: int) -> None:
    limiter = RateLimiter(client)
    for requests, interval in (NEVER_BLOCKS, LONG_LIST):
        await client.flushall()
        await limiter.configure(requests, interval)
        limit = f"{requests:,} per {interval}"

        async def acquire() -> None:
            grant = await limiter.acquire(timeout_s=1.0)
            assert grant.granted
            await limiter.sent(grant)

        await calls_per_second(f"limiter acquire + sent, {limit}, sequential", acquire, n // 4)
        await calls_per_second(
            f"limiter acquire + sent, {limit}, {CONCURRENCY} concurrent", acquire, n, CONCURRENCY
        )


async def breaker_rows(client: Redis, n: int) -> None:
    await client.flushall()
    breakers = CircuitBreakerStore(client)

    async def acquire_and_record() -> None:
        permit = await breakers.acquire(SERVICE)
        await breakers.record_success(SERVICE, permit)

    await calls_per_second(
        "breaker acquire + record_success, sequential", acquire_and_record, n // 4
    )
    await calls_per_second(
        f"breaker acquire + record_success, {CONCURRENCY} concurrent",
        acquire_and_record,
        n,
        CONCURRENCY,
    )


def serve_fake(urls: multiprocessing.Queue[str], stop: Event) -> None:
    """The fake provider in a process of its own, until `stop` is set."""
    with FakeOpenAI() as fake:
        # Headers and body go out in two writes; with Nagle on, the body waits for
        # the client's delayed ACK (~40 ms a call), which would drown what we measure.
        handler = fake._server.RequestHandlerClass
        if isinstance(handler, type) and issubclass(handler, StreamRequestHandler):
            handler.disable_nagle_algorithm = True
        urls.put(fake.url)
        stop.wait()


async def provider_overhead(url: str, fake_url: str, n: int) -> None:
    pool = ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = Redis(connection_pool=pool)
    await client.flushall()
    limiter = RateLimiter(client)
    await limiter.configure(*NEVER_BLOCKS)
    chat = ChatClient(ProviderConfig(api_key=SecretStr(TEST_API_KEY), base_url=fake_url))
    provider = Provider(chat, CircuitBreakerStore(client), limiter, ProviderMetricsStore(client))
    try:
        for _ in range(50):  # warm up: connections open, scripts loaded
            await provider.chat(HELLO)
        per_round = n // ROUNDS
        rounds: dict[str, list[float]] = {"bare": [], "guarded": [], "guards": []}
        for _ in range(ROUNDS):
            rounds["bare"].append(await seconds_for(lambda: chat.chat(HELLO), per_round))
            rounds["guarded"].append(await seconds_for(lambda: provider.chat(HELLO), per_round))
            rounds["guards"].append(await seconds_for(lambda: guards_only(provider), per_round))
        us = {k: statistics.median(v) / per_round * 1e6 for k, v in rounds.items()}
        print(f"medians of {ROUNDS} rounds of {per_round:,} sequential calls:")
        print(f"  provider call, bare ChatClient                       {us['bare']:8.0f} µs")
        print(f"  provider call, Provider (breaker, limiter, recording) {us['guarded']:7.0f} µs")
        added = us["guarded"] - us["bare"]
        print(f"  added per call                                       {added:8.0f} µs")
        print(f"  the same Redis calls without HTTP                    {us['guards']:8.0f} µs")
        await redis_traffic(client, provider)
    finally:
        await chat.aclose()
        await client.aclose()
        await pool.disconnect()


async def guards_only(provider: Provider) -> None:
    """What Provider.chat sends to Redis around a successful call, without the call."""
    permit = await provider.breakers.acquire(SERVICE)
    grant = await provider.limiter.acquire(timeout_s=1.0)
    assert grant.granted
    permit = await provider.breakers.acquire(SERVICE)
    await provider.limiter.sent(grant)
    await asyncio.gather(
        provider.metrics.record(CallOutcome.SUCCESS),
        provider.breakers.record_success(SERVICE, permit),
    )


async def seconds_for(call: Callable[[], Awaitable[Any]], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return time.perf_counter() - started


async def redis_traffic(client: Redis, provider: Provider, calls: int = 1000) -> None:
    """Round trips (client side) and commands (server side) per guarded call."""
    before_stats = await command_calls(client)
    before_total = await commands_processed(client)
    sent_before = CountingConnection.sent
    for _ in range(calls):
        await provider.chat(HELLO)
    sent = CountingConnection.sent - sent_before - 1  # the INFO below is not the call's
    total = await commands_processed(client) - before_total - 2  # both INFOs
    after_stats = await command_calls(client)
    delta = after_stats - before_stats
    delta["info"] -= 2
    print(f"Redis round trips per guarded call (client side)       {sent / calls:8.2f}")
    print(f"commands per guarded call (total_commands_processed)   {total / calls:8.2f}")
    per_call = ", ".join(
        f"{name} {count / calls:g}" for name, count in sorted(delta.items()) if count
    )
    print(f"commands per guarded call (commandstats)               {per_call}")


async def command_calls(client: Redis) -> Counter[str]:
    stats = await client.info("commandstats")
    return Counter(
        {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
    )


async def commands_processed(client: Redis) -> int:
    return int((await client.info("stats"))["total_commands_processed"])


async def main(n: int, provider_calls: int) -> None:
    context = multiprocessing.get_context("spawn")
    urls: multiprocessing.Queue[str] = context.Queue()
    stop = context.Event()
    fake = context.Process(target=serve_fake, args=(urls, stop), daemon=True)
    fake.start()
    try:
        with bundled_server() as server:
            print(f"bundled valkey, appendfsync everysec; {machine()}")
            client = Redis.from_url(server.url, max_connections=64)
            await limiter_rows(client, n)
            await breaker_rows(client, n)
            await client.aclose()
            await provider_overhead(server.url, urls.get(timeout=10), provider_calls)
    finally:
        stop.set()
        fake.join(5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000, help="limiter and breaker calls")
    parser.add_argument("--provider-calls", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.provider_calls))
