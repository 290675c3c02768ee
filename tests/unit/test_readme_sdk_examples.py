"""The README's SDK sections show the example files the SDK tests run (tests/sdk):
each code block headed by an example's path is that file's code, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```(?:python|js)\n(?:#|//) (sdk/[\w/]+/examples/[\w.]+)\n(.*?)```", re.S)


def test_every_sdk_example_in_the_readme_is_the_tested_file() -> None:
    shown = BLOCK.findall((ROOT / "README.md").read_text())
    assert {path for path, _ in shown} == {
        "sdk/python/examples/client.py",
        "sdk/python/examples/worker.py",
        "sdk/typescript/examples/client.mjs",
        "sdk/typescript/examples/worker.mjs",
    }
    for path, code in shown:
        assert code in (ROOT / path).read_text(), f"README's {path} differs from the file"
