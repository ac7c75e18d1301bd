"""`portfolio init` on a copy of the repository: it renames the owner where the owner is named, nothing
else, twice changes nothing, and the copy still passes the layout and README tests."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlshared.cli import app
from mlshared.publish.checkout import copy_checkout, env_for
from mlshared.publish.identity import read_owner
from mlshared.publish.workflows import project_names

NAME, GITHUB, REPO = "Ada Lovelace", "ada-l", "ml-work"


@pytest.fixture(scope="module")
def initialised(root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    copy = copy_checkout(root, tmp_path_factory.mktemp("fork"))
    result = CliRunner().invoke(app, ["init", "--name", NAME, "--github", GITHUB, "--repo", REPO], env=env_for(copy))
    assert result.exit_code == 0, result.output
    return copy, result.output


def _head(copy: Path, path: str) -> str:
    shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=copy, capture_output=True, text=True)
    return shown.stdout


def _diff(copy: Path, *args: str) -> str:
    return subprocess.run(["git", "diff", *args], cwd=copy, capture_output=True, text=True, check=True).stdout


def test_init_changes_only_what_names_the_owner(root: Path, initialised: tuple[Path, str]) -> None:
    copy, _ = initialised
    changed = set(_diff(copy, "--name-only").split())
    packages = {"shared/pyproject.toml", *(f"projects/{p}/pyproject.toml" for p in project_names(copy))}
    old_url = read_owner(root).repo_url
    readmes = {
        f"projects/{p}/README.md"
        for p in project_names(copy)
        if old_url in _head(copy, f"projects/{p}/README.md")  # those with a badge or a link to the repository
    }
    assert changed == {"README.md", "LICENSE", "mkdocs.yml", *packages, *readmes}
    removed = [line for line in _diff(copy, "-U0").splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in _diff(copy, "-U0").splitlines() if line.startswith("+") and not line.startswith("+++")]
    # Every added line names the new owner; every removed line is a title, a holder, a URL or a site key.
    assert all(NAME in line or f"{GITHUB}/{REPO}" in line or f"{GITHUB}.github.io" in line for line in added), added
    assert len(removed) <= len(added)


def test_the_owner_is_named_everywhere(initialised: tuple[Path, str]) -> None:
    copy, _ = initialised
    owner = read_owner(copy)
    assert (owner.name, owner.github, owner.repo) == (NAME, GITHUB, REPO)
    assert (copy / "README.md").read_text().startswith(f"# ML portfolio of {NAME}\n")
    assert f"Copyright (c) 2026 {NAME}\n" in (copy / "LICENSE").read_text()
    for pyproject in [copy / "shared/pyproject.toml", *(copy / "projects").glob("*/pyproject.toml")]:
        assert tomllib.loads(pyproject.read_text())["project"]["authors"] == [{"name": NAME}], pyproject
    readme = (copy / "projects/house-prices/README.md").read_text()
    assert f"https://github.com/{GITHUB}/{REPO}/actions/workflows/house-prices.yml/badge.svg" in readme


def test_running_it_twice_changes_nothing(initialised: tuple[Path, str]) -> None:
    copy, _ = initialised
    before = _diff(copy)
    result = CliRunner().invoke(app, ["init", "--name", NAME, "--github", GITHUB, "--repo", REPO], env=env_for(copy))
    assert result.exit_code == 0, result.output
    assert "Nothing to change" in result.output
    assert _diff(copy) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Ada", "--github", "-bad-"], "is not a GitHub user name"),
        (["--name", "Ada", "--github", "ada", "--repo", "no spaces"], "is not a GitHub repository name"),
        (["--name", " ", "--github", "ada"], "--name must be a non-empty"),
    ],
)
def test_bad_values_are_refused_before_anything_changes(
    root: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    copy = copy_checkout(root, tmp_path)
    result = CliRunner().invoke(app, ["init", *args], env=env_for(copy))
    assert result.exit_code == 2
    assert message in result.output
    assert _diff(copy) == ""


@pytest.mark.slow
def test_the_initialised_copy_passes_the_layout_and_readme_tests(initialised: tuple[Path, str]) -> None:
    copy, _ = initialised
    tests = [
        "tests/test_layout.py",
        "tests/test_readmes.py",
        "tests/test_ci_config.py::test_every_project_has_its_workflow_and_badge",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=copy,
        env=env_for(copy),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
