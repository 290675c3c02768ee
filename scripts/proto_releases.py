"""The record of released protos (proto/RELEASES), and recording a release in it.

    python scripts/proto_releases.py v0.2.0                 # release the protos of HEAD
    python scripts/proto_releases.py v0.2.0 --commit 1a2b3c
    python scripts/proto_releases.py v0.2.0 --root DIR      # another checkout (tests)

Each line of proto/RELEASES names a version and the commit whose proto/ it
released, oldest first. The record is committed, so it travels with the branch to
every clone and CI run (tags do not); scripts/proto_breaking.py exports the last
release's protos from that commit in git history and checks proto/ against them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = Path("proto") / "RELEASES"
VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")
COMMIT = re.compile(r"[0-9a-f]{40}")
HEADER = """\
# Released versions of the protos in proto/, oldest first: version, then the commit
# whose proto/ was released. Written by `make release-proto VERSION=...`;
# `make lint-proto` checks proto/ against the last line (scripts/proto_breaking.py).
"""


class ReleaseError(Exception):
    """The record is missing, malformed or names a commit this clone cannot use."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str

    @property
    def order(self) -> tuple[int, ...]:
        found = VERSION.fullmatch(self.version)
        assert found is not None
        return tuple(int(part) for part in found.groups())


def git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)


def read(root: Path) -> list[Release]:
    """Every recorded release, oldest first; an error if there is no record."""
    path = root / RECORD
    if not path.is_file():
        raise ReleaseError(f"{RECORD} is missing, so there is no release to compare with")
    releases = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not VERSION.fullmatch(fields[0]) or not COMMIT.fullmatch(fields[1]):
            raise ReleaseError(f"{RECORD}:{number}: expected 'vX.Y.Z <40-hex commit>': {line!r}")
        releases.append(Release(*fields))
    return releases


def baseline(root: Path, version: str | None = None) -> Release:
    """The release to compare with: the last one recorded, or the one named."""
    releases = read(root)
    if not releases:
        raise ReleaseError(
            f"{RECORD} records no release; record one: make release-proto VERSION=..."
        )
    if version is None:
        return releases[-1]
    for release in releases:
        if release.version == version:
            return release
    raise ReleaseError(f"{version} is not recorded in {RECORD}")


def require_in_history(root: Path, release: Release) -> None:
    """The release's commit is here and HEAD descends from it."""
    if git(root, "cat-file", "-e", f"{release.commit}^{{commit}}").returncode != 0:
        shallow = git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        hint = "git fetch --unshallow" if shallow else "git fetch origin main"
        raise ReleaseError(
            f"commit {release.commit} of {release.version} is not in this clone"
            f"{' (a shallow clone)' if shallow else ''}; fetch more history: {hint}"
        )
    if git(root, "merge-base", "--is-ancestor", release.commit, "HEAD").returncode != 0:
        raise ReleaseError(
            f"commit {release.commit} of {release.version} is not an ancestor of HEAD;"
            f" {RECORD} must name commits of this branch's history"
        )


def record(root: Path, version: str, revision: str) -> Release:
    """Append `version` at `revision`'s commit to the record (created if absent)."""
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not of the form vX.Y.Z")
    resolved = git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if resolved.returncode != 0:
        raise ReleaseError(f"{revision!r} names no commit in this clone")
    release = Release(version, resolved.stdout.decode().strip())
    require_in_history(root, release)
    path = root / RECORD
    releases = read(root) if path.exists() else []
    if releases:
        last = releases[-1]
        if release.order <= last.order:
            raise ReleaseError(f"{version} is not newer than the last release, {last.version}")
        if git(root, "merge-base", "--is-ancestor", last.commit, release.commit).returncode != 0:
            raise ReleaseError(f"{release.commit} does not descend from {last.version}'s commit")
    before = (path.read_text() if path.exists() else HEADER).rstrip("\n")
    path.write_text(f"{before}\n{release.version} {release.commit}\n")
    return release


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("version", help="the release, vX.Y.Z")
    parser.add_argument("--commit", default="HEAD", help="the released commit (default: HEAD)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to record in")
    args = parser.parse_args()
    try:
        release = record(args.root.resolve(), args.version, args.commit)
    except ReleaseError as error:
        print(f"release-proto: {error}", file=sys.stderr)
        return 1
    print(
        f"recorded {release.version} = {release.commit} in {RECORD}; commit that file"
        f" (a tag, `git tag {release.version} {release.commit[:12]}`, is optional)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
