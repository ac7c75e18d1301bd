"""CI configuration: every workflow and action is schema-valid and hardened, every project has its
own workflow and status badge, and the pull-request gate picks the projects a change touches."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mlshared.publish import workflows
from mlshared.publish.identity import read_owner

BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
    )


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def action_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "actions").glob("*/action.yml"))


def test_workflows_match_the_github_schema(root: Path) -> None:
    assert workflow_files(root)
    result = check_jsonschema("vendor.github-workflows", *workflow_files(root))
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_actions_match_the_schema(root: Path) -> None:
    assert action_files(root)
    result = check_jsonschema("vendor.github-actions", *action_files(root))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps: []\n")  # no runs-on
    assert check_jsonschema("vendor.github-workflows", broken).returncode != 0


def _steps(root: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in workflow_files(root):
        for job in workflows.load_workflow(path)["jobs"].values():
            out += [(path.name, step) for step in job.get("steps", [])]
    for path in action_files(root):
        out += [(path.parent.name, step) for step in workflows.load_workflow(path)["runs"]["steps"]]
    return out


def test_every_third_party_action_is_pinned_to_a_commit(root: Path) -> None:
    uses = [(name, step["uses"]) for name, step in _steps(root) if "uses" in step]
    remote = [(name, ref) for name, ref in uses if not ref.startswith("./")]
    assert remote
    unpinned = [(name, ref) for name, ref in remote if not SHA_PIN.match(ref)]
    assert not unpinned, f"pin these to a full commit SHA (with the tag in a comment): {unpinned}"
    # The tag the SHA stands for is written beside it, so a reader (and Dependabot) knows the version.
    for path in [*workflow_files(root), *action_files(root)]:
        for line in path.read_text().splitlines():
            if re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40}", line):
                assert re.search(r"# v\d", line), f"{path.name}: {line.strip()} has no `# vX.Y.Z` comment"


def test_every_checkout_drops_its_credentials(root: Path) -> None:
    checkouts = [(name, step) for name, step in _steps(root) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, name


def test_jobs_have_timeouts_and_least_permissions(root: Path) -> None:
    write_scopes: dict[str, set[str]] = {}
    for path in workflow_files(root):
        workflow = workflows.load_workflow(path)
        assert workflow.get("permissions") == {"contents": "read"}, f"{path.name}: default to contents: read"
        for name, job in workflow["jobs"].items():
            if "uses" not in job:  # a reusable-workflow call takes its timeouts from the called jobs
                assert isinstance(job.get("timeout-minutes"), int), f"{path.name}:{name} has no timeout-minutes"
            for scope, level in job.get("permissions", {}).items():
                if level == "write":
                    write_scopes.setdefault(f"{path.stem}:{name}", set()).add(scope)
    # Only publishing the site and opening the nightly pull request write anything.
    assert write_scopes == {
        "pages:deploy": {"pages", "id-token"},
        "nightly:pull-request": {"contents", "pull-requests"},
    }


def test_aggregate_job_needs_every_other_job(root: Path) -> None:
    jobs = workflows.load_workflow(root / ".github" / "workflows" / "ci.yml")["jobs"]
    gate = jobs["ci-ok"]
    assert gate["name"] == "CI result"  # the check branch protection requires (README, "CI")
    assert gate["if"] == "always()"
    assert set(gate["needs"]) == set(jobs) - {"ci-ok"}


def test_every_project_has_its_workflow_and_badge(root: Path) -> None:
    assert workflows.project_names(root)
    assert workflows.problems(root) == []


def test_project_workflows_call_the_reusable_one(root: Path) -> None:
    reusable = workflows.load_workflow(root / ".github" / "workflows" / "project-tests.yml")
    inputs = reusable["on"]["workflow_call"]["inputs"]
    assert inputs["project"]["required"] is True
    assert inputs["extra-command"]["required"] is False
    for project in workflows.project_names(root):
        caller = workflows.load_workflow(root / ".github" / "workflows" / f"{project}.yml")
        assert caller["name"] == project  # the badge's label on GitHub
        assert all("steps" not in job for job in caller["jobs"].values()), "steps live in project-tests.yml"
        assert set(caller["on"]) == {"push", "workflow_dispatch"}


def _copy_ci_tree(root: Path, dest: Path) -> Path:
    """The parts of the repository the CI contract reads: workflows, mkdocs.yml, projects' pyproject + README."""
    shutil.copytree(root / ".github", dest / ".github")
    shutil.copy(root / "mkdocs.yml", dest / "mkdocs.yml")
    for project in workflows.project_names(root):
        (dest / "projects" / project).mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            if (root / "projects" / project / name).is_file():
                shutil.copy(root / "projects" / project / name, dest / "projects" / project / name)
    return dest


def test_adding_a_project_without_workflow_or_badge_fails(root: Path, tmp_path: Path) -> None:
    copy = _copy_ci_tree(root, tmp_path)
    new = copy / "projects" / "weather-forecast"
    new.mkdir()
    (new / "pyproject.toml").write_text('[project]\nname = "weather-forecast"\n')
    (new / "README.md").write_text("# Weather forecast\n")
    found = workflows.problems(copy)
    assert any(p.startswith("weather-forecast: no workflow") for p in found), found
    # With a workflow but still no badge, the README is what fails.
    shutil.copy(copy / ".github/workflows/house-prices.yml", copy / ".github/workflows/weather-forecast.yml")
    text = (copy / ".github/workflows/weather-forecast.yml").read_text().replace("house-prices", "weather-forecast")
    (copy / ".github/workflows/weather-forecast.yml").write_text(text)
    mine = [p for p in workflows.problems(copy) if p.startswith("weather-forecast:")]
    assert len(mine) == 1 and "README.md lacks its status badge" in mine[0], mine


def test_a_badge_pointing_at_another_repository_fails(root: Path, tmp_path: Path) -> None:
    copy = _copy_ci_tree(root, tmp_path)
    owner = read_owner(copy)
    config = (copy / "mkdocs.yml").read_text().replace(owner.repo_url, "https://github.com/someone-else/portfolio")
    (copy / "mkdocs.yml").write_text(config)
    badgeless = {p.split(":")[0] for p in workflows.problems(copy) if "status badge" in p}
    assert badgeless == set(workflows.project_names(copy))


# --- the pull-request matrix: .github/scripts/changed_projects.py ---


@pytest.fixture(scope="module")
def picker(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("changed_projects", root / ".github/scripts/changed_projects.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _picked(picker: ModuleType, root: Path, changed: list[str] | None) -> list[str]:
    return [entry["project"] for entry in picker.select(root, changed)]


def test_a_project_change_tests_only_that_project(picker: ModuleType, root: Path) -> None:
    assert _picked(picker, root, ["projects/house-prices/src/house_prices/features.py"]) == ["house-prices"]
    assert _picked(picker, root, ["projects/churn-api/README.md", "projects/sentiment-bert/params.yaml"]) == [
        "churn-api",
        "sentiment-bert",
    ]


def test_shared_or_lock_changes_test_every_project(picker: ModuleType, root: Path) -> None:
    every = workflows.project_names(root)
    assert _picked(picker, root, ["shared/src/mlshared/metrics.py"]) == every
    assert _picked(picker, root, ["requirements.lock"]) == every
    assert _picked(picker, root, None) == every


def test_a_docs_only_change_tests_no_project(picker: ModuleType, root: Path) -> None:
    assert _picked(picker, root, ["README.md", "mkdocs.yml"]) == []


def test_the_matrix_carries_each_projects_inputs(picker: ModuleType, root: Path) -> None:
    entries = {e["project"]: e for e in picker.select(root, None)}
    assert entries["house-prices"]["datasets"] == "house-prices"
    if "fraud-mlops" in entries:
        assert entries["fraud-mlops"]["extra_command"] == "fraud-mlops gate"


def test_the_picker_refuses_a_project_without_workflow(picker: ModuleType, root: Path, tmp_path: Path) -> None:
    copy = _copy_ci_tree(root, tmp_path)
    (copy / "projects" / "orphan").mkdir()
    (copy / "projects" / "orphan" / "pyproject.toml").write_text("[project]\n")
    with pytest.raises(SystemExit, match="projects/orphan has no workflow"):
        picker.select(copy, ["README.md"])


def test_the_picker_prints_a_github_output_line(root: Path) -> None:
    out = subprocess.run(
        [sys.executable, ".github/scripts/changed_projects.py"],
        input="projects/house-prices/README.md\n",
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith('projects=[{"project":"house-prices",')


# --- the entry points a contributor runs ---


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
    rules = [line for line in (root / "Makefile").read_text().splitlines() if re.match(r"^[a-zA-Z0-9_-]+:(?!=)", line)]
    assert len(rules) > 5
    undocumented = [line.split(":")[0] for line in rules if "## " not in line]
    assert not undocumented, f"targets without a '## description': {undocumented}"


def _strip_colours(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_root_readme_shows_the_gate_and_site_badges_and_says_how_to_make_it_yours(root: Path) -> None:
    owner = read_owner(root)
    text = (root / "README.md").read_text()
    opening = text.split("\n## ")[0]
    for workflow in ("ci.yml", "pages.yml", "nightly.yml"):
        assert f"{owner.workflow_url(workflow)}/badge.svg" in opening, workflow
    assert owner.site_url in opening
    make_it_yours = text.split("## Make it yours\n", 1)[1].split("\n## ")[0]
    assert "portfolio init --name" in make_it_yours and "**CI result**" in make_it_yours
    assert "Source: **GitHub Actions**" in make_it_yours
