"""Batch prediction: the Kaggle submission for test.csv, or prices for any CSV in the same schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from house_prices.data import Houses, load_test, read_houses
from house_prices.predictor import HousePricePredictor
from house_prices.schema import ID
from mlshared.console import console
from mlshared.datasets import DataSettings


def predict_houses(predictor: HousePricePredictor, houses: Houses, with_interval: bool = False) -> pd.DataFrame:
    """`Id,SalePrice` (Kaggle's submission format), plus `low,high` when asked for the interval.
    Files without an Id column get row numbers starting at 1."""
    ids = houses.ids if houses.ids is not None else pd.Series(range(1, len(houses.frame) + 1), name=ID)
    predictions = predictor.predict_with_interval(houses.frame)
    out = pd.DataFrame({ID: ids.to_numpy(), "SalePrice": predictions["SalePrice"].round(2).to_numpy()})
    if with_interval:
        out["low"] = predictions["low"].round(2).to_numpy()
        out["high"] = predictions["high"].round(2).to_numpy()
    return out


def predict_file(
    predictor: HousePricePredictor,
    source: Path | None,
    output: Path,
    with_interval: bool = False,
    settings: DataSettings | None = None,
) -> pd.DataFrame:
    """Predict every house of `source` (default: the Kaggle test.csv) and write `output`."""
    houses = load_test(settings) if source is None else read_houses(source)
    for warning in houses.warnings:
        console.print(f"[yellow]Warning:[/] {warning}")
    result = predict_houses(predictor, houses, with_interval)
    output.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(output, index=False)
    return result
