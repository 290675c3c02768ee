"""The LLM provider: an OpenAI-compatible chat-completions API (OpenRouter by default).

`ChatClient` speaks HTTP and maps failures to the task error classes; `Provider`
puts the cluster-wide circuit breaker, rate limiter and daily metrics around it;
`ProviderStatusService` reports the provider's status from a shared cache.
"""

from taskflow.provider.client import ChatClient, ProviderConfig
from taskflow.provider.guarded import PROVIDER_SERVICE, Provider
from taskflow.provider.status import ProviderStatusService

__all__ = ["PROVIDER_SERVICE", "ChatClient", "Provider", "ProviderConfig", "ProviderStatusService"]
