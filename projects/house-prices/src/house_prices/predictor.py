"""The trained artifact: the fitted blend plus what serving needs around it (interval, typical
house, explanations, provenance), saved as one joblib file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from house_prices.config import PROJECT_ROOT
from house_prices.schema import FEATURES, INTEGER_COLUMNS, NUMERIC
from mlshared.artifacts import load_model_file
from mlshared.console import UserError
from mlshared.paths import OutputDirs, profile_of, trained_files

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
MODEL_ENV = "HOUSE_PRICES_MODEL"
# `make run` trains the quick profile, into artifacts/quick/; `house-prices train` alone trains the full one.
TRAIN_HINT = (
    "Train one: `house-prices train --profile quick` (or `make run`, every project's quick pipeline), "
    "or `house-prices train` for the full profile (the README's model)."
)
# The columns that make a house "typical" when they sit near their median.
TYPICAL_KEYS = ("OverallQual", "OverallCond", "GrLivArea", "TotalBsmtSF", "YearBuilt", "LotArea", "GarageCars",
                "FullBath", "BedroomAbvGr", "TotRmsAbvGrd")  # fmt: skip


@dataclass(frozen=True)
class Driver:
    """How much one feature moves this house's price relative to the typical house."""

    feature: str
    value: Any
    typical: Any
    effect: float  # relative price change, e.g. +0.12 = this feature adds 12% vs the typical value


@dataclass
class HousePricePredictor:
    model: Any  # a fitted BlendRegressor: raw houses -> price in dollars
    log_residual_quantiles: tuple[float, float]  # from cross-validated residuals, for the interval
    interval_level: float
    typical_house: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def predict(self, houses: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(houses[list(FEATURES)]), dtype=float)

    def predict_with_interval(self, houses: pd.DataFrame) -> pd.DataFrame:
        """Point prediction and a prediction interval from the CV residual distribution (split-conformal
        style: the interval covers `interval_level` of out-of-fold errors)."""
        price = self.predict(houses)
        low_q, high_q = self.log_residual_quantiles
        return pd.DataFrame(
            {"SalePrice": price, "low": price * np.exp(low_q), "high": price * np.exp(high_q)},
            index=houses.index,
        )

    def explain(self, house: pd.Series, top: int = 8) -> list[Driver]:
        """One-at-a-time attribution: reset each feature to the typical house's value and measure
        how the predicted log price moves. Model-agnostic and cheap (one batch of 79 rows)."""
        base = house[list(FEATURES)].to_frame().T
        variants = pd.concat([base] * len(FEATURES), ignore_index=True)
        for i, column in enumerate(FEATURES):
            variants.loc[i, column] = self.typical_house[column]
        log_price = float(np.log(self.predict(base)[0]))
        effects = log_price - np.log(self.predict(variants))
        order = np.argsort(-np.abs(effects))[:top]
        return [
            Driver(FEATURES[i], house[FEATURES[i]], self.typical_house[FEATURES[i]], float(np.expm1(effects[i])))
            for i in order
            if abs(effects[i]) > 1e-6
        ]

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)
        return path

    @staticmethod
    def load(path: Path) -> HousePricePredictor:
        predictor = load_model_file(path, HousePricePredictor, "house-prices", MODEL_ENV)
        if predictor.format_version != FORMAT_VERSION:
            raise UserError(f"{path} is not a house-prices model of format {FORMAT_VERSION}.", hint="Retrain it.")
        return predictor


def output_root() -> Path:
    """Where training writes: the project, or `$PORTFOLIO_OUTPUT_ROOT/house-prices`."""
    return OutputDirs.for_project("house-prices", PROJECT_ROOT, "full").root


def trained_models(root: Path | None = None) -> list[Path]:
    """Every model `house-prices train` wrote, newest first: `models/` (full profile) and
    `artifacts/<profile>/models/` (any other profile)."""
    return trained_files(root or output_root(), MODEL_FILE)


def find_model(model: Path | None = None, profile: str | None = None) -> Path:
    """The model to serve: `model`, else `profile`'s, else `HOUSE_PRICES_MODEL`, else the newest model any
    profile trained, so the app works after `make run` (quick profile) as after a full run. With none, the
    error names the command that trains one."""
    if model is not None:
        return model.resolve()
    if profile is not None:
        path = OutputDirs.for_project("house-prices", PROJECT_ROOT, profile).models / MODEL_FILE
        if not path.is_file():
            others = sorted({profile_of(p) for p in trained_models()})
            also = f"; or use the {' or '.join(others)} profile's model (`--profile {others[0]}`)" if others else ""
            flag = "" if profile == "full" else f" --profile {profile}"
            raise UserError(
                f"No {profile}-profile model at {path}.", hint=f"Train it with `house-prices train{flag}`{also}."
            )
        return path.resolve()
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV]).resolve()
    newest = trained_models()
    if not newest:
        raise UserError(f"No trained house-prices model under {output_root()}.", hint=TRAIN_HINT)
    return newest[0].resolve()


def typical_house(frame: pd.DataFrame) -> dict[str, Any]:
    """The most typical real house of the training data: the one whose numeric columns sit closest
    to the median (in percentile rank) and whose categories most often match the most common value.

    A real house is internally consistent (a fireplace has a fireplace quality, a garage has a type),
    which a column-by-column median/mode house would not be.
    """
    numeric = frame[list(TYPICAL_KEYS)].apply(pd.to_numeric, errors="coerce")
    distance = (numeric.rank(pct=True) - 0.5).abs().fillna(0.5).sum(axis=1)
    for column in (c for c in FEATURES if c not in NUMERIC):
        mode = frame[column].value_counts(dropna=False).idxmax()
        matches = frame[column].isna() if pd.isna(mode) else frame[column].eq(mode)
        distance += 0.1 * (~matches.fillna(False)).astype(float)
    house = frame.loc[distance.idxmin(), list(FEATURES)]
    typical: dict[str, Any] = {}
    for name in FEATURES:
        value: Any = house[name]
        if pd.isna(value):
            typical[name] = None
        elif name in NUMERIC:
            typical[name] = int(value) if name in INTEGER_COLUMNS else float(value)
        else:
            typical[name] = value
    return typical
