"""`python -m services.gateway`: serve the REST API and dashboard with uvicorn."""

from __future__ import annotations

from typing import Any

import uvicorn

from services.gateway.app import create_app
from taskflow.gc_tuning import freeze_startup_heap
from taskflow.logs import configure_logging
from taskflow.settings import Settings

# Open streams (SSE) get this long to end once shutdown starts.
SHUTDOWN_GRACE_S = 5


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the gateway, alone or in `taskflow all-in-one`."""
    return {
        "host": settings.gateway_host,
        "port": settings.gateway_port,
        "log_config": None,
        "access_log": settings.gateway_access_log,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_S,
        "proxy_headers": True,
    }


def main(*, hand_kept: bool = True) -> None:
    """`hand_kept=False`: every RPC served by the transcoder (the benchmark's other side)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.secret_values())
    app = create_app(settings, hand_kept=hand_kept)
    freeze_startup_heap()
    uvicorn.run(app, **uvicorn_options(settings))


if __name__ == "__main__":
    main()
