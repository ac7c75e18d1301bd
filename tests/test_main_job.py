"""The main job behind `make run`, end to end on the quick profile (outputs go to a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlshared.cli import app
from mlshared.reports import read_report

pytestmark = pytest.mark.slow


def test_pipeline_runs_house_prices_and_prints_the_summary(isolated_outputs: Path) -> None:
    result = CliRunner().invoke(app, ["pipeline", "--profile", "quick", "--project", "house-prices"])
    assert result.exit_code == 0, result.output
    assert "Summary (quick profile)" in result.output
    report = read_report(
        isolated_outputs / "projects" / "house-prices" / "artifacts" / "quick" / "reports" / "metrics.json"
    )
    assert report.profile == "quick"
    assert report.primary.value < 0.13
    assert (isolated_outputs / "projects" / "house-prices" / "artifacts" / "quick" / "submission.csv").is_file()


def test_pipeline_runs_churn_api(isolated_outputs: Path) -> None:
    result = CliRunner().invoke(app, ["pipeline", "--profile", "quick", "--project", "churn-api"])
    assert result.exit_code == 0, result.output
    report = read_report(
        isolated_outputs / "projects" / "churn-api" / "artifacts" / "quick" / "reports" / "metrics.json"
    )
    assert report.primary.name == "cv_roc_auc" and report.primary.value > 0.83
    predictions = isolated_outputs / "projects" / "churn-api" / "artifacts" / "quick" / "predictions.csv"
    assert predictions.read_text().splitlines()[0].startswith("customerID,churn_probability,churn,reason_1")
