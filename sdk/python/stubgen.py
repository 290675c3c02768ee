"""Generate the SDK's gRPC stubs (+ .pyi types) from the repository's protos.

    python sdk/python/stubgen.py     # into src/taskflow_client/v1 (for development)

The wheel build (hatch_build.py) calls generate() too, so the stubs are built into
the wheel and never committed. Two differences from the service stubs in
taskflow/v1, both invisible on the wire:

- the modules live in `taskflow_client.v1` (imports rewritten), so the SDK never
  collides with the `taskflow` package of the services;
- the `google.api.http` REST annotations are left out, so the SDK needs no
  googleapis package at run time (only grpcio and protobuf).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "taskflow_client"
TARGET = HERE / "src" / PACKAGE / "v1"
# In a source tree the protos are the repository's; an sdist carries a copy.
PROTO_CANDIDATES = (HERE / "proto", HERE.parent.parent / "proto")
_HTTP_OPTION = re.compile(r"\n\s*option \(google\.api\.http\) = \{.*?\};", re.DOTALL)
_HTTP_IMPORT = 'import "google/api/annotations.proto";\n'


def proto_root() -> Path:
    for candidate in PROTO_CANDIDATES:
        if (candidate / "taskflow" / "v1").is_dir():
            return candidate
    raise SystemExit(f"no taskflow/v1 protos under {PROTO_CANDIDATES}")


def _plugin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install mypy-protobuf")
    return found


def _stage(source: Path, staged: Path) -> list[str]:
    """Copy the protos without their REST annotations; their names, relative."""
    names = []
    for proto in sorted((source / "taskflow" / "v1").glob("*.proto")):
        text = _HTTP_OPTION.sub("", proto.read_text()).replace(_HTTP_IMPORT, "")
        target = staged / "taskflow" / "v1" / proto.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        names.append(f"taskflow/v1/{proto.name}")
    return names


def _rewrite(path: Path) -> None:
    """Point imports of taskflow.v1 at taskflow_client.v1 (never the descriptor bytes)."""
    text = path.read_text()
    if path.suffix == ".pyi":
        text = re.sub(r"\btaskflow\.v1\b", f"{PACKAGE}.v1", text)
    else:
        text = re.sub(r"^from taskflow\.v1 import", f"from {PACKAGE}.v1 import", text, flags=re.M)
        text = re.sub(r"'taskflow\.v1\.(\w+_pb2)'", rf"'{PACKAGE}.v1.\1'", text)
    path.write_text(text)


def generate(target: Path = TARGET) -> list[Path]:
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as scratch:
        staged, out = Path(scratch) / "proto", Path(scratch) / "out"
        out.mkdir()
        names = _stage(proto_root(), staged)
        args = [
            "grpc_tools.protoc",
            f"--proto_path={staged}",
            f"--proto_path={resources.files('grpc_tools') / '_proto'}",
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out={out}",
            f"--mypy_grpc_out={out}",
            *names,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*_pb2*.py*"):
            stale.unlink()
        written = []
        for generated in sorted((out / "taskflow" / "v1").glob("*_pb2*.py*")):
            destination = target / generated.name
            shutil.copyfile(generated, destination)
            _rewrite(destination)
            written.append(destination)
    init = target / "__init__.py"
    init.write_text('"""Generated gRPC stubs of taskflow.v1."""\n')
    return [init, *written]


if __name__ == "__main__":
    print(f"generated {len(generate())} stub files in {TARGET.relative_to(HERE)}")
