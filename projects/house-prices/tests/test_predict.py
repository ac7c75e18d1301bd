"""Kaggle workflow and model persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from house_prices.cli import app
from house_prices.data import Houses
from house_prices.predict import predict_file
from house_prices.predictor import HousePricePredictor
from mlshared.console import UserError


def test_submission_has_kaggles_format(predictor: HousePricePredictor, test_houses: Houses, tmp_path: Path) -> None:
    out = predict_file(predictor, None, tmp_path / "submission.csv")
    written = pd.read_csv(tmp_path / "submission.csv")
    assert list(written.columns) == ["Id", "SalePrice"]
    assert len(written) == 1459
    assert written["Id"].tolist() == test_houses.frame["Id"].tolist()
    assert np.isfinite(written["SalePrice"]).all() and (written["SalePrice"] > 10_000).all()
    assert 120_000 < written["SalePrice"].median() < 250_000
    pd.testing.assert_frame_equal(out, written, check_dtype=False)


def test_any_csv_in_the_schema_without_ids(predictor: HousePricePredictor, test_houses: Houses, tmp_path: Path) -> None:
    source = tmp_path / "mine.csv"
    test_houses.frame.head(5).drop(columns=["Id"]).to_csv(source, index=False)
    out = predict_file(predictor, source, tmp_path / "out.csv", with_interval=True)
    assert out["Id"].tolist() == [1, 2, 3, 4, 5]
    assert list(out.columns) == ["Id", "SalePrice", "low", "high"]


def test_model_file_roundtrip(predictor: HousePricePredictor, model_path: Path, test_houses: Houses) -> None:
    loaded = HousePricePredictor.load(model_path)
    np.testing.assert_allclose(
        loaded.predict(test_houses.frame.head(10)), predictor.predict(test_houses.frame.head(10))
    )
    assert loaded.metadata["mlflow_run_id"]


def test_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="house-prices train"):
        HousePricePredictor.load(tmp_path / "nope.joblib")


def test_cli_predict_writes_a_submission(model_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["predict", "--model", str(model_path), "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "s.csv")) == 1459


def test_cli_reports_bad_input_without_a_traceback(model_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["predict", str(bad), "--model", str(model_path)])
    assert result.exit_code == 2
    assert "house columns are missing" in result.output and "Traceback" not in result.output


def test_cli_help_lists_every_verb() -> None:
    result = CliRunner().invoke(app, ["--help"])
    for verb in ("validate", "train", "evaluate", "predict", "app", "run"):
        assert verb in result.output
