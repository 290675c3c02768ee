"""`make release-proto` (scripts/proto_releases.py) records a release in
proto/RELEASES, which the compatibility check then compares with, and refuses a
record that could not serve as a baseline: run on scratch repositories."""

from __future__ import annotations

from pathlib import Path

from tests.support.proto_repo import RECORD, check, commit_all, edit, git, our_protos, release


def recorded_lines(repo: Path) -> list[str]:
    lines = (repo / RECORD).read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_recording_a_release_makes_it_the_baseline(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    result = release(repo, "v1.0.0")
    assert result.returncode == 0, result.stderr
    assert recorded_lines(repo) == [f"v1.0.0 {first}"]
    commit_all(repo, "record v1.0.0")
    edit(repo, "task.proto", "message Task {\n", "message Task {\n  string later = 900;\n")
    second = commit_all(repo, "a field")
    assert release(repo, "v1.1.0").returncode == 0
    assert recorded_lines(repo) == [f"v1.0.0 {first}", f"v1.1.0 {second}"]
    assert "compatible with v1.1.0" in check(repo).stdout


def test_an_older_commit_can_be_recorded(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    edit(repo, "task.proto", "message Task {\n", "message Task {\n  string later = 900;\n")
    commit_all(repo, "a field")
    assert release(repo, "v1.0.0", "--commit", first[:10]).returncode == 0
    assert recorded_lines(repo) == [f"v1.0.0 {first}"]


def test_a_version_not_newer_than_the_last_is_refused(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    assert release(repo, "v1.2.0").returncode == 0
    before = (repo / RECORD).read_text()
    for version in ("v1.2.0", "v1.1.9"):
        result = release(repo, version)
        assert result.returncode == 1
        assert "not newer than the last release, v1.2.0" in result.stderr
    assert (repo / RECORD).read_text() == before


def test_a_malformed_version_or_an_unknown_commit_is_refused(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    bad_version = release(repo, "1.0")
    assert bad_version.returncode == 1
    assert "not of the form vX.Y.Z" in bad_version.stderr
    unknown = release(repo, "v1.0.0", "--commit", "no-such-branch")
    assert unknown.returncode == 1
    assert "names no commit" in unknown.stderr
    assert not (repo / RECORD).exists()


def test_a_commit_outside_the_branch_history_is_refused(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    git(repo, "switch", "-q", "-c", "side")
    edit(repo, "task.proto", "message Task {\n", "message Task {\n  string later = 900;\n")
    side = commit_all(repo, "side work")
    git(repo, "switch", "-q", "-")
    result = release(repo, "v1.0.0", "--commit", side)
    assert result.returncode == 1
    assert "not an ancestor of HEAD" in result.stderr
    assert not (repo / RECORD).exists()


def test_a_commit_older_than_the_last_release_is_refused(tmp_path: Path) -> None:
    repo = our_protos(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    edit(repo, "task.proto", "message Task {\n", "message Task {\n  string later = 900;\n")
    commit_all(repo, "a field")
    assert release(repo, "v1.0.0").returncode == 0
    result = release(repo, "v1.1.0", "--commit", first)
    assert result.returncode == 1
    assert "does not descend from v1.0.0's commit" in result.stderr
