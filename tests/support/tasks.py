"""Task types the tests register the way a user would (TASKFLOW_TASK_MODULES)."""

import asyncio
import logging
import os
import time

from taskflow.tasks import NetworkTimeout, PermanentError, TaskContext, task


@task("echo")
async def echo(ctx: TaskContext) -> str:
    return ctx.content


@task("sleepy")
async def sleepy(ctx: TaskContext) -> str:
    """Sleeps `content` seconds, then returns its id."""
    await asyncio.sleep(float(ctx.content or 0))
    return ctx.task_id


@task("flaky")
async def flaky(ctx: TaskContext) -> str:
    """Fails transiently until it has been retried `metadata.succeed_after` times."""
    if ctx.retry_count < int(ctx.metadata.get("succeed_after", 1)):
        raise NetworkTimeout(f"flaky failure on try {ctx.retry_count + 1}")
    return "recovered"


@task("doomed")
async def doomed(ctx: TaskContext) -> str:
    raise PermanentError("this input can never work")


async def _hold(ctx: TaskContext) -> None:
    """Sleeps `content` seconds, or, when `metadata.gate` names a file, waits for it to
    exist: a test then decides when the task ends instead of racing its clock."""
    gate = ctx.metadata.get("gate")
    if not gate:
        await asyncio.sleep(float(ctx.content or 0))
        return
    # A file, not an asyncio.Event: the test and the handler may be different processes.
    while True:
        if await asyncio.to_thread(os.path.exists, gate):
            return
        await asyncio.sleep(0.02)


@task("doomed_later")
async def doomed_later(ctx: TaskContext) -> str:
    """Holds (see _hold), then fails for good."""
    await _hold(ctx)
    raise PermanentError("this input can never work")


@task("crashy")
async def crashy(ctx: TaskContext) -> str:
    raise RuntimeError("unexpected bug")


@task("lookup")
async def lookup(ctx: TaskContext) -> str:
    """A handler with a bug: looks `content` up in a table that lacks it (KeyError)."""
    table = {"known": "found"}
    return table[ctx.content]


@task("recurse")
async def recurse(ctx: TaskContext) -> str:
    """Fails `content` calls deep: a traceback longer than any record keeps."""
    return _down(int(ctx.content or 0))


def _down(depth: int) -> str:
    if depth <= 0:
        raise ValueError("bottom reached")
    return _and_down(depth - 1)


def _and_down(depth: int) -> str:
    # Two functions in turn: Python folds a run of identical frames into one line.
    return _down(depth)


@task("spin", cpu_bound=True)
def spin(ctx: TaskContext) -> str:
    """CPU-bound: busy for `content` seconds without blocking the event loop."""
    end = time.perf_counter() + float(ctx.content or 0)
    while time.perf_counter() < end:
        pass
    return "spun"


@task("tally")
async def tally(ctx: TaskContext) -> str:
    """Holds (see _hold), then appends "<task_id> <pid>" to `metadata.log`.

    The log tells a test which process ran which task, and how often."""
    await _hold(ctx)
    await asyncio.to_thread(_append, ctx.metadata["log"], f"{ctx.task_id} {os.getpid()}\n")
    return "counted"


def _append(path: str, line: str) -> None:
    with open(path, "a") as log:
        log.write(line)


@task("cancellable")
async def cancellable(ctx: TaskContext) -> str:
    """Sleeps `content` seconds (60 if empty) unless cancelled; when cancelled it
    appends "<task_id> <unix time> <ctx.cancelled>" to `metadata.log`, then stops."""
    try:
        await asyncio.sleep(float(ctx.content or 60))
    except asyncio.CancelledError:
        line = f"{ctx.task_id} {time.time():.6f} {ctx.cancelled}\n"
        await asyncio.to_thread(_append, ctx.metadata["log"], line)
        raise
    return "not cancelled"


@task("stepper")
async def stepper(ctx: TaskContext) -> str:
    """Reports progress "step i of n" for i = 1..n (n = `content`), each once the
    file `<metadata.gate>.<i>` exists, so a test sets the pace; logs a line per
    step (ctx.log), and one with a bearer token through plain `logging` first."""
    logging.getLogger(__name__).warning("calling with Authorization: Bearer s3cr3t-t0ken")
    steps = int(ctx.content)
    for step in range(1, steps + 1):
        gate = f"{ctx.metadata['gate']}.{step}"
        for _ in range(6000):  # up to 5 minutes
            if await asyncio.to_thread(os.path.exists, gate):
                break
            await asyncio.sleep(0.05)
        ctx.progress(step / steps, f"step {step} of {steps}")
        ctx.log(f"finished step {step}")
    await asyncio.sleep(1.0)  # the last report is written before the task ends
    return "stepped"


@task("short_lived", retention_s=1)
async def short_lived(ctx: TaskContext) -> str:
    """Kept one second once terminal (its type's retention)."""
    return ctx.content


@task("chatty")
async def chatty(ctx: TaskContext) -> str:
    """`content` = "STEPS:SECONDS" (default "5:1"): each step waits SECONDS, then
    reports progress "step i of n" and logs a line (a warning on the last)."""
    steps_text, _, seconds_text = (ctx.content or "5:1").partition(":")
    steps, seconds = int(steps_text), float(seconds_text or 1)
    for step in range(1, steps + 1):
        await asyncio.sleep(seconds)
        ctx.progress(step / steps, f"step {step} of {steps}")
        ctx.log(f"chatty step {step}", logging.WARNING if step == steps else logging.INFO)
    await asyncio.sleep(0.6)  # the last progress report is stored before the end
    return f"chatted {steps}"


# Handlers of `overlapping` running now, and the most seen at once (in-process workers).
OVERLAP = {"now": 0, "most": 0}


@task("overlapping")
async def overlapping(ctx: TaskContext) -> str:
    """Counts how many of its kind run at once while it sleeps `content` seconds."""
    OVERLAP["now"] += 1
    OVERLAP["most"] = max(OVERLAP["most"], OVERLAP["now"])
    try:
        await asyncio.sleep(float(ctx.content or 0))
    finally:
        OVERLAP["now"] -= 1
    return "done"


# Limits (docs/state-machine.md): handlers that record when they ran, in Redis.
TENANT_LIMIT = 2
RATE, RATE_INTERVAL_S = 10, 2.0


async def _record_run(ctx: TaskContext, hold_s: float) -> str:
    """Append the handler's start and end (time.time(), read first) to the file
    `metadata.record_to`: one short O_APPEND write each, whole lines across processes."""
    started = time.time()
    path, tenant = str(ctx.metadata["record_to"]), ctx.metadata.get("tenant", "")
    _append(path, f"start {started:.6f} {ctx.task_id} {tenant} {os.getpid()}\n")
    await asyncio.sleep(hold_s)
    _append(path, f"end {time.time():.6f} {ctx.task_id} {tenant} {os.getpid()}\n")
    return ctx.task_id


@task("per_tenant", concurrency=TENANT_LIMIT, concurrency_key="metadata.tenant")
async def per_tenant(ctx: TaskContext) -> str:
    """At most TENANT_LIMIT at once per `metadata.tenant`; runs `content` seconds."""
    return await _record_run(ctx, float(ctx.content or 0))


@task("metered", rate_limit=f"{RATE}/{RATE_INTERVAL_S:g}s")
async def metered(ctx: TaskContext) -> str:
    """At most RATE starts per RATE_INTERVAL_S across the cluster."""
    return await _record_run(ctx, 0.0)


@task("threaded_reporter", cpu_bound=True)
def threaded_reporter(ctx: TaskContext) -> str:
    """From its worker thread: a progress report, then a line through plain logging
    (the executor makes the task's reporter and log buffer on first use)."""
    ctx.progress(0.5, "halfway")
    time.sleep(2.0)  # the report is written while the task still runs
    logging.getLogger(__name__).warning("from the handler's thread")
    return "reported"
