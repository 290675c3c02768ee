"""Generate the Python gRPC stubs (+ .pyi types) from proto/ into taskflow/v1.

    python scripts/gen_protos.py              # regenerate taskflow/v1/*_pb2*.py[i]
    python scripts/gen_protos.py --check      # fail if taskflow/v1 differs from proto/

The googleapis protos we import are vendored in proto/third_party/googleapis (with
their licence); no stubs are generated for them (Python code imports them from
googleapis-common-protos).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
THIRD_PARTY = PROTO_ROOT / "third_party"
DEPS_ROOT = THIRD_PARTY / "googleapis"
OUTPUT_PACKAGE = Path("taskflow") / "v1"
# Beside the stubs: our protos with their comments (the gateway's OpenAPI descriptions).
DESCRIPTOR_SET = "taskflow.binpb"


def own_protos() -> list[str]:
    """Our .proto files, relative to proto/ (the vendored third-party ones left out)."""
    found = (p for p in PROTO_ROOT.rglob("*.proto") if not p.is_relative_to(THIRD_PARTY))
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in found)


def plugin(name: str) -> str:
    """Path of a protoc plugin installed beside this interpreter (mypy-protobuf)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the dev dependencies (uv sync)")
    return found


def generate(out_dir: Path) -> None:
    protos = own_protos()
    well_known = resources.files("grpc_tools") / "_proto"
    (out_dir / OUTPUT_PACKAGE).mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={DEPS_ROOT}",
        f"--proto_path={well_known}",
        f"--plugin=protoc-gen-mypy={plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        f"--descriptor_set_out={out_dir / OUTPUT_PACKAGE / DESCRIPTOR_SET}",
        "--include_source_info",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*_pb2*.py*")} | {
        p.name for p in directory.glob(DESCRIPTOR_SET)
    }


def check() -> int:
    """Regenerate into a scratch directory and compare with the stubs in the tree."""
    with tempfile.TemporaryDirectory() as scratch:
        generate(Path(scratch))
        fresh_dir = Path(scratch) / OUTPUT_PACKAGE
        tree_dir = ROOT / OUTPUT_PACKAGE
        fresh, current = generated_files(fresh_dir), generated_files(tree_dir)
        _, mismatch, errors = filecmp.cmpfiles(fresh_dir, tree_dir, sorted(fresh), shallow=False)
        drift = sorted(set(mismatch) | set(errors) | (current - fresh))
    if drift:
        print("stubs out of date with proto/ (run `make proto`):", *drift, sep="\n  ")
        return 1
    print(f"{len(fresh)} stub files match proto/")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if the stubs drifted")
    options = parser.parse_args()
    if options.check:
        return check()
    target = ROOT / OUTPUT_PACKAGE
    for stale in generated_files(target):
        (target / stale).unlink()
    generate(ROOT)
    print(f"generated {len(generated_files(target))} stub files in {OUTPUT_PACKAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
