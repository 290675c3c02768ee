"""`noop`: does nothing and succeeds; for benchmarks and smoke tests."""

from taskflow.tasks.registry import TaskContext, task


@task("noop")
async def noop(ctx: TaskContext) -> str:
    return ctx.content
