"""How the foreign no-ops tell the benchmark they ran: one INCRBY per step of runs."""

import os

import redis

_client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
_STEP = int(os.environ.get("BENCH_COUNT_STEP", "1"))
_runs = 0


def count_one() -> None:
    global _runs
    _runs += 1
    if _runs % _STEP == 0:
        _client.incrby("bench:done", _STEP)
