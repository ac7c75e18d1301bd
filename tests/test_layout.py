"""Repository hygiene and the conventions every project shares: the contract the root README's
"Adding a project" section states, check for check."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import yaml
from typer.main import get_command

from mlshared.projects import ProjectSpec

REQUIRED_FILES = ("pyproject.toml", "README.md", "params.yaml", "dvc.yaml")
SHARED_VERBS = {"train", "evaluate", "predict", "run"}


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True)
    return [root / name for name in out.stdout.split("\0") if name]


def test_no_dataset_file_is_committed(root: Path) -> None:
    mirror_sums = root.parent / "shared" / "data" / "SHA256SUMS"
    registered = set()
    for manifest in (root / "shared" / "src" / "mlshared" / "datasets" / "checksums").glob("*.sha256"):
        registered |= {line.split()[0] for line in manifest.read_text().splitlines() if line.strip()}
    if mirror_sums.is_file():
        registered |= {line.split()[0] for line in mirror_sums.read_text().splitlines() if line.strip()}
    committed = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in tracked_files(root) if path.is_file()}
    leaked = [str(path) for path, digest in committed.items() if digest in registered]
    assert not leaked


def test_no_large_or_generated_files_are_committed(root: Path) -> None:
    big = [str(p) for p in tracked_files(root) if p.is_file() and p.stat().st_size > 2 * 1024 * 1024]
    assert not big
    generated_dirs = {"models", "artifacts", "mlruns", ".venv", "__pycache__"}
    generated = [str(p) for p in tracked_files(root) if generated_dirs & set(p.parts)]
    assert not generated


def test_every_project_is_a_complete_package(root: Path, projects: dict[str, ProjectSpec]) -> None:
    on_disk = {p.name for p in (root / "projects").iterdir() if (p / "pyproject.toml").is_file()}
    assert on_disk == set(projects), "every project registers a ProjectSpec entry point"
    for spec in projects.values():
        for name in REQUIRED_FILES:
            assert (spec.root / name).is_file(), f"{spec.name}: missing {name}"
        assert any((spec.root / "tests").glob("test_*.py")), f"{spec.name}: no tests"


def test_every_project_exposes_the_shared_verbs(projects: dict[str, ProjectSpec]) -> None:
    for spec in projects.values():
        commands = get_command(spec.app).commands  # type: ignore[attr-defined]
        verbs = set(commands)
        assert not SHARED_VERBS - verbs, f"{spec.name}: missing verbs {SHARED_VERBS - verbs}"
        assert verbs & {"serve", "app"}, f"{spec.name}: no serve or app verb"
        for step in spec.pipeline:
            assert step[0] in verbs, f"{spec.name}: pipeline verb {step[0]} is not a command"
            options = {option.name for option in commands[step[0]].params}
            assert "profile" in options, f"{spec.name}: pipeline verb {step[0]} takes no --profile"


def test_every_verb_that_reads_params_takes_set_overrides(projects: dict[str, ProjectSpec]) -> None:
    """`--params FILE` and `--set key.path=value` go together, so any value can be tried from the command line."""
    missing = []
    for spec in projects.values():
        for name, command in get_command(spec.app).commands.items():  # type: ignore[attr-defined]
            options = {option.name for option in command.params}
            if "params" in options and "overrides" not in options:
                missing.append(f"{spec.name} {name}")
    assert not missing, f"add `overrides: OverridesOpt = None` (mlshared.cli_options) to: {missing}"


def test_every_project_has_a_quick_profile(projects: dict[str, ProjectSpec]) -> None:
    for spec in projects.values():
        params = yaml.safe_load((spec.root / "params.yaml").read_text(encoding="utf-8"))
        assert "quick" in (params.get("profiles") or {}), f"{spec.name}: params.yaml has no profiles.quick"


def test_every_readme_has_an_annotated_file_tree(projects: dict[str, ProjectSpec]) -> None:
    for spec in projects.values():
        text = spec.readme.read_text(encoding="utf-8")
        assert "├── " in text and "└── " in text, f"{spec.readme}: no annotated file tree (├── / └──)"
        assert "src/" in text and "tests/" in text, f"{spec.readme}: the tree does not show src/ and tests/"


def test_dvc_pipelines_parse_and_metrics_show(root: Path) -> None:
    dvc = str(Path(__import__("sys").executable).parent / "dvc")
    stages = subprocess.run([dvc, "stage", "list", "--all"], cwd=root, capture_output=True, text=True)
    assert stages.returncode == 0, stages.stderr
    for project in (p for p in (root / "projects").iterdir() if (p / "dvc.yaml").is_file()):
        assert f"projects/{project.name}/dvc.yaml:train" in stages.stdout
    metrics = subprocess.run([dvc, "metrics", "show", "--json"], cwd=root, capture_output=True, text=True)
    assert metrics.returncode == 0, metrics.stderr
    assert "projects/house-prices/reports/metrics.json" in metrics.stdout
