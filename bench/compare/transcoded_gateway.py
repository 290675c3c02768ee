"""The gateway with no hand-kept routes: every RPC served by the transcoder, so the
benchmark can put transcoded create and get beside the hand-written ones. Started
like `python -m services.gateway`, with the same settings and start-up."""

from __future__ import annotations

from services.gateway.__main__ import main

if __name__ == "__main__":
    main(hand_kept=False)
