"""Feature pipeline: NA semantics, engineered features, row independence and no target leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from house_prices.data import Houses
from house_prices.features import AmesFeatures, build_preprocessor
from house_prices.schema import TARGET


@pytest.fixture(scope="module")
def engineered(train_houses: Houses) -> pd.DataFrame:
    return AmesFeatures().fit(train_houses.X).transform(train_houses.X)


def test_na_means_none_and_zero(train_houses: Houses, engineered: pd.DataFrame) -> None:
    no_garage = train_houses.frame["GarageType"].isna()
    assert no_garage.sum() == 81
    assert (engineered.loc[no_garage, "GarageType"] == "None").all()
    assert (engineered.loc[no_garage, "GarageQual"] == 0).all()  # ordinal bottom of the scale
    assert (engineered.loc[no_garage, "HasGarage"] == 0).all()
    no_pool = train_houses.frame["PoolQC"].isna()
    assert (engineered.loc[no_pool, "PoolQC"] == 0).all()


def test_ordinal_scales_are_monotone(train_houses: Houses, engineered: pd.DataFrame) -> None:
    by_quality = engineered.groupby(train_houses.frame["ExterQual"])["ExterQual"].first()
    assert by_quality["Ex"] > by_quality["Gd"] > by_quality["TA"] > by_quality["Fa"]


def test_engineered_features(train_houses: Houses, engineered: pd.DataFrame) -> None:
    raw = train_houses.frame
    np.testing.assert_allclose(engineered["TotalSF"], raw["TotalBsmtSF"] + raw["1stFlrSF"] + raw["2ndFlrSF"])
    np.testing.assert_allclose(engineered["HouseAge"], (raw["YrSold"] - raw["YearBuilt"]).clip(lower=0))
    assert engineered["LotFrontage"].notna().all()  # imputed by neighbourhood median


def test_transform_is_row_independent(train_houses: Houses) -> None:
    """Serving transforms one house at a time; it must match the batch result."""
    features = AmesFeatures().fit(train_houses.X)
    batch = features.transform(train_houses.X.head(20))
    for i in (0, 7, 19):
        single = features.transform(train_houses.X.iloc[[i]])
        pd.testing.assert_frame_equal(single, batch.iloc[[i]], check_dtype=False)


def test_dtypes_do_not_matter(train_houses: Houses) -> None:
    """A house typed by hand (all strings, as from a form or a transposed row) gives the same features."""
    features = AmesFeatures().fit(train_houses.X)
    row = train_houses.X.iloc[[3]]
    as_objects = row.astype(object)
    pd.testing.assert_frame_equal(features.transform(as_objects), features.transform(row), check_dtype=False)


def test_the_target_never_reaches_the_features(train_houses: Houses) -> None:
    X_with_target = train_houses.frame.drop(columns=["Id"])
    assert TARGET in X_with_target
    preprocess = build_preprocessor("linear").fit(X_with_target, np.log1p(train_houses.y))
    names = set(preprocess.get_feature_names_out())
    assert not any(TARGET in name for name in names)
    # Shuffling the target must not change what the preprocessing learns.
    shuffled = preprocess.__class__(preprocess.steps).fit(
        train_houses.X, np.random.default_rng(0).permutation(train_houses.y)
    )
    np.testing.assert_allclose(
        preprocess.transform(train_houses.X.head(50)), shuffled.transform(train_houses.X.head(50))
    )


def test_unseen_categories_do_not_break_the_preprocessor(train_houses: Houses) -> None:
    preprocess = build_preprocessor("tree").fit(train_houses.X.iloc[:700])
    later = train_houses.X.iloc[700:]
    out = preprocess.transform(later)
    assert out.shape[0] == len(later) and np.isfinite(out).all()
