"""The no-op task for Celery, run from the benchmark's own environment.

It counts its runs in Redis in steps of BENCH_COUNT_STEP (one INCRBY per step),
so the benchmark sees the drain without a result backend and without adding a
round trip per task to Celery's own work.
"""

import os

from celery import Celery
from counting import count_one

app = Celery("bench", broker=os.environ["BENCH_REDIS_URL"])
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=64, broker_pool_limit=4)


@app.task(name="noop")
def noop(content: str) -> str:
    count_one()
    return content


def submit(count: int) -> None:
    for i in range(count):
        noop.delay(str(i))


if __name__ == "__main__":
    import sys

    submit(int(sys.argv[1]))
