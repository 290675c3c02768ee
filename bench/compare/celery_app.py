"""The no-op task for Celery, run from the benchmark's own environment.

Counting each run with one INCR lets the benchmark see the drain without a
result backend; the same count is kept for RQ.
"""

import os

import redis
from celery import Celery

app = Celery("bench", broker=os.environ["BENCH_REDIS_URL"])
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=64, broker_pool_limit=4)
counter = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


@app.task(name="noop")
def noop(content: str) -> str:
    counter.incr("bench:done")
    return content


def submit(count: int) -> None:
    for i in range(count):
        noop.delay(str(i))


if __name__ == "__main__":
    import sys

    submit(int(sys.argv[1]))
