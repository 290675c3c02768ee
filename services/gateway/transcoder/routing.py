"""One Starlette route that serves every binding of the catalog.

It sits after the hand-kept routes, so those win on the same path and method. A
matched request becomes the RPC's request message (path, query, body), the call
carries the caller's credentials, and the reply goes back as proto JSON, or, for a
server-streaming RPC, as server-sent events, one per message. Failed calls raise,
for the gateway's one error table (services/gateway/errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse
from google.protobuf.message import Message
from grpc import aio
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from services.gateway import sse
from services.gateway.auth import forwarded_metadata
from services.gateway.clients import CALL_TIMEOUT_S, UnreadableReply
from services.gateway.errors import detail
from services.gateway.transcoder.catalog import Binding
from services.gateway.transcoder.discovery import Discovery
from services.gateway.transcoder.messages import BadRequest, build_request, reply_json, to_json

Metadata = tuple[tuple[str, str], ...]
# A unary call the gateway makes its own way (CreateTask shares calls: batching.py).
UnaryCall = Callable[[Message, Metadata], Awaitable[Message]]


class TranscoderRoute(BaseRoute):
    def __init__(
        self, discovery: Discovery, unary_overrides: Mapping[str, UnaryCall] | None = None
    ) -> None:
        self.discovery = discovery
        self.unary_overrides = dict(unary_overrides or {})
        # Callables per method, made once per catalog version.
        self._unary: dict[str, aio.UnaryUnaryMultiCallable[Message, Message]] = {}
        self._version = -1

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = get_route_path(scope)
        partial: Scope | None = None
        for binding in self.discovery.catalog.bindings:
            values = binding.template.match(path)
            if values is None:
                continue
            child = {"route": binding, "path_params": values, "endpoint": self}
            if _serves(binding, scope["method"]):
                return Match.FULL, child
            partial = partial or child
        return (Match.PARTIAL, partial) if partial else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        binding: Binding = scope["route"]
        if not _serves(binding, scope["method"]):
            allowed = self._methods_for(get_route_path(scope))
            refusal = detail(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
            await refusal(scope, receive, send)
            return
        response = await self._answer(binding, Request(scope, receive))
        await response(scope, receive, send)

    def _methods_for(self, path: str) -> list[str]:
        bindings = self.discovery.catalog.bindings
        matching = [b for b in bindings if b.template.match(path) is not None]
        methods = {b.http_method for b in matching}
        if any(_serves(b, "HEAD") for b in matching):
            methods.add("HEAD")
        return sorted(methods)

    async def _answer(self, binding: Binding, request: Request) -> Response:
        try:
            message = build_request(
                binding,
                request.path_params,
                request.query_params.multi_items(),
                await request.body(),
            )
        except BadRequest as error:
            return detail(422, str(error))
        metadata = forwarded_metadata(request)
        channel = self.discovery.channels[binding.upstream]
        if binding.server_streaming:
            stream = channel.unary_stream(
                binding.full_method,
                request_serializer=_serialize,
                response_deserializer=binding.response_class.FromString,
            )
            call: aio.UnaryStreamCall[Message, Message] = stream(message, metadata=metadata)
            return await sse.open_stream(call, to_json)
        reply = await self._call(binding, channel, message, metadata)
        return JSONResponse(reply_json(binding, reply))

    async def _call(
        self, binding: Binding, channel: aio.Channel, message: Message, metadata: Metadata
    ) -> Message:
        if override := self.unary_overrides.get(binding.full_method):
            return await override(message, metadata)
        if self._version != self.discovery.version:
            self._unary, self._version = {}, self.discovery.version
        unary = self._unary.get(binding.full_method)
        if unary is None:
            unary = self._unary[binding.full_method] = channel.unary_unary(
                binding.full_method,
                request_serializer=_serialize,
                response_deserializer=binding.response_class.FromString,
            )
        reply: Any = await unary(message, metadata=metadata, timeout=CALL_TIMEOUT_S)
        if reply is None:  # grpc.aio returns None for a reply it could not decode
            raise UnreadableReply(binding.full_method)
        result: Message = reply
        return result


def _serves(binding: Binding, method: str) -> bool:
    """HEAD is answered wherever a unary GET is, as for the hand-kept routes (the
    server sends the headers only); a stream has no HEAD: it would open the stream."""
    if method == "HEAD":
        return binding.http_method == "GET" and not binding.server_streaming
    return binding.http_method == method


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
