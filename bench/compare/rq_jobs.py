"""The no-op job for RQ, run from the benchmark's own environment."""

import os
import sys

import redis
from counting import count_one
from rq import Queue


def noop(content: str) -> str:
    count_one()
    return content


def submit(count: int) -> None:
    queue = Queue("bench", connection=redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]))
    with queue.connection.pipeline() as pipe:
        for i in range(count):
            queue.enqueue("rq_jobs.noop", str(i), pipeline=pipe)
        pipe.execute()


if __name__ == "__main__":
    import rq_jobs  # jobs must name an importable module, not __main__

    rq_jobs.submit(int(sys.argv[1]))
