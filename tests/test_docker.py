"""Container files, validated statically (no Docker engine is needed): hadolint on every Dockerfile,
the compose file against the compose spec, healthchecks everywhere, and lean images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(ROOT.glob("projects/*/Dockerfile"))
HEAVY = {"torch", "torchvision", "transformers", "tensorflow", "jax"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_hadolint_clean(dockerfile: Path) -> None:
    result = subprocess.run([str(BIN / "hadolint"), str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install fastapi\n")
    assert subprocess.run([str(BIN / "hadolint"), str(bad)], capture_output=True).returncode != 0


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_conventions(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage build"
    assert "HEALTHCHECK" in text
    user = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user and user[-1].split()[1] not in {"root", "0", "0:0"}, "runs as a non-root user"
    assert "python:3.11" in text and ":latest" not in text, "pinned base image"


def test_compose_file_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_compose_service_has_a_healthcheck_and_a_dockerfile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name


@pytest.mark.slow
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_image_dependencies_exclude_heavy_frameworks(dockerfile: Path, tmp_path: Path) -> None:
    """What the image's `pip install -c requirements.lock ./shared ./projects/<name>` resolves to."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
         "-c", str(ROOT / "requirements.lock"), str(ROOT / "shared"), str(dockerfile.parent)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert dockerfile.parent.name in names
    assert not names & HEAVY, f"the image would install {names & HEAVY}"
