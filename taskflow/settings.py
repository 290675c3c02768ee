"""One typed settings object per process, read once from the environment at start.

Names follow contract §8 (REDIS_URL, MAX_RETRIES, ...); ours are prefixed TASKFLOW_.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from taskflow.queue_spec import QueueWeights, parse_queues


class Settings(BaseSettings):
    """Every setting AsyncTaskFlow reads. Defaults give a working single-machine system."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Redis: unset means "start the bundled server" (see taskflow.redis_server).
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    key_prefix: str = Field(default="", alias="TASKFLOW_KEY_PREFIX")
    # Ours: REDIS_URL names a node of a Redis Cluster; needs a hash-tag prefix.
    redis_cluster: bool = Field(default=False, alias="TASKFLOW_REDIS_CLUSTER")
    data_dir: Path = Field(default=Path("var"), alias="TASKFLOW_DATA_DIR")
    redis_port: int = Field(default=6399, ge=0, le=65535, alias="TASKFLOW_REDIS_PORT")
    redis_appendfsync: str = Field(default="everysec", alias="TASKFLOW_REDIS_APPENDFSYNC")
    # Ours: Redis Sentinel. host:port of each sentinel, comma-separated; when set, the
    # services ask them for the current master of REDIS_SENTINEL_MASTER and follow a
    # failover. REDIS_URL is then optional: only its credentials, db and scheme count.
    redis_sentinels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="REDIS_SENTINELS"
    )
    redis_sentinel_master: str = Field(default="mymaster", alias="REDIS_SENTINEL_MASTER")
    redis_sentinel_password: SecretStr | None = Field(default=None, alias="REDIS_SENTINEL_PASSWORD")
    # Ours: each state change (a Lua script) returns once this many replicas have it
    # (WAIT), or after the timeout with a warning; 0 = asynchronous replication only.
    redis_replica_acks: int = Field(default=0, ge=0, alias="TASKFLOW_REDIS_REPLICA_ACKS")
    redis_replica_ack_timeout: float = Field(
        default=0.5, gt=0, alias="TASKFLOW_REDIS_REPLICA_ACK_TIMEOUT"
    )
    # Ours: the CA that signed the Redis server's certificate, for rediss:// URLs
    # (unset: the system's trusted CAs).
    redis_tls_ca_file: Path | None = Field(default=None, alias="TASKFLOW_REDIS_TLS_CA_FILE")

    # Retry policy (contract §2).
    max_retries: int = Field(default=3, ge=0, alias="MAX_RETRIES")
    # Ours: seconds a terminal task is kept before it is deleted (0: forever, as the
    # original); a task type's retention, then a task's own, override it.
    retention_seconds: int = Field(default=0, ge=0, alias="RETENTION_SECONDS")
    default_retry_ratio: float = Field(default=0.3, ge=0.0, le=1.0, alias="DEFAULT_RETRY_RATIO")
    retry_queue_warning: int = Field(default=1000, ge=1, alias="RETRY_QUEUE_WARNING")
    retry_queue_critical: int = Field(default=5000, ge=1, alias="RETRY_QUEUE_CRITICAL")

    # Ours: every Nth claim of new work serves a priority level below the highest
    # waiting one, in turn, so low priorities never starve; 0 = strict priority.
    priority_lower_every: int = Field(default=10, ge=0, alias="TASKFLOW_PRIORITY_LOWER_EVERY")

    # Ours: multiplies every retry delay (tests and demos shorten the schedules).
    retry_delay_scale: float = Field(default=1.0, ge=0.0, alias="TASKFLOW_RETRY_DELAY_SCALE")
    # Ours: a schedule's fire time more than this late when a scheduler reaches it
    # (every scheduler was down) is a misfire, handled by the schedule's policy.
    schedule_misfire_grace_s: float = Field(
        default=10.0, gt=0, alias="TASKFLOW_SCHEDULE_MISFIRE_GRACE"
    )

    # Workers.
    # 32, not 8: a worker's round trips to Redis carry up to this many completions and
    # claims, and batches of 8 cost about twice the CPU per task of batches of 32
    # (issue 19, docs/performance.md). Memory-heavy types (pdfxtract) may want fewer.
    worker_concurrency: int = Field(default=32, ge=1, alias="WORKER_CONCURRENCY")
    task_time_limit: float = Field(default=600.0, gt=0, alias="TASK_TIME_LIMIT")
    lease_seconds: float = Field(default=30.0, gt=0, alias="TASKFLOW_LEASE_SECONDS")
    heartbeat_seconds: float = Field(default=5.0, gt=0, alias="TASKFLOW_HEARTBEAT_SECONDS")
    shutdown_grace_seconds: float = Field(default=25.0, ge=0, alias="TASKFLOW_SHUTDOWN_GRACE")
    executor_processes: int = Field(default=1, ge=1, alias="TASKFLOW_EXECUTOR_PROCESSES")
    # Names this executor's workers in status views; empty means "<host>-<pid>".
    executor_id: str = Field(default="", alias="TASKFLOW_EXECUTOR_ID")
    task_modules: list[str] = Field(default_factory=list, alias="TASKFLOW_TASK_MODULES")
    # The queues this executor's workers consume, `name[:weight],...` (weights are
    # shares of the claims; taskflow/queue_spec.py).
    queues: str = Field(default="default", alias="TASKFLOW_QUEUES")
    max_content_bytes: int = Field(default=1_000_000, ge=1, alias="TASKFLOW_MAX_CONTENT_BYTES")
    max_payload_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, alias="TASKFLOW_MAX_PAYLOAD_BYTES"
    )

    # gRPC services: where each listens, and where the others find it.
    scheduler_address: str = Field(default="127.0.0.1:50051", alias="TASKFLOW_SCHEDULER_ADDRESS")
    executor_address: str = Field(default="127.0.0.1:50052", alias="TASKFLOW_EXECUTOR_ADDRESS")
    monitor_address: str = Field(default="127.0.0.1:50053", alias="TASKFLOW_MONITOR_ADDRESS")
    api_token: str | None = Field(default=None, alias="TASKFLOW_API_TOKEN")
    # gRPC over TLS. Servers: their certificate chain and key (PEM); with a client CA
    # they also require client certificates signed by it (mutual TLS).
    tls_cert_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_CERT_FILE")
    tls_key_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_KEY_FILE")
    tls_client_ca_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_CLIENT_CA_FILE")
    # Clients (gateway, CLI): set the CA that signed the servers' certificates to
    # speak TLS; add a certificate and key where the servers require one.
    tls_ca_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_CA_FILE")
    tls_client_cert_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_CLIENT_CERT_FILE")
    tls_client_key_file: Path | None = Field(default=None, alias="TASKFLOW_TLS_CLIENT_KEY_FILE")
    # The name clients check in the servers' certificates, when it is not the host
    # of the address they dial (e.g. services reached by IP).
    tls_server_name: str = Field(default="", alias="TASKFLOW_TLS_SERVER_NAME")

    # Prometheus metrics of the gRPC services, each at /metrics on a port of its own
    # (0: not served). The executor's is last: its extra worker processes use the next ports.
    metrics_host: str = Field(default="127.0.0.1", alias="TASKFLOW_METRICS_HOST")
    scheduler_metrics_port: int = Field(
        default=9101, ge=0, le=65535, alias="TASKFLOW_SCHEDULER_METRICS_PORT"
    )
    executor_metrics_port: int = Field(
        default=9103, ge=0, le=65535, alias="TASKFLOW_EXECUTOR_METRICS_PORT"
    )
    monitor_metrics_port: int = Field(
        default=9102, ge=0, le=65535, alias="TASKFLOW_MONITOR_METRICS_PORT"
    )

    # The REST gateway (and dashboard).
    gateway_host: str = Field(default="127.0.0.1", alias="TASKFLOW_GATEWAY_HOST")
    gateway_port: int = Field(default=8000, ge=0, le=65535, alias="TASKFLOW_GATEWAY_PORT")
    # One INFO line per request; off behind a proxy that keeps its own access log.
    gateway_access_log: bool = Field(default=True, alias="TASKFLOW_GATEWAY_ACCESS_LOG")
    # With TASKFLOW_API_TOKEN set, /metrics needs the token too unless this opens it.
    metrics_public: bool = Field(default=False, alias="TASKFLOW_METRICS_PUBLIC")

    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    debug: bool = Field(default=False, alias="DEBUG")

    # The LLM provider: an OpenAI-compatible chat-completions API (contract §6).
    # No key means the local fallbacks run (extractive summary, local PDF text).
    openrouter_api_key: SecretStr | None = Field(default=None, alias="OPENROUTER_API_KEY")
    openrouter_base_url: str = Field(
        default="https://openrouter.ai/api/v1", alias="OPENROUTER_BASE_URL"
    )
    openrouter_model: str = Field(default="openai/gpt-4o-mini", alias="OPENROUTER_MODEL")
    # Empty: the vision calls of pdfxtract use OPENROUTER_MODEL.
    openrouter_vision_model: str = Field(default="", alias="OPENROUTER_VISION_MODEL")
    openrouter_timeout: float = Field(default=60.0, gt=0, alias="OPENROUTER_TIMEOUT")
    # Ask for streamed replies where a handler shows partial text (summarize); a
    # provider that does not stream answers plain JSON, which is read as usual.
    openrouter_stream: bool = Field(default=True, alias="OPENROUTER_STREAM")
    # Requests per interval shared by every worker; unset: taken from the provider's
    # key information when it reports one, else no local limit.
    openrouter_rate_limit_requests: int | None = Field(
        default=None, ge=1, alias="OPENROUTER_RATE_LIMIT_REQUESTS"
    )
    openrouter_rate_limit_interval: str = Field(
        default="10s", alias="OPENROUTER_RATE_LIMIT_INTERVAL"
    )
    # How long a call waits for a rate-limit token before its task is rescheduled.
    openrouter_rate_limit_wait: float = Field(
        default=30.0, ge=0, alias="OPENROUTER_RATE_LIMIT_WAIT"
    )

    # Circuit breaker around provider calls (contract §7).
    circuit_failure_threshold: int = Field(default=10, ge=1, alias="CIRCUIT_FAILURE_THRESHOLD")
    circuit_volume_threshold: int = Field(default=10, ge=1, alias="CIRCUIT_VOLUME_THRESHOLD")
    circuit_failure_ratio: float = Field(default=0.5, gt=0, le=1, alias="CIRCUIT_FAILURE_RATIO")
    circuit_timeout: float = Field(default=60.0, gt=0, alias="CIRCUIT_TIMEOUT")
    # Ours: the rolling window the failure and volume counts cover.
    circuit_window: float = Field(default=60.0, gt=0, alias="CIRCUIT_WINDOW")

    # Largest PDF pdfxtract accepts (contract §4: 50 MB).
    pdf_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1, alias="TASKFLOW_PDF_MAX_BYTES")

    # The gateway: browser origins allowed by CORS (a JSON list; empty: CORS off),
    # the built dashboard it serves at / (when the directory exists), the silence
    # before the queue stream sends a heartbeat, and the largest JSON request body.
    cors_origins: list[str] = Field(default_factory=list, alias="TASKFLOW_CORS_ORIGINS")
    frontend_dist: Path = Field(default=Path("frontend/dist"), alias="TASKFLOW_FRONTEND_DIST")
    sse_heartbeat_seconds: int = Field(default=30, ge=1, alias="TASKFLOW_SSE_HEARTBEAT_SECONDS")
    gateway_max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1, alias="TASKFLOW_GATEWAY_MAX_BODY_BYTES"
    )
    # Memory all PDF uploads in flight may hold in the gateway; each counts twice its
    # size (the request, and gRPC's copy while sending). Beyond it: 503, Retry-After.
    gateway_upload_memory_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1, alias="TASKFLOW_GATEWAY_UPLOAD_MEMORY_BYTES"
    )

    # How often the gateway asks each service again what it serves (server
    # reflection), so an upgraded service's new RPCs reach REST without a restart.
    gateway_reflection_refresh_seconds: float = Field(
        default=30.0, gt=0, le=86400, alias="TASKFLOW_GATEWAY_REFLECTION_REFRESH_SECONDS"
    )

    @field_validator("queues")
    @classmethod
    def _queues_parse(cls, value: str) -> str:
        parse_queues(value)
        return value

    @property
    def queue_weights(self) -> QueueWeights:
        return parse_queues(self.queues)

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _split_sentinels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_are_host_port(cls, value: list[str]) -> list[str]:
        for address in value:
            _host_and_port(address)
        return value

    @model_validator(mode="after")
    def _one_redis_topology(self) -> Settings:
        if self.redis_sentinels and self.redis_cluster:
            raise ValueError("REDIS_SENTINELS and TASKFLOW_REDIS_CLUSTER exclude each other")
        if self.redis_replica_acks and self.redis_cluster:
            raise ValueError(
                "TASKFLOW_REDIS_REPLICA_ACKS is not supported with TASKFLOW_REDIS_CLUSTER"
            )
        return self

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TASKFLOW_TLS_CERT_FILE and TASKFLOW_TLS_KEY_FILE go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError("TASKFLOW_TLS_CLIENT_CA_FILE needs TASKFLOW_TLS_CERT_FILE (TLS on)")
        if (self.tls_client_cert_file is None) != (self.tls_client_key_file is None):
            raise ValueError(
                "TASKFLOW_TLS_CLIENT_CERT_FILE and TASKFLOW_TLS_CLIENT_KEY_FILE go together"
            )
        if self.tls_client_cert_file and not self.tls_ca_file:
            raise ValueError("TASKFLOW_TLS_CLIENT_CERT_FILE needs TASKFLOW_TLS_CA_FILE (TLS on)")
        return self

    @model_validator(mode="after")
    def _cluster_needs_a_hash_tag(self) -> Settings:
        prefix = self.key_prefix
        tagged = "{" in prefix and "}" in prefix[prefix.index("{") + 2 :]
        if self.redis_cluster and not tagged:
            raise ValueError(
                "TASKFLOW_REDIS_CLUSTER needs TASKFLOW_KEY_PREFIX with a hash tag, e.g. {tf}: "
                "(all keys of a deployment must share one slot for the Lua scripts)"
            )
        return self

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [_host_and_port(address) for address in self.redis_sentinels]

    @property
    def redis_data_dir(self) -> Path:
        """Where the bundled server keeps its append-only file."""
        return self.data_dir / "redis"

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log filter to mask wherever it appears."""
        secrets = [self.api_token or "", urlsplit(self.redis_url or "").password or ""]
        for secret in (self.openrouter_api_key, self.redis_sentinel_password):
            secrets.append(secret.get_secret_value() if secret else "")
        return [value for value in secrets if value]


def _host_and_port(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" (an IPv6 host in brackets: "[::1]:26379")."""
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]"), int(port)
