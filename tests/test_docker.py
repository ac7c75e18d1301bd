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
# Images that need a deep-learning framework at serving time, and why (every other API image stays lean).
NEEDS_FRAMEWORK = {"rag-qa": "embeds each question with all-MiniLM-L6-v2 through sentence-transformers"}


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


def test_every_compose_service_has_a_healthcheck_and_a_known_image() -> None:
    """Ours are built from a project's Dockerfile; the backing services (Redis, Qdrant, MLflow) are
    upstream images pinned to a version, never `latest` or an untagged name."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name
        else:
            image = service["image"]
            tag = image.rpartition(":")[2] if ":" in image.rsplit("/", 1)[-1] else ""
            assert tag and tag != "latest" and any(c.isdigit() for c in tag), f"{name}: pin {image} to a version"


def test_published_ports_stay_on_loopback() -> None:
    """`docker compose up` on a laptop must not expose an API (its key may be empty) on every interface."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: publish {port} on 127.0.0.1"


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
    if dockerfile.parent.name in NEEDS_FRAMEWORK:
        return
    assert not names & HEAVY, f"the image would install {names & HEAVY}"
