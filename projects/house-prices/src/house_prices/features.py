"""Feature engineering as scikit-learn transformers, so every step is fitted inside CV folds.

`AmesFeatures` turns a raw house frame into model-ready columns: it applies the missing-value
semantics of data_description.txt (NA = "no garage", "no pool", ...), maps the ordinal quality
scales to numbers and adds engineered features. What it learns (lot-frontage medians per
neighbourhood) is learned in `fit`, so nothing leaks from validation folds.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, RobustScaler

from house_prices.schema import FEATURES, NUMERIC

QUALITY_SCALE = {"Ex": 5, "Gd": 4, "TA": 3, "Fa": 2, "Po": 1}
ORDINAL_SCALES: dict[str, dict[str, int]] = {
    **dict.fromkeys(
        ("ExterQual", "ExterCond", "BsmtQual", "BsmtCond", "HeatingQC", "KitchenQual", "FireplaceQu", "GarageQual",
         "GarageCond", "PoolQC"),
        QUALITY_SCALE,
    ),
    "BsmtExposure": {"Gd": 4, "Av": 3, "Mn": 2, "No": 1},
    "BsmtFinType1": {"GLQ": 6, "ALQ": 5, "BLQ": 4, "Rec": 3, "LwQ": 2, "Unf": 1},
    "BsmtFinType2": {"GLQ": 6, "ALQ": 5, "BLQ": 4, "Rec": 3, "LwQ": 2, "Unf": 1},
    "GarageFinish": {"Fin": 3, "RFn": 2, "Unf": 1},
    "Functional": {"Typ": 7, "Min1": 6, "Min2": 5, "Mod": 4, "Maj1": 3, "Maj2": 2, "Sev": 1, "Sal": 0},
    "Fence": {"GdPrv": 4, "MnPrv": 3, "GdWo": 2, "MnWw": 1},
    "LandSlope": {"Gtl": 2, "Mod": 1, "Sev": 0},
    "LotShape": {"Reg": 3, "IR1": 2, "IR2": 1, "IR3": 0},
    "PavedDrive": {"Y": 2, "P": 1, "N": 0},
    "CentralAir": {"Y": 1, "N": 0},
    "Street": {"Pave": 1, "Grvl": 0},
}  # fmt: skip

# data_description.txt: NA in these columns means the house has none of the thing.
NA_MEANS_NONE = ("Alley", "BsmtQual", "BsmtCond", "BsmtExposure", "BsmtFinType1", "BsmtFinType2", "FireplaceQu",
                 "GarageType", "GarageFinish", "GarageQual", "GarageCond", "PoolQC", "Fence", "MiscFeature",
                 "MasVnrType")  # fmt: skip
# ...and these quantities are then zero.
NA_MEANS_ZERO = ("MasVnrArea", "BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF", "TotalBsmtSF", "BsmtFullBath",
                 "BsmtHalfBath", "GarageCars", "GarageArea")  # fmt: skip
# Near-constant (all but one house have public utilities) or redundant with engineered features.
DROPPED = ("Utilities",)


class AmesFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Raw Kaggle columns -> cleaned, ordinal-encoded and engineered features (a DataFrame)."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> AmesFeatures:
        frontage = pd.to_numeric(X["LotFrontage"], errors="coerce")
        self.frontage_by_neighborhood_ = frontage.groupby(X["Neighborhood"]).median().dropna().to_dict()
        self.frontage_median_ = float(frontage.median())
        self.feature_names_in_ = np.asarray(FEATURES, dtype=object)
        self.feature_names_out_ = np.asarray(self.transform(X.head(1)).columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        # Column-wise numpy work assembled into one DataFrame at the end: this runs on every
        # prediction (and once per explanation batch), so it avoids pandas' per-assignment overhead.
        # Dtypes depend on where a frame came from (CSV, a form, one transposed row); normalise them here.
        num = {c: pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float) for c in NUMERIC}
        cat = {c: X[c].to_numpy(dtype=object) for c in FEATURES if c not in NUMERIC}
        missing = {c: pd.isna(values) for c, values in cat.items()}

        for column in NA_MEANS_NONE:
            cat[column] = np.where(missing[column], "None", cat[column])
        for column in NA_MEANS_ZERO:
            num[column] = np.nan_to_num(num[column], nan=0.0)
        by_neighborhood = np.array(
            [self.frontage_by_neighborhood_.get(n, np.nan) for n in cat["Neighborhood"]], dtype=float
        )
        frontage = np.where(np.isnan(num["LotFrontage"]), by_neighborhood, num["LotFrontage"])
        num["LotFrontage"] = np.where(np.isnan(frontage), self.frontage_median_, frontage)
        # A house without a garage has no garage year; use the house's own year so the column stays monotone.
        num["GarageYrBlt"] = np.where(np.isnan(num["GarageYrBlt"]), num["YearBuilt"], num["GarageYrBlt"])

        for column, scale in ORDINAL_SCALES.items():
            # "None" (no basement, no pool...) is the bottom of the scale; a truly missing grade stays NaN
            # for the imputer.
            lookup = {**scale, "None": 0.0}
            num[column] = np.array([lookup.get(v, np.nan) for v in cat.pop(column)], dtype=float)

        sold = num["YrSold"]
        num["TotalSF"] = num["TotalBsmtSF"] + num["1stFlrSF"] + num["2ndFlrSF"]
        num["TotalBath"] = num["FullBath"] + 0.5 * num["HalfBath"] + num["BsmtFullBath"] + 0.5 * num["BsmtHalfBath"]
        porches = ("OpenPorchSF", "EnclosedPorch", "3SsnPorch", "ScreenPorch", "WoodDeckSF")
        num["TotalPorchSF"] = np.sum([num[c] for c in porches], axis=0)
        num["HouseAge"] = np.clip(sold - num["YearBuilt"], 0, None)
        num["YearsSinceRemodel"] = np.clip(sold - num["YearRemodAdd"], 0, None)
        num["IsRemodeled"] = (num["YearRemodAdd"] != num["YearBuilt"]).astype(float)
        num["IsNew"] = (num["YearBuilt"] >= sold).astype(float)
        num["OverallScore"] = num["OverallQual"] * num["OverallCond"]
        num["QualityArea"] = num["OverallQual"] * num["GrLivArea"]
        for flag, source in {"HasPool": "PoolArea", "Has2ndFloor": "2ndFlrSF", "HasGarage": "GarageArea",
                             "HasBasement": "TotalBsmtSF", "HasFireplace": "Fireplaces"}.items():  # fmt: skip
            num[flag] = (num[source] > 0).astype(float)

        # Month and year of sale act as labels (season, market year), not quantities.
        for column in ("MoSold", "YrSold"):
            values = num.pop(column)
            cat[column] = np.array([np.nan if np.isnan(v) else str(int(v)) for v in values], dtype=object)
        for column in DROPPED:
            cat.pop(column, None)
            num.pop(column, None)
        for column, values in cat.items():
            cat[column] = np.where(pd.isna(values), np.nan, values)
        return pd.DataFrame({**num, **cat}, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)


class SkewedColumns:
    """A column selector, evaluated when the ColumnTransformer is fitted: numeric columns whose
    absolute skew exceeds `threshold` (or, with `skewed=False`, the other numeric columns)."""

    def __init__(self, threshold: float, skewed: bool = True) -> None:
        self.threshold = threshold
        self.skewed = skewed

    def __call__(self, X: pd.DataFrame) -> list[str]:
        numeric = X.select_dtypes(include="number")
        columns = []
        for name in numeric.columns:
            values = numeric[name].dropna().to_numpy()
            # log1p is only defined for non-negative values; binary flags are not "skewed" in a useful sense.
            is_skewed = len(np.unique(values)) > 2 and values.min() >= 0 and abs(float(skew(values))) > self.threshold
            if is_skewed == self.skewed:
                columns.append(name)
        return columns


Flavour = Literal["linear", "tree"]


def build_preprocessor(flavour: Flavour, skew_threshold: float = 0.75, engineer: bool = True) -> Pipeline:
    """Houses -> numeric matrix. Linear models get log1p on skewed columns and robust scaling;
    tree models get the same columns without either (they are invariant to monotone transforms).
    With `engineer=False` the input is expected to be `AmesFeatures` output already (a blend
    computes it once for all its members)."""
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=3),
    )
    if flavour == "linear":
        numeric: list[tuple[str, Any, Any]] = [
            (
                "skewed",
                make_pipeline(
                    SimpleImputer(strategy="median"), FunctionTransformer(np.log1p, feature_names_out="one-to-one")
                ),
                SkewedColumns(skew_threshold, skewed=True),
            ),
            ("numeric", SimpleImputer(strategy="median"), SkewedColumns(skew_threshold, skewed=False)),
        ]
    else:
        numeric = [("numeric", SimpleImputer(strategy="median"), make_column_selector(dtype_include="number"))]
    columns = ColumnTransformer(
        [*numeric, ("categorical", categorical, make_column_selector(dtype_exclude="number"))],
        verbose_feature_names_out=False,
    )
    steps: list[tuple[str, Any]] = [("features", AmesFeatures())] if engineer else []
    steps.append(("columns", columns))
    if flavour == "linear":
        steps.append(("scale", RobustScaler()))
    return Pipeline(steps)
