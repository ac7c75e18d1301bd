"""The report a training run turns into: metrics.json contract, figures, README table."""

from __future__ import annotations

import pytest

from house_prices.config import Config
from house_prices.evaluate import evaluate
from house_prices.train import TrainResult
from mlshared.paths import OutputDirs
from mlshared.reports import MetricsReport, read_report, render_results


@pytest.fixture(scope="module")
def report(trained: TrainResult, small_config: Config, outputs: OutputDirs) -> MetricsReport:
    return evaluate(small_config, "test", outputs)


def test_metrics_json_follows_the_contract(report: MetricsReport, outputs: OutputDirs, trained: TrainResult) -> None:
    assert read_report(outputs.metrics) == report
    assert report.primary.name == "cv_rmse_log1p"
    assert report.primary.higher_is_better is False
    selected = report.metrics["selected_model"]
    assert selected == min(trained.cv, key=lambda name: trained.cv[name].mean)
    assert report.primary.value == pytest.approx(trained.cv[selected].mean, abs=1e-5)
    assert report.primary.published_baseline == 0.1081
    ci = report.metrics["rmse_log1p_bootstrap_95ci"]
    assert ci["low"] < report.primary.value < ci["high"]
    # The two set-aside partial sales are scored out-of-sample and make the all-rows error larger.
    assert report.metrics["rmse_log1p_all_1460_rows"] > report.primary.value
    assert report.metrics["outlier_ids"] == [524, 1299]


def test_figures_are_written(report: MetricsReport, outputs: OutputDirs) -> None:
    for figure in report.metrics["figures"]:
        assert (outputs.reports / figure).stat().st_size > 10_000


def test_importance_ranks_living_area_and_quality_high(report: MetricsReport) -> None:
    top = list(report.metrics["permutation_importance_top15"])[:6]
    assert "OverallQual" in top and "GrLivArea" in top


def test_readme_table_has_a_row_per_model(report: MetricsReport) -> None:
    rendered = render_results(report)
    for label in ("Lasso", "XGBoost", "Blend"):
        assert label in rendered
