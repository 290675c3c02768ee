"""Hatch build hook: generate the gRPC stubs into the wheel (see stubgen.py), and
require at least the grpcio and protobuf versions the stubs were generated with."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class StubsHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        spec = importlib.util.spec_from_file_location("stubgen", Path(self.root) / "stubgen.py")
        assert spec is not None
        assert spec.loader is not None
        stubgen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(stubgen)
        for path in stubgen.generate():
            relative = path.relative_to(Path(self.root) / "src")
            build_data["force_include"][str(path)] = str(relative)
        build_data["dependencies"] = [
            f"grpcio>={importlib.metadata.version('grpcio-tools')}",
            f"protobuf>={importlib.metadata.version('protobuf')}",
        ]
