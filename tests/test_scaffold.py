"""`portfolio new`: on a copy of the repository, a scaffolded project installs, passes its own tests and the
repository's layout, README and CI tests, and joins `portfolio projects` and the main job; bad names are
refused before anything is written; every kind renders a project whose tests pass on its real data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlshared.cli import app
from mlshared.publish.checkout import copy_checkout, env_for

NAME = "weather-demo"


@pytest.fixture(scope="module")
def fork(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(root, tmp_path_factory.mktemp("fork"))


def _status(repo: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["house-prices"], "projects/house-prices already exists"),
        (["Weather_Demo"], "is not a valid project name"),
        (["2fast"], "is not a valid project name"),
        (["class"], "cannot be a Python package name"),
        (["json"], "would shadow an installed module"),
        (["ci"], "taken by a repository workflow"),
        ([NAME, "--kind", "audio"], "Unknown kind 'audio'"),
    ],
)
def test_bad_names_get_a_clear_error_and_create_nothing(fork: Path, args: list[str], message: str) -> None:
    before = _status(fork)
    result = CliRunner().invoke(app, ["new", *args, "--no-install"], env=env_for(fork))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _status(fork) == before


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.mark.slow
def test_a_new_project_joins_the_repository(fork: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new", NAME, "--kind", "tabular", "--no-install"], env=env_for(fork))
    assert result.exit_code == 0, result.output
    assert (fork / "projects" / NAME / "params.yaml").is_file()
    assert (fork / ".github" / "workflows" / f"{NAME}.yml").is_file()
    assert '"projects/weather-demo/src"' in (fork / "pyproject.toml").read_text()

    # Installed (entry point metadata in a target folder; the code itself imports from the copy).
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target"]
    _run([*pip, str(site), str(fork / "projects" / NAME)], fork, env_for(fork))
    shutil.rmtree(site / "weather_demo")
    env = env_for(fork)
    env["PYTHONPATH"] += f":{site}"
    env.pop("PORTFOLIO_OUTPUT_ROOT", None)  # the first full run writes the project's own reports/
    portfolio = [sys.executable, "-c", "from mlshared.cli import main; main()"]

    _run([sys.executable, "-m", "weather_demo", "run", "--profile", "full"], fork, env)
    assert (fork / "projects" / NAME / "reports" / "metrics.json").is_file()
    _run([*portfolio, "readme", "sync"], fork, env)
    assert NAME in _run([*portfolio, "projects"], fork, env)
    # `make run` is `portfolio pipeline` over every installed project; the new one runs in it.
    assert "portfolio pipeline --profile quick" in _run(["make", "-n", "-o", "setup", "run"], fork, env)
    summary = _run([*portfolio, "pipeline", "--project", NAME, "--profile", "quick"], fork, env)
    assert "weather-demo" in summary and "test_roc_auc" in summary

    tests = [
        f"projects/{NAME}",
        "tests/test_layout.py",
        "tests/test_readmes.py",
        "tests/test_ci_config.py::test_workflows_match_the_github_schema",
        "tests/test_ci_config.py::test_every_project_has_its_workflow_and_badge",
    ]
    env_tests = env_for(fork)
    env_tests["PYTHONPATH"] += f":{site}"
    _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], fork, env_tests)


def _skeleton(root: Path, dest: Path) -> Path:
    """What rendering reads: the template, the owner (mkdocs.yml) and the lint settings, in a git repository."""
    for name in ("copier.yml", "mkdocs.yml", "pyproject.toml"):
        shutil.copy(root / name, dest / name)
    shutil.copytree(root / "templates", dest / "templates")
    (dest / "projects").mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "skeleton"], cwd=dest, check=True)
    return dest


@pytest.mark.slow
def test_every_kind_renders_a_project_whose_tests_pass(root: Path, tmp_path: Path) -> None:
    """text, vision and rag (tabular is above): rendered side by side, lint-clean, their tests pass on real data."""
    from mlshared.publish import scaffold

    repo = _skeleton(root, tmp_path)
    projects = [repo / "projects" / f"demo-{kind}" for kind in ("text", "vision", "rag")]
    for project in projects:
        scaffold.render(repo, project.name, project.name.removeprefix("demo-"))
    ruff = str(Path(sys.executable).parent / "ruff")
    lint = subprocess.run([ruff, "check", *map(str, projects)], cwd=repo, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    sources = [project / "src" for project in projects] + [root / "shared" / "src"]
    env = {**env_for(repo), "PYTHONPATH": ":".join(map(str, sources))}
    tests = [str(project / "tests") for project in projects]
    _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], repo, env)
