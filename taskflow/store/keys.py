"""Every Redis key name AsyncTaskFlow uses (contract §3), in one place.

The Lua scripts build the same names in lua/_prelude.lua; keep the two in step.
An optional prefix (e.g. "{tf}:" so a Redis Cluster keeps them in one slot)
applies to every key and to the pub/sub channel.
"""

from dataclasses import dataclass

from taskflow.store.models import PRIORITIES, QueueName, TaskState

# The queue every task is in unless its type or its creator names another.
DEFAULT_QUEUE = "default"


@dataclass(frozen=True)
class QueueKeys:
    """The lists of one named queue (lua/_prelude.lua queue_keys builds the same)."""

    name: str
    pending: str  # prefix of the pending lists
    waiting: str  # set of types with a waiting list; `{waiting}:{type}` is the list
    wakeup: str  # tokens pushed with each task enqueued; idle claimers BLPOP here

    @property
    def primary(self) -> str:
        return f"{self.pending}:primary"

    def primary_level(self, priority: int) -> str:
        return self.primary if priority == 0 else f"{self.primary}:p{priority}"

    @property
    def levels(self) -> str:
        return f"{self.pending}:levels"

    @property
    def retry(self) -> str:
        return f"{self.pending}:retry"

    @property
    def pending_lists(self) -> list[str]:
        """The lists of PENDING ids: one per priority level (PRIORITIES order), then retry."""
        return [*map(self.primary_level, PRIORITIES), self.retry]

    @property
    def scheduled_levels(self) -> str:
        """Priority levels whose scheduled part may hold ids (lua/_prelude.lua)."""
        return f"{self.levels}:scheduled"

    @staticmethod
    def scheduled_part(list_key: str) -> str:
        """SCHEDULED ids bound for `list_key` when due, scored by due ms (due means
        PENDING: docs/state-machine.md, "Delayed tasks"; lua/_prelude.lua)."""
        return f"{list_key}:scheduled"

    def waiting_list(self, task_type: str) -> str:
        """PENDING ids of `task_type` that no claimer of this queue could run yet."""
        return f"{self.waiting}:{task_type}"


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix."""

    prefix: str = ""

    def _k(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # Queues (contract names).
    @property
    def primary(self) -> str:
        return self._k("tasks:pending:primary")

    def primary_level(self, priority: int) -> str:
        """New work of priority 1..9 (0 is `primary` itself): docs/state-machine.md."""
        return self.primary if priority == 0 else self._k(f"tasks:pending:primary:p{priority}")

    @property
    def retry(self) -> str:
        return self._k("tasks:pending:retry")

    @property
    def scheduled(self) -> str:
        return self._k("tasks:scheduled")

    @property
    def scheduled_moved(self) -> str:
        """Ours: set of SCHEDULED ids promotion moved onto their list before catching
        their hash up (lua/_prelude.lua, due means PENDING)."""
        return self._k("tasks:scheduled:moved")

    @property
    def scheduled_queues(self) -> str:
        """Ours: set of named queues (not `default`) whose scheduled parts may hold ids."""
        return self._k("tasks:scheduled:queues")

    @property
    def dlq(self) -> str:
        return self._k("dlq:tasks")

    def queue(self, name: QueueName) -> str:
        return {
            QueueName.PRIMARY: self.primary,
            QueueName.RETRY: self.retry,
            QueueName.SCHEDULED: self.scheduled,
            QueueName.DLQ: self.dlq,
        }[name]

    # Per task.
    def task(self, task_id: str) -> str:
        return self._k(f"task:{task_id}")

    def dlq_task(self, task_id: str) -> str:
        return self._k(f"dlq:task:{task_id}")

    def payload(self, task_id: str) -> str:
        return self._k(f"task:{task_id}:payload")

    def task_logs(self, task_id: str) -> str:
        """Ours: list of the task's newest log lines (taskflow/store/task_logs.py)."""
        return self._k(f"task:{task_id}:logs")

    def state_counter(self, state: TaskState) -> str:
        return self._k(f"metrics:tasks:state:{state.value.lower()}")

    def series_minute(self, minute: int) -> str:
        """Ours: hash of one minute's task series (`minute` = Unix time // 60):
        created, completed, failed, lat_sum_ms, lat_max_ms, b{bucket} (lua/_prelude.lua)."""
        return self._k(f"metrics:series:{minute}")

    # Ours: leases and listing indexes (sorted sets scored by creation time in µs).
    @property
    def leases(self) -> str:
        return self._k("tasks:leases")

    @property
    def cancelling(self) -> str:
        """Ours: set of ACTIVE task ids a client asked to cancel (their workers poll it)."""
        return self._k("tasks:cancelling")

    @property
    def corrupt(self) -> str:
        """Ours: list of task ids a claim popped whose hash has malformed fields."""
        return self._k("tasks:corrupt")

    @property
    def expiry(self) -> str:
        """Ours: sorted set of terminal task ids with a retention, scored by the ms
        they expire at (docs/state-machine.md, Retention)."""
        return self._k("tasks:expiry")

    @property
    def index_all(self) -> str:
        return self._k("tasks:index:all")

    @property
    def index_ids(self) -> str:
        return self._k("tasks:index:ids")

    def index_state(self, state: TaskState) -> str:
        return self._k(f"tasks:index:state:{state.value}")

    def index_type(self, task_type: str) -> str:
        return self._k(f"tasks:index:type:{task_type}")

    def index_state_type(self, state: TaskState, task_type: str) -> str:
        return self._k(f"tasks:index:state_type:{state.value}:{task_type}")

    # Workers.
    def worker_heartbeat(self, worker_id: str) -> str:
        return self._k(f"worker:heartbeat:{worker_id}")

    def worker_stats(self, worker_id: str) -> str:
        return self._k(f"worker:stats:{worker_id}")

    def worker_active_tasks(self, worker_id: str) -> str:
        return self._k(f"worker:active_tasks:{worker_id}")

    @property
    def workers_seen(self) -> str:
        """Ours: sorted set of worker ids scored by their last heartbeat (ms)."""
        return self._k("workers:seen")

    @property
    def executors_paused(self) -> str:
        """Ours: present while claiming is paused cluster-wide (ExecutorService)."""
        return self._k("executors:paused")

    @property
    def wakeup(self) -> str:
        """Ours: tokens pushed with each enqueued task; idle workers BLPOP here."""
        return self._k("tasks:wakeup")

    # Ours: named queues (docs/state-machine.md, Queues).
    def queue_keys(self, name: str) -> QueueKeys:
        """The lists of one named queue; `default` has the original keys."""
        if name in ("", DEFAULT_QUEUE):
            return QueueKeys(DEFAULT_QUEUE, self._k("tasks:pending"), self._k("tasks:waiting"),
                             self.wakeup)  # fmt: skip
        base = self._k(f"queues:{name}")
        return QueueKeys(name, f"{base}:pending", f"{base}:waiting", f"{base}:wakeup")

    @property
    def known_queues(self) -> str:
        """Set of every queue name a task was created in (besides `default`)."""
        return self._k("queues:known")

    @property
    def paused_queues(self) -> str:
        """Set of the queue names whose tasks no claimer takes for now."""
        return self._k("queues:paused")

    @property
    def remote_task_types(self) -> str:
        """Hash: task type -> the queue its tasks go to (set by remote workers)."""
        return self._k("workers:remote_task_types")

    # Ours: recurring schedules (docs/schedules.md).
    def schedule(self, schedule_id: str) -> str:
        """Hash of one schedule: its spec, policies, next and last firing."""
        return self._k(f"schedule:{schedule_id}")

    @property
    def schedules_due(self) -> str:
        """Sorted set of the active schedules' ids scored by their next fire time (ms)."""
        return self._k("schedules:due")

    @property
    def schedules_all(self) -> str:
        """Sorted set of every schedule id scored by its creation time (ms)."""
        return self._k("schedules:all")

    @property
    def channel(self) -> str:
        """The pub/sub channel of live events (contract §5)."""
        return self._k("queue-updates")

    @property
    def events(self) -> str:
        """Ours: every event of the channel, also kept in a bounded stream (resume)."""
        return self._k("tasks:events")

    @property
    def events_added(self) -> str:
        """Ours: how many events the scripts have written to the stream (its trim)."""
        return self._k("tasks:events:added")

    @property
    def events_marks(self) -> str:
        """Ours: list of stream entry ids, one per EVENTS_MAXLEN / 10 events written;
        the stream is trimmed to the oldest (lua/_prelude.lua, `append_events`)."""
        return self._k("tasks:events:marks")

    # Ours: per-type limits (taskflow/store/limits.py; the rest of the family is
    # named in lua/_limits.lua).
    @property
    def limit_types(self) -> str:
        """Hash: task type -> JSON of its declared limits."""
        return self._k("limits:types")

    # Every key family above plus the provider's, as SCAN globs (for a full reset).
    FAMILIES = (
        "task:*",
        "tasks:*",
        "dlq:*",
        "metrics:tasks:*",
        "metrics:series:*",
        "idempotency:*",
        "worker:*",
        "workers:*",
        "executors:*",
        "circuit_breaker:*",
        "openrouter:*",
        "schedule:*",
        "schedules:*",
        "queues:*",
        "limits:*",
    )

    def pattern(self, name_glob: str) -> str:
        """A SCAN pattern under this prefix (glob characters in the prefix escaped)."""
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix)
        return f"{escaped}{name_glob}"


@dataclass(frozen=True)
class ProviderKeys:
    """Key names of the LLM provider's shared state (contract §3), under one prefix."""

    prefix: str = ""

    def circuit_breaker(self, service: str) -> str:
        return f"{self.prefix}circuit_breaker:{service}"

    @property
    def circuit_breakers(self) -> str:
        """Ours: set of the service names that have a breaker (for listing them all)."""
        return f"{self.prefix}circuit_breaker:services"

    @property
    def rate_limit_config(self) -> str:
        return f"{self.prefix}openrouter:rate_limit_config"

    @property
    def rate_limit_bucket(self) -> str:
        return f"{self.prefix}openrouter:rate_limit:bucket"

    @property
    def rate_limit_pending(self) -> str:
        """Ours: sorted set of tokens granted but not yet sent, by send deadline (ms)."""
        return f"{self.prefix}openrouter:rate_limit:pending"

    @property
    def rate_limit_sends(self) -> str:
        """Ours: sorted set of tokens spent on a send, by when each comes back (ms)."""
        return f"{self.prefix}openrouter:rate_limit:sends"

    @property
    def credits(self) -> str:
        return f"{self.prefix}openrouter:credits"

    @property
    def state(self) -> str:
        return f"{self.prefix}openrouter:state"

    @property
    def state_refresh_lock(self) -> str:
        """Ours: held by whoever refreshes the cached status (at most once a minute)."""
        return f"{self.prefix}openrouter:state:refresh_lock"

    def metrics(self, day: str) -> str:
        """Daily call stats; `day` is YYYY-MM-DD (UTC)."""
        return f"{self.prefix}openrouter:metrics:{day}"
