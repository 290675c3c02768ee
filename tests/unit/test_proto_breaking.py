"""The proto compatibility check compares proto/ with the last release recorded in
proto/RELEASES, fails on a breaking change and only then, and fails clearly when it
has no baseline: run on scratch repositories holding a copy of our protos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.proto_repo import RECORD, check, commit_all, edit, git, our_protos, released

# (proto file, text, replacement): each a change clients of the release survive.
ADDITIONS = {
    "field": ("task.proto", "message Task {\n", "message Task {\n  string added_later = 900;\n"),
    "enum value": (
        "enums.proto",
        "  TASK_STATE_DLQ = 6;\n",
        "  TASK_STATE_DLQ = 6;\n  TASK_STATE_PAUSED = 99;\n",
    ),
    "rpc": (
        "scheduler_service.proto",
        "service SchedulerService {\n",
        "message PingRequest {}\nmessage PingResponse {}\n"
        "service SchedulerService {\n  rpc Ping(PingRequest) returns (PingResponse);\n",
    ),
}

# (proto file, text, replacement, a word buf's complaint names): each breaks them.
BREAKS = {
    "renamed field": ("task.proto", "  string task_id = 1;", "  string id = 1;", "task_id"),
    "retyped field": (
        "task.proto",
        "  int32 retry_count = 6;",
        "  int64 retry_count = 6;",
        "int64",
    ),
    "removed field": ("task.proto", "  int32 retry_count = 6;\n", "", "retry_count"),
    "removed enum value": (
        "enums.proto",
        "  TASK_STATE_DLQ = 6;\n",
        "",
        'enum value "6" on enum "TaskState"',
    ),
    "renamed rpc": ("scheduler_service.proto", "rpc CreateTask(", "rpc MakeTask(", "CreateTask"),
}


@pytest.mark.parametrize("change", sorted(ADDITIONS))
def test_an_addition_is_compatible_with_the_release(tmp_path: Path, change: str) -> None:
    repo = released(tmp_path)
    edit(repo, *ADDITIONS[change])
    result = check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compatible with v1.0.0" in result.stdout


@pytest.mark.parametrize("change", sorted(BREAKS))
def test_a_breaking_change_fails_against_the_release(tmp_path: Path, change: str) -> None:
    repo = released(tmp_path)
    proto, old, new, named = BREAKS[change]
    edit(repo, proto, old, new)
    result = check(repo)
    assert result.returncode == 1
    assert named in result.stdout + result.stderr
    assert "breaks clients of v1.0.0" in result.stderr


def test_the_last_release_is_the_baseline(tmp_path: Path) -> None:
    repo = released(tmp_path)
    edit(repo, *ADDITIONS["field"])
    commit_all(repo, "a field")
    assert check(repo, "--against", "v1.0.0").returncode == 0
    (repo / RECORD).write_text(
        f"{(repo / RECORD).read_text()}v1.1.0 {git(repo, 'rev-parse', 'HEAD')}\n"
    )
    edit(repo, "task.proto", "  string added_later = 900;\n", "")
    against_last = check(repo)
    assert against_last.returncode == 1
    assert "breaks clients of v1.1.0" in against_last.stderr
    assert check(repo, "--against", "v1.0.0").returncode == 0


def test_a_tag_without_a_record_is_no_baseline(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    git(repo, "tag", "v1.0.0")
    result = check(repo)
    assert result.returncode == 1
    assert "cannot check" in result.stderr
    assert f"{RECORD} is missing" in result.stderr


def test_a_record_of_no_release_fails(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    (repo / RECORD).write_text("# nothing released yet\n")
    result = check(repo)
    assert result.returncode == 1
    assert "records no release" in result.stderr


def test_a_malformed_record_fails_naming_its_line(tmp_path: Path) -> None:
    repo = released(tmp_path)
    (repo / RECORD).write_text(f"{(repo / RECORD).read_text()}v1.1.0 main\n")
    result = check(repo)
    assert result.returncode == 1
    assert f"{RECORD}:" in result.stderr
    assert "v1.1.0 main" in result.stderr


def test_an_unrecorded_version_is_refused(tmp_path: Path) -> None:
    result = check(released(tmp_path), "--against", "v0.9.0")
    assert result.returncode == 1
    assert "v0.9.0 is not recorded" in result.stderr


def test_a_shallow_clone_without_the_release_commit_says_fetch_more_history(
    tmp_path: Path,
) -> None:
    repo = released(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    result = check(clone)
    assert result.returncode == 1
    assert "not in this clone (a shallow clone)" in result.stderr
    assert "git fetch --unshallow" in result.stderr
    git(clone, "fetch", "-q", "--unshallow")
    assert check(clone).returncode == 0


def test_a_release_commit_outside_the_branch_history_fails(tmp_path: Path) -> None:
    repo = released(tmp_path)
    git(repo, "switch", "-q", "-c", "side")
    edit(repo, *ADDITIONS["field"])
    side = commit_all(repo, "side work")
    git(repo, "switch", "-q", "-")
    (repo / RECORD).write_text(f"{(repo / RECORD).read_text()}v1.1.0 {side}\n")
    result = check(repo)
    assert result.returncode == 1
    assert "not an ancestor of HEAD" in result.stderr
