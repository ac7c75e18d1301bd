"""CI configuration is valid: workflows and actions against their JSON schemas, the CI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
    )


def test_workflows_match_the_github_schema(root: Path) -> None:
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    result = check_jsonschema("vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_actions_match_the_schema(root: Path) -> None:
    actions = sorted((root / ".github" / "actions").glob("*/action.yml"))
    assert actions
    result = check_jsonschema("vendor.github-actions", *actions)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps: []\n")  # no runs-on
    assert check_jsonschema("vendor.github-workflows", broken).returncode != 0


def test_aggregate_job_needs_every_other_job(root: Path) -> None:
    workflow = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    gate = jobs["ci-ok"]
    assert gate["if"] == "always()"
    assert set(gate["needs"]) == set(jobs) - {"ci-ok"}


def test_every_project_has_a_ci_job_with_a_path_filter(root: Path) -> None:
    workflow = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    filters = yaml.safe_load(workflow["jobs"]["changes"]["steps"][1]["with"]["filters"])
    for project in sorted(p.name for p in (root / "projects").iterdir() if (p / "pyproject.toml").is_file()):
        assert project in workflow["jobs"], project
        assert f"projects/{project}/**" in filters[project]


def test_ci_entry_point_runs_the_readme_test_command(root: Path) -> None:
    script = root / ".ci" / "run"
    assert os.access(script, os.X_OK)
    assert "make test" in script.read_text()
    assert "make test" in (root / "README.md").read_text().split("\n## ")[0]  # in the README's opening


@pytest.mark.parametrize("target", ["run", "test", "setup", "lint", "help"])
def test_make_help_lists_the_main_targets(root: Path, target: str) -> None:
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0
    assert any(line.split()[0:1] == [target] for line in _strip_colours(out.stdout).splitlines() if line.strip())


def test_every_make_target_is_documented(root: Path) -> None:
    import re

    rules = [line for line in (root / "Makefile").read_text().splitlines() if re.match(r"^[a-zA-Z0-9_-]+:(?!=)", line)]
    assert len(rules) > 5
    undocumented = [line.split(":")[0] for line in rules if "## " not in line]
    assert not undocumented, f"targets without a '## description': {undocumented}"


def _strip_colours(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
