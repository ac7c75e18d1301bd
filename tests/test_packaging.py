"""Every project can be lifted out: it installs on its own, pulling `shared/` by path and no other project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _project_dirs() -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    return sorted(p for p in (root / "projects").iterdir() if (p / "pyproject.toml").is_file())


@pytest.mark.parametrize("project", _project_dirs(), ids=lambda p: p.name)
def test_project_resolves_standalone(project: Path, root: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), "-c", str(root / "requirements.lock"), str(project)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    names = {item["metadata"]["name"] for item in json.loads(report.read_text())["install"]}
    assert {"mlshared", project.name} <= names
    others = {p.name for p in _project_dirs()} - {project.name}
    assert not names & others, f"{project.name} depends on another project: {names & others}"
