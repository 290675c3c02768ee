"""Fail when proto/ breaks wire or source compatibility with the last release.

    python scripts/proto_breaking.py                  # against the last release recorded
    python scripts/proto_breaking.py --against v0.1.0
    python scripts/proto_breaking.py --root DIR       # another checkout (tests)

Clients generated from a released contract must keep working against newer
servers, so `buf breaking` (FILE rules, from buf.yaml) compares the working tree's
protos with those of the release. Releases are recorded in proto/RELEASES (version
and commit, see scripts/proto_releases.py), which travels with the branch; the
release commit's protos are exported from git history to a scratch directory laid
out as this tree is (its buf.yaml and vendored googleapis protos, which releases
from before the vendoring lack), since buf pairs the modules of the two sides by
their paths. Without a
recorded release, or without its commit in this clone, the check fails: it never
passes by comparing with nothing.
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

from proto_releases import Release, ReleaseError, baseline, git, require_in_history

ROOT = Path(__file__).resolve().parent.parent


def export(root: Path, release: Release, target: Path) -> None:
    """The release commit's proto/, with this tree's buf.yaml and vendored imports."""
    archive = git(root, "archive", "--format=tar", release.commit, "proto")
    archive.check_returncode()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    shutil.copy(root / "buf.yaml", target / "buf.yaml")
    third_party = target / "proto" / "third_party"
    shutil.rmtree(third_party, ignore_errors=True)
    shutil.copytree(root / "proto" / "third_party", third_party)


def buf() -> str:
    found = Path(sys.executable).parent / "buf"
    return str(found) if found.exists() else (shutil.which("buf") or "buf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", help="recorded release to compare with (default: the last)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to check")
    args = parser.parse_args()
    root = args.root.resolve()
    try:
        release = baseline(root, args.against)
        require_in_history(root, release)
    except ReleaseError as error:
        print(f"proto compatibility: cannot check: {error}", file=sys.stderr)
        return 1
    named = f"{release.version} (commit {release.commit[:12]})"
    with tempfile.TemporaryDirectory(prefix="proto-release-") as scratch:
        export(root, release, Path(scratch))
        checked = subprocess.run([buf(), "breaking", "--against", scratch], cwd=root, check=False)
    if checked.returncode != 0:
        print(f"proto compatibility: proto/ breaks clients of {named} (see above)", file=sys.stderr)
        return 1
    print(f"proto compatibility: proto/ is compatible with {named}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
