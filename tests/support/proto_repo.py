"""Scratch git repositories holding a copy of our protos, for the tests of the proto
release record (scripts/proto_releases.py) and the compatibility check
(scripts/proto_breaking.py); both scripts run as processes, as `make` runs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORD = Path("proto/RELEASES")


def git(repo: Path, *args: str) -> str:
    identity = ("-c", "user.name=tests", "-c", "user.email=tests@localhost")
    done = subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def script(name: str, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/`name` on the checkout `repo`."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args, "--root", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The compatibility check, as `make lint-proto` runs it."""
    return script("proto_breaking.py", repo, *args)


def release(repo: Path, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Record a release, as `make release-proto` does."""
    return script("proto_releases.py", repo, version, *args)


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def our_protos(tmp_path: Path) -> Path:
    """A repository whose one commit holds our proto/ and buf.yaml, nothing released."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "proto", repo / "proto")
    (repo / RECORD).unlink(missing_ok=True)
    shutil.copy(ROOT / "buf.yaml", repo / "buf.yaml")
    git(repo, "init", "-q")
    commit_all(repo, "protos")
    return repo


def released(tmp_path: Path, version: str = "v1.0.0") -> Path:
    """`our_protos`, with its commit recorded as `version` and the record committed."""
    repo = our_protos(tmp_path)
    recorded = release(repo, version)
    assert recorded.returncode == 0, recorded.stderr
    commit_all(repo, f"record {version}")
    return repo


def edit(repo: Path, proto: str, old: str, new: str) -> None:
    """Replace the first `old` in proto/taskflow/v1/`proto` by `new`."""
    path = repo / "proto" / "taskflow" / "v1" / proto
    text = path.read_text()
    assert old in text, f"{old!r} not in {proto}"
    path.write_text(text.replace(old, new, 1))
