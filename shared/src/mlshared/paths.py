"""Where things live: the workspace (repository) root and per-project directories."""

from __future__ import annotations

import os
from pathlib import Path

OUTPUT_ROOT_ENV = "PORTFOLIO_OUTPUT_ROOT"


def find_workspace_root(start: Path | None = None) -> Path:
    """The repository root: `PORTFOLIO_HOME`, else the nearest ancestor holding `.git`, else cwd.

    A project lifted out into its own repository gets its own root the same way.
    """
    env = os.environ.get("PORTFOLIO_HOME")
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


def project_root(package_file: str) -> Path:
    """A project's directory (the one holding `params.yaml`), found from a module inside it.

    In a source checkout the package lives at `<project>/src/<package>/`; installed
    elsewhere, the current directory is used so `--params` and relative paths still work.
    """
    candidate = Path(package_file).resolve().parents[2]
    if (candidate / "params.yaml").exists():
        return candidate
    return Path.cwd()


class OutputDirs:
    """Where a run writes, by profile.

    The full profile writes the published outputs: `models/` (DVC-tracked, git-ignored) and
    `reports/` (metrics and figures the README embeds). Any other profile writes under
    `artifacts/<profile>/`, so a quick run never overwrites what the README shows.
    """

    def __init__(self, root: Path, profile: str) -> None:
        self.root = root
        self.profile = profile
        base = root if profile == "full" else root / "artifacts" / profile
        self.models = base / "models"
        self.reports = base / "reports"
        self.figures = self.reports / "figures"
        self.work = root / "artifacts" / profile

    @classmethod
    def for_project(cls, name: str, root: Path, profile: str) -> OutputDirs:
        """The project's output folders, or `$PORTFOLIO_OUTPUT_ROOT/<name>/...` when that is set
        (tests and CI use it so a run never writes into the checkout)."""
        override = os.environ.get(OUTPUT_ROOT_ENV)
        return cls(Path(override) / name if override else root, profile)

    @property
    def metrics(self) -> Path:
        return self.reports / "metrics.json"

    def ensure(self) -> OutputDirs:
        for folder in (self.models, self.reports, self.figures, self.work):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def trained_files(root: Path, name: str) -> list[Path]:
    """Every `name` a project's training wrote under `root`, newest first: `models/` (the full profile)
    and `artifacts/<profile>/models/` (any other). What a serve/app verb picks when none is named, so it
    works after `make run` (quick profile) as after a full run."""
    found = [root / "models" / name, *(root / "artifacts").glob(f"*/models/{name}")]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)


def profile_of(path: Path) -> str:
    """The profile that wrote a file found by `trained_files`: `artifacts/<profile>/models/...`, else `full`."""
    return path.parents[1].name if len(path.parents) > 2 and path.parents[2].name == "artifacts" else "full"
