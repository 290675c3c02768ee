"""Queue order, the retry ratio, listings from the indexes, and bulk operations."""

from datetime import UTC, datetime, timedelta

from taskflow.store import NewTask, QueueName, StoreConfig, TaskQuery, TaskState, TaskStore
from taskflow.store.queues import QueueAdmin


async def test_queues_are_fifo(store: TaskStore) -> None:
    created = await store.create_many([NewTask("summarize", str(i)) for i in range(20)])
    assert await store.queue_heads(QueueName.PRIMARY, 3) == [c.task_id for c in created[:3]]
    claimed = [c.task_id for _ in range(4) for c in await store.claim("w", 5)]
    assert claimed == [c.task_id for c in created]


async def test_released_tasks_go_back_to_the_head(store: TaskStore) -> None:
    created = await store.create_many([NewTask("summarize", str(i)) for i in range(3)])
    claims = await store.claim("w", 2)
    assert await store.release(claims) == 2
    heads = await store.queue_heads(QueueName.PRIMARY, 3)
    assert set(heads[:2]) == {created[0].task_id, created[1].task_id}
    assert (await store.get(created[0].task_id)).retry_count == 0


async def test_claims_favour_primary_by_the_retry_ratio(store: TaskStore) -> None:
    await store.create_many([NewTask("summarize") for _ in range(400)])
    # Move 200 through a failure into the retry queue.
    for claim in await store.claim("w", 200):
        await store.fail(claim, "x", "Default", permanent=False)
    await store.promote_due()
    claims = await store.claim("w", 100)
    from_retry = sum(1 for c in claims if c.retry_count == 1)
    assert 25 <= from_retry <= 35  # ratio 0.3, low-discrepancy draws


async def test_retry_ratio_drops_as_the_retry_queue_grows(store: TaskStore) -> None:
    ratio = StoreConfig().retry_ratio
    assert ratio.for_length(0) == 0.3
    assert ratio.for_length(1000) == 0.2
    assert ratio.for_length(5000) == 0.1


async def test_listing_filters_sorts_and_pages_from_indexes(store: TaskStore) -> None:
    summaries = await store.create_many([NewTask("summarize", str(i)) for i in range(25)])
    pdfs = await store.create_many([NewTask("pdfxtract", str(i)) for i in range(5)])
    for claim in await store.claim("w", 3):
        await store.complete(claim, "ok")

    everything = await store.list_tasks(TaskQuery(page_size=100))
    assert everything.total_items == 30
    times = [t.created_at for t in everything.tasks]
    assert times == sorted(times, reverse=True)

    page2 = await store.list_tasks(TaskQuery(page=2, page_size=10, descending=False))
    assert page2.total_pages == 3
    assert [t.task_id for t in page2.tasks] == [c.task_id for c in summaries[10:20]]

    done = await store.list_tasks(TaskQuery(state=TaskState.COMPLETED))
    assert {t.task_id for t in done.tasks} == {c.task_id for c in summaries[:3]}
    pdf_pending = await store.list_tasks(TaskQuery(state=TaskState.PENDING, task_type="pdfxtract"))
    assert {t.task_id for t in pdf_pending.tasks} == {c.task_id for c in pdfs}

    future = datetime.now(UTC) + timedelta(hours=1)
    assert (await store.list_tasks(TaskQuery(start=future))).total_items == 0
    assert (await store.list_tasks(TaskQuery(end=future))).total_items == 30

    target = pdfs[2].task_id
    by_prefix = await store.list_tasks(TaskQuery(task_id_prefix=target[:8]))
    assert [t.task_id for t in by_prefix.tasks] == [target]

    in_primary = await store.list_tasks(TaskQuery(queue=QueueName.PRIMARY, page_size=5))
    assert in_primary.total_items == 27
    assert [t.task_id for t in in_primary.tasks] == [c.task_id for c in summaries[3:8]]


async def test_active_tasks_list_like_an_index_from_the_leases(store: TaskStore) -> None:
    """ACTIVE has no index of its own (the lease index holds those ids): its listing
    still filters by type and dates, sorts by creation and pages like the others."""
    summaries = await store.create_many([NewTask("summarize", str(i)) for i in range(6)])
    pdfs = await store.create_many([NewTask("pdfxtract", str(i)) for i in range(3)])
    claims = await store.claim("w", 9)
    await store.complete(claims[0], "ok")  # no longer ACTIVE, no longer listed
    active = [c.task_id for c in [*summaries, *pdfs][1:]]

    oldest_first = await store.list_tasks(
        TaskQuery(state=TaskState.ACTIVE, descending=False, page_size=5)
    )
    assert oldest_first.total_items == 8
    assert [t.task_id for t in oldest_first.tasks] == active[:5]
    newest_first = await store.list_tasks(TaskQuery(state=TaskState.ACTIVE, page=2, page_size=5))
    assert [t.task_id for t in newest_first.tasks] == active[::-1][5:]
    of_type = await store.list_tasks(TaskQuery(state=TaskState.ACTIVE, task_type="pdfxtract"))
    assert [t.task_id for t in of_type.tasks] == [c.task_id for c in pdfs][::-1]
    future = datetime.now(UTC) + timedelta(hours=1)
    later = await store.list_tasks(TaskQuery(state=TaskState.ACTIVE, start=future))
    assert later.total_items == 0

    # Bulk operations page through ACTIVE the same way: marked, not cancelled.
    assert await store.cancel_where([TaskState.ACTIVE], "summarize") == (0, 5)


async def test_bulk_cleanup(store: TaskStore) -> None:
    await store.create_many([NewTask("summarize") for _ in range(10)])
    for claim in await store.claim("w", 6):
        if claim.content == "":
            await store.fail(claim, "bad input", "PermanentError", permanent=True)
    assert (await store.status()).queues.dlq == 6
    assert await store.retry_all_dlq(reset_retry_count=True) == 6
    for claim in await store.claim("w", 10):
        await store.fail(claim, "bad input", "PermanentError", permanent=True)
    assert await store.purge_dlq() == 10
    status = await store.status()
    assert status.queues.dlq == 0
    assert sum(status.states.values()) == 0
    assert await store.delete_where([TaskState.COMPLETED], None) == 0


async def test_requeue_orphans_repairs_foreign_data(store: TaskStore) -> None:
    created = await store.create(NewTask("summarize", "x"))
    # Simulate the original system's lost pop: the id vanished from its queue.
    await store.client.delete(store.keys.primary)
    assert await store.requeue_orphans() == (1, 1)
    assert await store.queue_heads(QueueName.PRIMARY) == [created.task_id]
    assert await store.requeue_orphans() == (0, 0)


async def test_a_default_queue_task_sits_in_the_original_keys(store: TaskStore) -> None:
    plain = await store.create(NewTask("echo", "x"))
    mail = await store.create(NewTask("echo", "y", queue="emails"))
    k = store.keys
    assert await store.client.lrange("tasks:pending:primary", 0, -1) == [plain.task_id.encode()]
    assert await store.client.hget(k.task(plain.task_id), "queue_name") is None
    assert await store.client.lrange("queues:emails:pending:primary", 0, -1) == [
        mail.task_id.encode()
    ]
    assert (await store.get(mail.task_id)).queue_name == "emails"
    assert await store.client.smembers("queues:known") == {b"emails"}
    # The original four depths stay the default queue's.
    assert (await store.status()).queues.primary == 1


async def test_a_paused_queue_is_skipped_until_resumed(store: TaskStore) -> None:
    admin = QueueAdmin(store.client, store.keys)
    both = [("default", 1), ("emails", 1)]
    mail = await store.create(NewTask("echo", "m", queue="emails"))
    plain = await store.create(NewTask("echo", "p"))
    assert await admin.pause("emails") is True
    assert await admin.pause("emails") is False
    (first,) = await store.claim("w", 5, queues=both)
    assert first.task_id == plain.task_id
    assert await store.claim("w", 5, queues=both) == []
    depths = {d.name: d for d in await admin.depths()}
    assert depths["emails"].paused
    assert depths["emails"].primary == 1
    assert await admin.resume("emails") is True
    (second,) = await store.claim("w", 5, queues=both)
    assert second.task_id == mail.task_id


async def test_waiting_lists_count_per_type_and_drain_for_a_claimer_that_runs_them(
    store: TaskStore,
) -> None:
    admin = QueueAdmin(store.client, store.keys)
    stray = await store.create_many([NewTask("resize", str(i), priority=i % 2) for i in range(3)])
    await store.create(NewTask("echo", "e"))
    (echo,) = await store.claim("w", 10, task_types=["echo"])
    assert echo.content == "e"
    (default,) = [d for d in await admin.depths() if d.name == "default"]
    assert default.waiting == {"resize": 3}
    assert default.primary == 0
    assert await store.claim("w", 10, task_types=["echo"]) == []
    resized = await store.claim("w", 10, task_types=["echo", "resize"])
    assert sorted(c.task_id for c in resized) == sorted(c.task_id for c in stray)
    assert (await store.status()).queues.dlq == 0
    # A claimer naming no types runs any: it takes what waits too.
    thumb = await store.create(NewTask("thumbnail", "t"))
    assert await store.claim("w", 10, task_types=["echo"]) == []
    (taken,) = await store.claim("w", 10)
    assert taken.task_id == thumb.task_id


async def test_weights_share_claims_between_queues(store: TaskStore) -> None:
    await store.create_many([NewTask("echo", "d") for _ in range(100)])
    await store.create_many([NewTask("echo", "m", queue="emails") for _ in range(100)])
    claims = await store.claim("w", 80, queues=[("default", 3), ("emails", 1)])
    from_default = sum(1 for c in claims if c.content == "d")
    assert 58 <= from_default <= 62  # three in four, low-discrepancy draws


async def test_ids_popped_ahead_but_not_reached_go_back_in_order(store: TaskStore) -> None:
    # A claim pops the rest of its batch from the new-work list in one call; when it
    # stops early (a claimer of one type sets at most 1,000 others aside per call),
    # the ids it popped but did not reach are back at the head, in their order.
    strays = await store.create_many([NewTask("summarize") for _ in range(1003)])
    wanted = await store.create(NewTask("noop"))
    assert await store.claim("w", 7, task_types=["noop"]) == []
    heads = await store.queue_heads(QueueName.PRIMARY, None)
    assert heads == [c.task_id for c in strays[1000:]] + [wanted.task_id]
    (claimed,) = await store.claim("w", 7, task_types=["noop"])
    assert claimed.task_id == wanted.task_id
