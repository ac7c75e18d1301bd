"""READMEs: generated tables match the reports, every project follows the template, links resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlshared.cli import app
from mlshared.projects import ProjectSpec

SECTIONS = ("## Problem", "## Data and licence", "## Approach", "## Results", "## Limitations", "## How to run")


def test_readme_results_tables_are_not_stale() -> None:
    result = CliRunner().invoke(app, ["readme", "check"])
    assert result.exit_code == 0, result.output + "\nRun `portfolio readme sync` after a full run."


def test_every_project_readme_follows_the_template(projects: dict[str, ProjectSpec]) -> None:
    for spec in projects.values():
        text = spec.readme.read_text(encoding="utf-8")
        missing = [s for s in SECTIONS if s not in text]
        assert not missing, f"{spec.readme}: missing {missing}"
        assert "<!-- results:start" in text and "<!-- results:end -->" in text


def test_every_project_has_its_published_report(projects: dict[str, ProjectSpec]) -> None:
    for spec in projects.values():
        assert spec.published_report.is_file(), f"{spec.name}: run the full profile and commit reports/metrics.json"


def _links(text: str) -> list[str]:
    return [m for m in re.findall(r"\]\(([^)\s]+)\)", text) if not m.startswith(("http://", "https://", "#"))]


def _readmes() -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(["git", "ls-files", "*README.md"], cwd=root, capture_output=True, text=True, check=True)
    return [root / name for name in out.stdout.split()]


@pytest.mark.parametrize("readme", _readmes(), ids=lambda p: str(p.parent.name or "root"))
def test_relative_links_and_images_exist(readme: Path) -> None:
    broken = [link for link in _links(readme.read_text(encoding="utf-8")) if not (readme.parent / link).exists()]
    assert not broken, f"{readme}: broken links {broken}"
