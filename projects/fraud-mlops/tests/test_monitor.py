"""Drift monitoring: two windows of the same process do not ask for retraining; shifted amounts and scores do."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fraud_mlops.features import compute
from fraud_mlops.metrics import SCORE
from fraud_mlops.monitor import drift_report, screenshot_report, write_summary
from fraud_mlops.schema import AMOUNT, TIME

COLUMNS = [AMOUNT, "TX_DURING_NIGHT", "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW", SCORE]
REFERENCE, CURRENT = (date(2018, 5, 1), date(2018, 5, 10)), (date(2018, 5, 11), date(2018, 5, 20))


@pytest.fixture(scope="module")
def scored(small_log: pl.DataFrame) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return compute(small_log).with_columns(pl.Series(SCORE, rng.beta(1, 50, small_log.height)))


def test_the_same_process_needs_no_retraining(scored: pl.DataFrame, tmp_path: Path) -> None:
    result = drift_report(scored, COLUMNS, REFERENCE, CURRENT, 0.5, 5000, 0, tmp_path / "drift.html")
    assert not result.retrain, result.summary
    assert result.summary["prediction_drift"] is False
    assert (tmp_path / "drift.html").stat().st_size > 10_000
    write_summary(result, tmp_path / "drift.json")
    assert json.loads((tmp_path / "drift.json").read_text())["retrain"] is False


def test_shifted_amounts_and_scores_say_retrain(scored: pl.DataFrame, tmp_path: Path) -> None:
    late = pl.col(TIME) >= pl.datetime(2018, 5, 11)
    shifted = scored.with_columns(
        pl.when(late).then(pl.col(c) * 3).otherwise(pl.col(c)).alias(c)
        for c in (AMOUNT, "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW", SCORE)
    )
    result = drift_report(shifted, COLUMNS, REFERENCE, CURRENT, 0.5, 5000, 0, tmp_path / "drift.html")
    assert result.retrain
    assert {AMOUNT, SCORE} <= set(result.summary["drifted_columns"])
    assert result.summary["prediction_drift"] is True


@pytest.mark.browser
def test_the_readme_picture_is_the_rendered_report(scored: pl.DataFrame, tmp_path: Path) -> None:
    result = drift_report(scored, COLUMNS, REFERENCE, CURRENT, 0.5, 5000, 0, tmp_path / "drift.html")
    picture = screenshot_report(result.html, tmp_path / "drift.png")  # waits for Evidently's drawn heading
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000
