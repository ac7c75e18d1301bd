"""Project discovery: each project registers a `ProjectSpec` under the entry point group
`mlshared.projects`, and the root `portfolio` CLI finds it there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import typer

from mlshared.paths import OutputDirs

ENTRY_POINT_GROUP = "mlshared.projects"


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    title: str
    root: Path
    app: typer.Typer
    # The verbs the main job runs, in order; each gets `--profile <profile>` appended.
    pipeline: tuple[tuple[str, ...], ...] = field(default=(("train",), ("evaluate",)))
    # Generated README blocks beyond the results table (e.g. "bench"), rendered from the full-profile
    # reports folder; `portfolio readme sync` writes them and `readme check` fails when they are stale.
    readme_blocks: Callable[[Path], dict[str, str]] | None = None

    def outputs(self, profile: str) -> OutputDirs:
        return OutputDirs.for_project(self.name, self.root, profile)

    @property
    def published_report(self) -> Path:
        """The full-profile report committed in the checkout (what the README shows)."""
        return OutputDirs(self.root, "full").metrics

    @property
    def readme(self) -> Path:
        return self.root / "README.md"


def discover() -> dict[str, ProjectSpec]:
    """Installed projects by name, in a stable order."""
    found: dict[str, ProjectSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        spec = ep.load()
        if not isinstance(spec, ProjectSpec):
            raise TypeError(f"Entry point {ep.name} -> {ep.value} is not a ProjectSpec")
        found[spec.name] = spec
    return dict(sorted(found.items()))
