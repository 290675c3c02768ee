"""docs/operations.md "Every capability, every surface" names every RPC of every
service, so an RPC added to a .proto without a row there fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _section() -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    start = text.index("## Every capability, every surface")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_rpc_has_a_row() -> None:
    rpcs = {
        name
        for proto in (ROOT / "proto" / "taskflow" / "v1").glob("*_service.proto")
        for name in re.findall(r"^\s*rpc (\w+)\(", proto.read_text(), re.MULTILINE)
    }
    rows = "\n".join(line for line in _section().splitlines() if line.startswith("| "))
    named = set(re.findall(r"\b[A-Z][A-Za-z]+\b", rows))
    assert len(rpcs) > 40
    assert sorted(rpcs - named) == []
