"""The Dockerfile copies files that exist, runs a real service, and its final stage
holds no build tools and runs as an unprivileged user. (No image is built here.)"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from tests.deploy.files import DOCKERFILE, DOCKERIGNORE, ROOT, assert_runs_a_service


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for key, rest in self.instructions if key == keyword]


def stages() -> list[Stage]:
    """The Dockerfile's stages, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    found: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            words = rest.split()
            found.append(Stage(words[-1] if len(words) == 3 else "", words[0]))
        elif found:
            found[-1].instructions.append((keyword.upper(), rest))
    return found


def copy_sources(rest: str) -> tuple[str | None, list[str]]:
    """(the --from stage or None, the sources) of a COPY."""
    words = shlex.split(rest)
    flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--") and "=" in w)
    paths = [w for w in words if not w.startswith("--")]
    return flags.get("from"), paths[:-1]


def ignored() -> set[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return {line.rstrip("/") for line in lines if line and not line.startswith(("#", "!"))}


def test_every_copied_file_is_in_the_build_context() -> None:
    names = {stage.name for stage in stages()}
    for stage in stages():
        for rest in stage.args("COPY"):
            origin, sources = copy_sources(rest)
            if origin is not None:
                assert origin in names or origin == "uv", f"COPY --from={origin}: no such stage"
                continue
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert source.rstrip("/") not in ignored(), f"COPY {source}: in .dockerignore"


def test_the_stubs_are_generated_by_the_repository_script() -> None:
    (builder,) = [stage for stage in stages() if stage.name == "builder"]
    scripts = [word for run in builder.args("RUN") for word in run.split() if word.endswith(".py")]
    assert scripts == ["scripts/gen_protos.py"]
    assert (ROOT / scripts[0]).is_file()


def test_the_final_stage_runs_a_service_as_an_unprivileged_user() -> None:
    final = stages()[-1]
    (cmd,) = final.args("CMD")
    assert assert_runs_a_service(json.loads(cmd)) == "services.gateway"
    (user,) = final.args("USER")
    assert user.split(":")[0] not in {"root", "0"}


def test_the_final_stage_gets_only_the_venv_code_and_dashboard() -> None:
    final = stages()[-1]
    copied = {}
    for rest in final.args("COPY"):
        origin, sources = copy_sources(rest)
        assert origin is not None, f"the final stage copies {sources} from the context"
        copied.update(dict.fromkeys(sources, origin))
    assert copied == {
        "/app/.venv": "builder",
        "/app/taskflow": "builder",
        "/app/services": "builder",
        "/app/pyproject.toml": "builder",
        "/src/frontend/dist": "dashboard",
    }
    assert not any("uv" in run.split() or "apt-get" in run for run in final.args("RUN"))
