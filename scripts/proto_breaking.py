"""Fail when proto/ breaks wire or source compatibility with the last release.

    python scripts/proto_breaking.py                  # against the newest v* tag
    python scripts/proto_breaking.py --against v0.1.0
    python scripts/proto_breaking.py --root DIR       # another checkout (tests)

Clients generated from a released contract must keep working against newer
servers, so `buf breaking` (FILE rules, from buf.yaml) compares the working tree's
protos with those of the tag. The tag's tree is exported to a scratch directory
with the googleapis imports staged beside it, as they are never committed.
Without any release tag there is nothing to compare: it says so and succeeds.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from gen_protos import stage_googleapis

ROOT = Path(__file__).resolve().parent.parent


def git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True).stdout


def last_release(root: Path) -> str | None:
    tags = git(root, "tag", "--list", "v*", "--sort=-v:refname").decode().split()
    return tags[0] if tags else None


def export(root: Path, tag: str, target: Path) -> None:
    """The tag's proto/ and buf.yaml, with the googleapis imports they need."""
    archive = git(root, "archive", "--format=tar", tag, "proto", "buf.yaml")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    stage_googleapis(target / "build" / "protodeps")


def buf() -> str:
    found = Path(sys.executable).parent / "buf"
    return str(found) if found.exists() else (shutil.which("buf") or "buf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", help="release tag to compare with (default: newest v*)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to check")
    args = parser.parse_args()
    root = args.root.resolve()
    tag = args.against or last_release(root)
    if tag is None:
        print("proto compatibility: no release tag (v*) yet; nothing to compare with")
        return 0
    stage_googleapis(root / "build" / "protodeps")
    with tempfile.TemporaryDirectory(prefix="proto-release-") as scratch:
        export(root, tag, Path(scratch))
        checked = subprocess.run([buf(), "breaking", "--against", scratch], cwd=root, check=False)
    if checked.returncode != 0:
        print(f"proto compatibility: proto/ breaks clients of {tag} (see above)", file=sys.stderr)
        return 1
    print(f"proto compatibility: proto/ is compatible with {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
