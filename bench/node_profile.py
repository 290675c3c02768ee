"""Where a Node process's time went, from the .cpuprofile `node --cpu-prof` writes:
the idle share, then the hottest functions by own (self) time, as text fit to commit
under docs/profiles/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def _name(frame: dict[str, Any]) -> str:
    url = str(frame.get("url", "")).rsplit("/node_modules/", 1)[-1].rsplit("/", 2)[-2:]
    where = "/".join(url) if url != [""] else "native"
    name = frame.get("functionName") or "(anonymous)"
    return f"{name} ({where}:{frame.get('lineNumber', 0) + 1})"


def summary(path: Path, window: tuple[float, float], tasks: int, top: int = 25) -> list[str]:
    """Samples taken within `window` (CLOCK_MONOTONIC seconds, Python's
    time.monotonic(), which V8's profile timestamps count in µs): the drain alone,
    without the process's start."""
    profile = json.loads(path.read_text())
    nodes = {node["id"]: node for node in profile["nodes"]}
    own: Counter[str] = Counter()
    start, end = window[0] * 1e6, window[1] * 1e6
    at = float(profile["startTime"])
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        at += delta
        if start <= at <= end:
            own[_name(nodes[node_id]["callFrame"])] += delta
    total = sum(own.values()) or 1
    idle = sum(us for name, us in own.items() if name.startswith("(idle)"))
    busy = total - idle
    lines = [f"{total / 1e6:.2f} s of the drain profiled; idle {idle / total:.0%}, "
             f"busy {busy / 1e6:.2f} s = {busy / tasks:.0f} µs/task",
             "  own time, share of the busy time:"]  # fmt: skip
    for name, us in own.most_common(top + 1):
        if not name.startswith("(idle)"):
            lines.append(f"    {us / max(busy, 1):>5.1%}  {name}")
    return lines


def written(folder: Path) -> list[Path]:
    """The profiles `node --cpu-prof --cpu-prof-dir=folder` wrote."""
    return sorted(folder.glob("*.cpuprofile"))
