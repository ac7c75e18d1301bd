"""The per-project CI contract: every project has its own thin workflow calling the reusable one,
with path filters, and its README carries that workflow's status badge (pointing at the owner's
repository). `problems` lists what breaks the contract; the tests and `portfolio new` use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlshared.publish.identity import Owner, project_badge, read_owner

REUSABLE = "./.github/workflows/project-tests.yml"
# Workflow files that are not a project's: a project may not take one of these names.
RESERVED = frozenset({"ci", "nightly", "pages", "project-tests"})


def project_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "projects").iterdir() if (p / "pyproject.toml").is_file())


def load_workflow(path: Path) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in loaded:  # YAML 1.1 reads a bare `on:` key as the boolean true
        loaded["on"] = loaded.pop(True)
    return {str(key): value for key, value in loaded.items()}


def required_paths(project: str) -> tuple[str, ...]:
    return (f"projects/{project}/**", "shared/**", "requirements.lock")


def problems(root: Path, owner: Owner | None = None) -> list[str]:
    """Every way a project misses its workflow or badge, as messages that say how to fix it."""
    owner = owner or read_owner(root)
    found: list[str] = []
    for project in project_names(root):
        path = root / ".github" / "workflows" / f"{project}.yml"
        if not path.is_file():
            found.append(
                f"{project}: no workflow {path.relative_to(root)} (copy another project's, or `portfolio new`)"
            )
            continue
        workflow = load_workflow(path)
        calls = [job for job in workflow.get("jobs", {}).values() if job.get("uses") == REUSABLE]
        if len(calls) != 1 or calls[0].get("with", {}).get("project") != project:
            found.append(f"{project}: {path.name} must have one job `uses: {REUSABLE}` with `project: {project}`")
        paths = workflow.get("on", {}).get("push", {}).get("paths", [])
        missing = [p for p in required_paths(project) if p not in paths]
        if missing:
            found.append(f"{project}: {path.name} push.paths lacks {missing}")
        readme = root / "projects" / project / "README.md"
        badge = project_badge(owner, project)
        if not readme.is_file() or badge not in readme.read_text(encoding="utf-8"):
            found.append(f"{project}: README.md lacks its status badge under the title: {badge}")
    return found
