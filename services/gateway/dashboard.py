"""The built dashboard (frontend/dist) at /, with single-page-app fallback.

Files are served as they are; any other path outside the API gets index.html, so
the dashboard's own routes survive a reload. Unknown /api/ paths stay JSON 404s.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse


def router(dist: Path) -> APIRouter:
    root = dist.resolve()
    index = root / "index.html"
    api = APIRouter(include_in_schema=False)

    @api.get("/")
    async def home() -> FileResponse:
        return FileResponse(index)

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
