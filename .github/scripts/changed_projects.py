"""Which projects a change touches, as a GitHub Actions matrix.

Each project's own workflow (.github/workflows/<project>.yml) is the one place that says what its
tests need: its `push.paths` filters and the `with:` inputs it passes to project-tests.yml. This
script reads them, so ci.yml's pull-request matrix and the nightly run never repeat that list.

    git diff --name-only BASE HEAD | python .github/scripts/changed_projects.py   # changed projects
    python .github/scripts/changed_projects.py --all                              # every project

Prints `projects=<json list of {project, datasets, extra_command}>` (append it to $GITHUB_OUTPUT).
A project folder without its workflow is an error: its tests would silently never run.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
REUSABLE = "./.github/workflows/project-tests.yml"


def project_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "projects").iterdir() if (p / "pyproject.toml").is_file())


def caller(root: Path, project: str) -> dict[str, Any]:
    """The project's workflow: its path filters and the inputs it passes to the reusable workflow."""
    path = root / ".github" / "workflows" / f"{project}.yml"
    if not path.is_file():
        raise SystemExit(
            f"projects/{project} has no workflow {path.relative_to(root)}: "
            f"copy another project's (or scaffold with `portfolio new`) and add its badge to the README."
        )
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    calls = [job for job in workflow["jobs"].values() if job.get("uses") == REUSABLE]
    if len(calls) != 1:
        raise SystemExit(f"{path}: expected exactly one job that uses {REUSABLE}")
    inputs = calls[0].get("with", {})
    if inputs.get("project") != project:
        raise SystemExit(f"{path}: passes project={inputs.get('project')!r}, expected {project!r}")
    return {
        "paths": list(triggers["push"]["paths"]),
        "entry": {
            "project": project,
            "datasets": str(inputs.get("datasets", "")),
            "extra_command": str(inputs.get("extra-command", "")),
        },
    }


def matches(path: str, patterns: list[str]) -> bool:
    """GitHub-style path filters; fnmatch's `*` crosses `/`, which is what `**` means there."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def select(root: Path, changed: list[str] | None) -> list[dict[str, str]]:
    """Matrix entries for the projects whose filters match a changed file (all when `changed` is None)."""
    out = []
    for project in project_names(root):
        info = caller(root, project)
        if changed is None or any(matches(path, info["paths"]) for path in changed):
            out.append(info["entry"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="Every project, whatever changed.")
    parser.add_argument("--root", type=Path, default=ROOT, help="Repository root (default: this checkout).")
    args = parser.parse_args(argv)
    changed = None if args.all else [line.strip() for line in sys.stdin if line.strip()]
    print("projects=" + json.dumps(select(args.root, changed), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
