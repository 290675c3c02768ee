"""The transcoder in the gateway's app: its route after the hand-kept ones, its
discovery in the app's lifespan, its operations merged into /openapi.json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

from services.gateway.transcoder import comments, openapi
from services.gateway.transcoder.discovery import REFRESH_EVERY_S, Discovery, Metadata
from services.gateway.transcoder.routing import TranscoderRoute, UnaryCall


def install(
    app: FastAPI,
    metadata: Metadata,
    known: Mapping[str, list[str]],
    unary_overrides: Mapping[str, UnaryCall] | None = None,
    refresh_every_s: float = REFRESH_EVERY_S,
) -> TranscoderRoute:
    """Route and OpenAPI; the caller starts the route's discovery in its lifespan.
    `known`: upstream -> services compiled into the gateway (discovery.py). Routes
    the app gets after this call come after the transcoder's."""
    route = TranscoderRoute(Discovery(metadata, known, refresh_every_s), unary_overrides)
    app.router.routes.append(route)
    app.openapi = _merged_openapi(app.openapi, route.discovery)  # type: ignore[method-assign]
    return route


def _merged_openapi(
    hand_kept: Callable[[], dict[str, Any]], discovery: Discovery
) -> Callable[[], dict[str, Any]]:
    descriptions = comments.load()
    cache: dict[int, dict[str, Any]] = {}

    def document() -> dict[str, Any]:
        version = discovery.version
        if version not in cache:
            cache.clear()
            cache[version] = openapi.merge(hand_kept(), discovery.catalog.bindings, descriptions)
        return cache[version]

    return document
