"""Repository hygiene and the conventions every project shares."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from typer.main import get_command

from mlshared.projects import ProjectSpec

REQUIRED_FILES = ("pyproject.toml", "README.md", "params.yaml", "dvc.yaml")


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
        verbs = set(get_command(spec.app).commands)  # type: ignore[attr-defined]
        assert {"train", "evaluate", "predict"} <= verbs, spec.name
        assert verbs & {"serve", "app"}, spec.name
        for step in spec.pipeline:
            assert step[0] in verbs, f"{spec.name}: pipeline verb {step[0]} is not a command"


def test_dvc_pipelines_parse_and_metrics_show(root: Path) -> None:
    dvc = str(Path(__import__("sys").executable).parent / "dvc")
    stages = subprocess.run([dvc, "stage", "list", "--all"], cwd=root, capture_output=True, text=True)
    assert stages.returncode == 0, stages.stderr
    for project in (p for p in (root / "projects").iterdir() if (p / "dvc.yaml").is_file()):
        assert f"projects/{project.name}/dvc.yaml:train" in stages.stdout
    metrics = subprocess.run([dvc, "metrics", "show", "--json"], cwd=root, capture_output=True, text=True)
    assert metrics.returncode == 0, metrics.stderr
    assert "projects/house-prices/reports/metrics.json" in metrics.stdout
