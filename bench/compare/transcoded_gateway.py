"""The gateway with no hand-kept routes: every RPC served by the transcoder, so the
benchmark can put transcoded create and get beside the hand-written ones. Started
like `python -m services.gateway` (same settings, same start-up heap freeze)."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from taskflow.gc_tuning import freeze_startup_heap
from taskflow.logs import configure_logging
from taskflow.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings, hand_kept=False)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=settings.gateway_access_log,
    )


if __name__ == "__main__":
    main()
