"""The store's own knobs, taken from Settings once at start."""

from dataclasses import dataclass

from taskflow.settings import Settings


@dataclass(frozen=True)
class RetryRatio:
    """Share of claims that try the retry queue first (contract §2)."""

    default: float = 0.3
    warning_length: int = 1000
    at_warning: float = 0.2
    critical_length: int = 5000
    at_critical: float = 0.1

    def for_length(self, retry_queue_length: int) -> float:
        if retry_queue_length >= self.critical_length:
            return self.at_critical
        if retry_queue_length >= self.warning_length:
            return self.at_warning
        return self.default


@dataclass(frozen=True)
class StoreConfig:
    prefix: str = ""
    lease_ms: int = 30_000
    idempotency_ttl_s: int = 24 * 3600
    retry_ratio: RetryRatio = RetryRatio()
    # Every Nth new-work claim serves a lower priority level (0: strict priority).
    lower_priority_every: int = 10
    # Scripts as a function library (FCALL); False: EVALSHA, as for a server without
    # functions (taskflow/store/scripts.py), which is also detected by itself.
    functions: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> "StoreConfig":
        return cls(
            prefix=settings.key_prefix,
            lease_ms=int(settings.lease_seconds * 1000),
            lower_priority_every=settings.priority_lower_every,
            retry_ratio=RetryRatio(
                default=settings.default_retry_ratio,
                warning_length=settings.retry_queue_warning,
                critical_length=settings.retry_queue_critical,
            ),
        )
