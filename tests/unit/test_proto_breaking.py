"""The proto compatibility check fails on a breaking change and only then: run on a
scratch repository holding a copy of our protos with a release tag."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "proto_breaking.py"
TASK_PROTO = Path("proto/taskflow/v1/task.proto")


def git(repo: Path, *args: str) -> None:
    identity = ("-c", "user.name=tests", "-c", "user.email=tests@localhost")
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def released_copy(tmp_path: Path, *, tag: str | None = "v1.0.0") -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "proto", repo / "proto")
    shutil.copy(ROOT / "buf.yaml", repo / "buf.yaml")
    git(repo, "init", "-q")
    git(repo, "add", "proto", "buf.yaml")
    git(repo, "commit", "-qm", "release")
    if tag:
        git(repo, "tag", tag)
    return repo


def edit_task_message(repo: Path, old: str, new: str) -> None:
    path = repo / TASK_PROTO
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_without_a_release_tag_there_is_nothing_to_compare(tmp_path: Path) -> None:
    result = check(released_copy(tmp_path, tag=None))
    assert result.returncode == 0, result.stderr
    assert "no release tag" in result.stdout


def test_an_added_field_is_compatible(tmp_path: Path) -> None:
    repo = released_copy(tmp_path)
    edit_task_message(
        repo,
        "message Task {\n",
        "message Task {\n  // Added after v1.0.0.\n  string added_later = 900;\n",
    )
    result = check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compatible with v1.0.0" in result.stdout


def test_a_renamed_field_breaks_clients_of_the_release(tmp_path: Path) -> None:
    repo = released_copy(tmp_path)
    edit_task_message(repo, "  string task_id = 1;", "  string id = 1;")
    result = check(repo)
    assert result.returncode == 1
    assert "task_id" in result.stdout + result.stderr
    assert "breaks clients of v1.0.0" in result.stderr
