"""Model behaviour: CV protocol, blend arithmetic, quality and sensible responses to inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from house_prices.config import Config
from house_prices.data import Houses
from house_prices.models import BlendRegressor, blend_log_predictions, build_model
from house_prices.predictor import HousePricePredictor
from house_prices.train import TrainResult
from mlshared.metrics import make_cv


def test_cv_folds_are_deterministic(trained: TrainResult, small_config: Config, train_houses: Houses) -> None:
    folds = [val.tolist() for _, val in trained.cv["lasso"].folds]
    again = [val.tolist() for _, val in make_cv(small_config.cv.n_splits, small_config.seed).split(np.zeros(1458))]
    assert folds == again
    assert folds == [val.tolist() for _, val in trained.cv["xgboost"].folds]  # every model on the same folds


def test_models_learn_far_better_than_the_mean(trained: TrainResult, train_houses: Houses) -> None:
    spread = float(np.log1p(train_houses.y).std())  # RMSE of always predicting the mean, about 0.40
    assert trained.cv["lasso"].mean < 0.13 < spread
    assert trained.cv["xgboost"].mean < 0.15
    assert trained.cv["blend"].mean <= max(trained.cv["lasso"].mean, trained.cv["xgboost"].mean)


def test_blend_is_a_weighted_geometric_mean() -> None:
    prices = [np.array([100_000.0, 200_000.0]), np.array([400_000.0, 200_000.0])]
    out = blend_log_predictions(prices, np.array([0.5, 0.5]))
    np.testing.assert_allclose(np.log1p(out), (np.log1p(prices[0]) + np.log1p(prices[1])) / 2)


def test_blend_rejects_bad_weights(train_houses: Houses, small_config: Config) -> None:
    member = build_model("lasso", {"alpha": 0.001}, 0, 0.75)
    with pytest.raises(ValueError, match="missing for: lasso"):
        BlendRegressor([("lasso", member)], {"other": 1.0}).fit(train_houses.X.head(50), train_houses.y.head(50))
    with pytest.raises(ValueError, match="non-negative"):
        BlendRegressor([("lasso", member)], {"lasso": -1.0}).fit(train_houses.X.head(50), train_houses.y.head(50))


def test_predictions_are_deterministic(predictor: HousePricePredictor, test_houses: Houses) -> None:
    first = predictor.predict(test_houses.frame.head(30))
    np.testing.assert_array_equal(first, predictor.predict(test_houses.frame.head(30)))


def _variant(house: pd.Series, **changes: float) -> pd.DataFrame:
    row = house.copy()
    for column, value in changes.items():
        row[column] = value
    return row.to_frame().T


def test_bigger_and_better_houses_cost_more(predictor: HousePricePredictor) -> None:
    house = pd.Series(predictor.typical_house)
    base = predictor.predict(_variant(house))[0]
    assert predictor.predict(_variant(house, OverallQual=house["OverallQual"] + 2))[0] > base
    bigger = house["1stFlrSF"] + 400
    assert predictor.predict(_variant(house, **{"1stFlrSF": bigger, "GrLivArea": house["GrLivArea"] + 400}))[0] > base


def test_interval_brackets_the_prediction(predictor: HousePricePredictor, test_houses: Houses) -> None:
    out = predictor.predict_with_interval(test_houses.frame.head(50))
    assert (out["low"] < out["SalePrice"]).all() and (out["SalePrice"] < out["high"]).all()


def test_explanations_point_at_what_differs(predictor: HousePricePredictor) -> None:
    house = pd.Series(predictor.typical_house)
    assert predictor.explain(house) == []  # the typical house differs from itself in nothing
    better = house.copy()
    better["OverallQual"] = 9
    drivers = {d.feature: d for d in predictor.explain(better)}
    assert drivers["OverallQual"].effect > 0.05
    assert drivers["OverallQual"].typical == house["OverallQual"]
