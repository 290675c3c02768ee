"""`python -m services.gateway`: serve the REST API and dashboard with uvicorn."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from taskflow.logs import configure_logging
from taskflow.settings import Settings

# Open streams (SSE) get this long to end once shutdown starts.
SHUTDOWN_GRACE_S = 5


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=settings.gateway_access_log,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
