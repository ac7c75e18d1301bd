"""The newcomer path: which model `churn-api serve` (and the container) picks, and what it says without one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from churn_api.cli import app
from churn_api.settings import Settings, display_name, trained_models

ROOT = Path(__file__).resolve().parents[3]


def _touch(path: Path, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_the_newest_trained_model_of_any_profile_is_served(tmp_path: Path) -> None:
    assert trained_models(tmp_path) == []
    full = _touch(tmp_path / "models" / "model.joblib", age_s=100)
    quick = _touch(tmp_path / "artifacts" / "quick" / "models" / "model.joblib", age_s=10)
    assert trained_models(tmp_path) == [quick, full]
    settings = Settings(model_root=tmp_path)
    assert settings.model_file() == quick
    assert settings.model_name() == "artifacts/quick/models/model.joblib"  # relative: no host path
    assert Settings(model_root=tmp_path, model_path=full).model_file() == full
    assert Settings(model_root=tmp_path, model_uri="models:/churn-api@champion").model_name() == (
        "models:/churn-api@champion"
    )
    assert display_name(Path("/elsewhere/model.joblib"), tmp_path) == "model.joblib"


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """What compose passes for `${CHURN_API_KEY:-}`: no key (not an empty one that refuses everybody)."""
    for name in ("CHURN_API_KEY", "CHURN_MODEL_URI", "CHURN_MODEL_PATH"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert settings.api_key is None and settings.model_uri is None and settings.model_path is None


def test_serve_without_a_model_says_which_command_trains_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_OUTPUT_ROOT", str(tmp_path))
    monkeypatch.delenv("CHURN_MODEL_PATH", raising=False)
    monkeypatch.delenv("CHURN_MODEL_URI", raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "churn-api train --profile quick" in result.output and "make run" in result.output
    result = CliRunner().invoke(app, ["serve", "--profile", "quick"])
    assert result.exit_code == 2 and "churn-api train --profile quick" in result.output


def test_compose_serves_what_training_writes_on_localhost_only() -> None:
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["churn-api"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in service["volumes"]}
    # the folders `churn-api train` writes (full profile, and artifacts/<profile>/ for quick, what `make run` trains)
    assert mounts["./projects/churn-api/models"] == "/app/models"
    assert mounts["./projects/churn-api/artifacts"] == "/app/artifacts"
    assert "CHURN_MODEL_PATH" not in service.get("environment", {})  # the newest model, as `churn-api serve` picks
    assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])  # not every interface
    dockerfile = (ROOT / "projects" / "churn-api" / "Dockerfile").read_text()
    assert "CHURN_MODEL_ROOT=/app" in dockerfile and "CHURN_MODEL_PATH" not in dockerfile
