"""An async client for OpenAI-compatible chat-completions APIs, on one httpx pool.

Every failure comes out as a task error class (http_errors.py), so a handler can
let it propagate and the executor picks the right retry schedule. The API key is
sent as a bearer token and never logged or put in an error message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from taskflow.provider.http_errors import error_for_response, error_for_transport
from taskflow.provider.streaming import Partial, read_stream
from taskflow.settings import Settings
from taskflow.tasks.errors import NetworkTimeout, TaskError

log = logging.getLogger(__name__)
Message = dict[str, Any]
Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class ProviderConfig:
    api_key: SecretStr
    base_url: str = "https://openrouter.ai/api/v1"
    model: str = "openai/gpt-4o-mini"
    vision_model: str = ""
    timeout_s: float = 60.0
    stream: bool = True  # "stream": true where a caller wants partial text

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderConfig | None:
        """None when no API key is configured (the local fallbacks run instead)."""
        key = settings.openrouter_api_key
        if key is None or not key.get_secret_value().strip():
            return None
        return cls(
            api_key=key,
            base_url=settings.openrouter_base_url,
            model=settings.openrouter_model,
            vision_model=settings.openrouter_vision_model or settings.openrouter_model,
            timeout_s=settings.openrouter_timeout,
            stream=settings.openrouter_stream,
        )


class ChatClient:
    """Chat completions and the key/credits endpoints of one provider."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/",
            headers={
                "Authorization": f"Bearer {config.api_key.get_secret_value()}",
                "X-Title": "AsyncTaskFlow",
            },
            timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def chat(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        json_output: bool = False,
        max_tokens: int | None = None,
        trace: Trace | None = None,
        on_partial: Partial | None = None,
    ) -> str:
        """The assistant's reply text to `messages`; `trace` follows the request going
        out (httpx's trace extension: event name, details). With `on_partial` (and
        streaming on) the reply is streamed and `on_partial` gets the text so far."""
        body: dict[str, Any] = {"model": model or self.config.model, "messages": messages}
        if json_output:
            body["response_format"] = {"type": "json_object"}
        if max_tokens:
            body["max_tokens"] = max_tokens
        extensions = {"trace": trace} if trace else None
        if on_partial is not None and self.config.stream:
            body["stream"] = True
            streamed = await self._streamed(body, extensions, on_partial)
            if isinstance(streamed, str):
                return streamed
            reply = streamed  # the provider answered plain JSON
        else:
            reply = await self._request(
                "POST", "chat/completions", json=body, extensions=extensions
            )
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise NetworkTimeout("provider reply has no choices[0].message.content") from None
        if not isinstance(content, str) or not content.strip():
            raise NetworkTimeout("provider reply is empty")
        return content

    async def _streamed(
        self, body: dict[str, Any], extensions: dict[str, Any] | None, on_partial: Partial
    ) -> str | dict[str, Any]:
        """The streamed reply's text, or the JSON answer of a provider that did not
        stream."""
        started = time.perf_counter()
        try:
            async with self._http.stream(
                "POST", "chat/completions", json=body, extensions=extensions
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise self._answer_error("chat/completions", response, started)
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    await response.aread()
                    return self._payload(response)
                return await read_stream(response.aiter_lines(), on_partial)
        except httpx.TransportError as exc:
            error = error_for_transport(exc)
            log.warning("event=provider_call_failed path=chat/completions error=%r", str(error))
            raise error from None

    async def key_info(self) -> dict[str, Any]:
        """GET /key: the key's label, limit, usage and rate limit (OpenRouter)."""
        reply = await self._request("GET", "key")
        data = reply.get("data", reply)
        return data if isinstance(data, dict) else {}

    async def credits(self) -> dict[str, Any]:
        """GET /credits: total_credits and total_usage (OpenRouter)."""
        reply = await self._request("GET", "credits")
        data = reply.get("data", reply)
        return data if isinstance(data, dict) else {}

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            error = error_for_transport(exc)
            log.warning("event=provider_call_failed path=%s error=%r", path, str(error))
            raise error from None
        if response.is_error:
            raise self._answer_error(path, response, started)
        log.debug(
            "event=provider_call path=%s status=%d seconds=%.3f",
            path,
            response.status_code,
            time.perf_counter() - started,
        )
        return self._payload(response)

    @staticmethod
    def _answer_error(path: str, response: httpx.Response, started: float) -> TaskError:
        error = error_for_response(response)
        log.warning(
            "event=provider_call_failed path=%s status=%d seconds=%.3f error_type=%s",
            path, response.status_code, time.perf_counter() - started, error.error_type,
        )  # fmt: skip
        return error

    @staticmethod
    def _payload(response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            raise NetworkTimeout("provider reply is not JSON") from None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            # OpenRouter can report an upstream failure inside a 200 answer.
            raise NetworkTimeout(
                f"provider reported an error: {payload['error'].get('message', '')}"
            )
        return payload if isinstance(payload, dict) else {}
