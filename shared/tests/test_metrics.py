"""Metrics against hand-computed values; CV and bootstrap behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlshared.metrics import (
    bootstrap_ci,
    classification_metrics,
    cross_val_oof,
    fold_scores,
    make_cv,
    regression_metrics,
    rmse,
)


def test_rmse_and_regression_metrics_by_hand() -> None:
    y, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0])
    assert rmse(y, p) == pytest.approx(math.sqrt(4 / 4))
    m = regression_metrics(y, p)
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 4 / 5)  # SS_res = 4, SS_tot = 5
    assert m["mape"] == pytest.approx(0.5 / 4)


def test_classification_metrics_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = classification_metrics(y, p, threshold=0.5)
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered correctly
    assert m["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert m["pr_auc"] == pytest.approx((1.0 + 2 / 3) / 2)  # AP: precision at each recall step


def test_cv_splits_are_seeded_and_shuffled() -> None:
    X = np.arange(100).reshape(-1, 1)
    first = [val.tolist() for _, val in make_cv(5, seed=7).split(X)]
    again = [val.tolist() for _, val in make_cv(5, seed=7).split(X)]
    other = [val.tolist() for _, val in make_cv(5, seed=8).split(X)]
    assert first == again and first != other
    assert first[0] != list(range(20))  # shuffled, not contiguous blocks


def test_stratified_cv_keeps_class_balance() -> None:
    y = np.array([0] * 80 + [1] * 20)
    for _, val in make_cv(5, seed=0, stratified=True).split(np.zeros((100, 1)), y):
        assert y[val].mean() == pytest.approx(0.2)


def test_cross_val_oof_predicts_every_row_out_of_fold() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3 + rng.normal(scale=0.1, size=200)
    result = cross_val_oof("ols", LinearRegression(), X, y, make_cv(5, 0), score=rmse)
    assert not np.isnan(result.oof).any()
    assert len(result.fold_scores) == 5
    assert result.mean == pytest.approx(0.1, abs=0.03)
    assert fold_scores(y, result.oof, result.folds, rmse) == result.fold_scores


def test_cross_val_oof_with_probabilities() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
    from sklearn.metrics import roc_auc_score

    result = cross_val_oof(
        "lr", LogisticRegression(), X, y, make_cv(5, 0, stratified=True),
        score=lambda t, p: float(roc_auc_score(t, p)),
        predict=lambda model, X_val: model.predict_proba(X_val)[:, 1],
    )  # fmt: skip
    assert ((result.oof >= 0) & (result.oof <= 1)).all()
    assert result.mean > 0.9


def test_bootstrap_ci_is_reproducible_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=500)
    p = y + rng.normal(scale=0.5, size=500)
    ci = bootstrap_ci(rmse, y, p, n_resamples=300, seed=3)
    assert ci == bootstrap_ci(rmse, y, p, n_resamples=300, seed=3)
    assert ci.low < ci.value < ci.high
    assert ci.value == pytest.approx(rmse(y, p))
    assert ci.low > 0.4 and ci.high < 0.6
