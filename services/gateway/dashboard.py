"""The built dashboard (frontend/dist) at /, with single-page-app fallback.

Files are served as they are; any other path outside the API gets index.html, so
the dashboard's own routes survive a reload. Unknown /api/ paths stay JSON 404s.
A client asking `/` for JSON (and not HTML) gets the original's banner instead, as
does every client when no dashboard is built.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

BANNER = {"message": "AsyncTaskFlow API", "version": "0.1.0", "docs": "/docs", "health": "/health"}


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def banner_router() -> APIRouter:
    """`/` without a built dashboard: the original's JSON banner."""
    api = APIRouter(include_in_schema=False)

    @api.get("/")
    async def banner() -> JSONResponse:
        return JSONResponse(BANNER)

    return api


def router(dist: Path) -> APIRouter:
    root = dist.resolve()
    index = root / "index.html"
    api = APIRouter(include_in_schema=False)

    @api.get("/")
    async def home(request: Request) -> Response:
        return JSONResponse(BANNER) if wants_json(request) else FileResponse(index)

    @api.get("/{path:path}")
    async def asset_or_page(path: str) -> FileResponse:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(404, "Not Found")
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate)
        return FileResponse(index)

    return api


def available(dist: Path) -> bool:
    return (dist / "index.html").is_file()
