"""Which model `app` and `predict` use: after `make run` (the quick profile, artifacts/quick/) the app
serves that model, and with none the error names the command that trains one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from house_prices import app as app_module
from house_prices import cli
from house_prices.predictor import MODEL_ENV, find_model
from mlshared.console import UserError
from mlshared.paths import profile_of


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty output root for house-prices, as on a fresh clone."""
    monkeypatch.setenv("PORTFOLIO_OUTPUT_ROOT", str(tmp_path))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    return tmp_path / "house-prices"


def _trained(model_path: Path, project: Path, profile: str, mtime: float) -> Path:
    folder = project / "models" if profile == "full" else project / "artifacts" / profile / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(shutil.copy(model_path, folder / "model.joblib"))
    os.utime(path, (mtime, mtime))
    return path


def test_without_a_model_the_error_names_the_command(project: Path) -> None:
    with pytest.raises(UserError) as error:
        find_model()
    assert "house-prices train --profile quick" in str(error.value) and "make run" in str(error.value)


def test_the_newest_model_of_any_profile_is_served(model_path: Path, project: Path) -> None:
    quick = _trained(model_path, project, "quick", 2_000_000_000)
    assert find_model() == quick.resolve() and profile_of(quick) == "quick"
    full = _trained(model_path, project, "full", 2_000_000_100)
    assert find_model() == full.resolve() and profile_of(full) == "full"
    assert find_model(profile="quick") == quick.resolve()


def test_app_verb_after_make_run_serves_the_quick_model(
    model_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = _trained(model_path, project, "quick", 2_000_000_000)
    started: dict[str, Any] = {}

    def fake_streamlit(command: list[str], env: dict[str, str]) -> int:
        started.update(command=command, env=env)
        return 0

    monkeypatch.setattr(cli.subprocess, "call", fake_streamlit)
    result = CliRunner().invoke(cli.app, ["app", "--port", "8599"])
    assert result.exit_code == 0, result.output
    assert started["env"][MODEL_ENV] == str(quick.resolve())
    assert "quick profile" in result.output and "8599" in " ".join(started["command"])


def test_app_verb_without_a_model_stops_before_starting_streamlit(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.subprocess, "call", lambda *a, **k: pytest.fail("Streamlit started without a model"))
    result = CliRunner().invoke(cli.app, ["app"])
    assert result.exit_code == 2
    assert "No trained house-prices model" in result.output and "house-prices train --profile quick" in result.output


def test_predict_full_profile_after_make_run_points_at_the_quick_model(model_path: Path, project: Path) -> None:
    _trained(model_path, project, "quick", 2_000_000_000)
    result = CliRunner().invoke(cli.app, ["predict"])
    assert result.exit_code == 2
    assert "No full-profile model" in result.output and "--profile quick" in result.output


def test_streamlit_run_without_any_model_shows_the_command(project: Path) -> None:
    at = AppTest.from_file(str(Path(app_module.__file__)), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No trained house-prices model" in e.value for e in at.error)
    assert any("house-prices train --profile quick" in i.value for i in at.info)
