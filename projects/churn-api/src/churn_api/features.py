"""The feature transform as one scikit-learn ColumnTransformer, fitted inside every CV fold.

One-hot categories are fixed from the schema (not learned from the rows), so every fold and the
served model share one column layout, and an unknown category is an error rather than a silent
all-zeros row. customerID is not among the inputs: it cannot leak into a model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from churn_api.schema import CATEGORIES, NUMERIC

Flavour = Literal["tree", "linear"]
CATEGORICAL = tuple(CATEGORIES)
NUMERICAL = tuple(NUMERIC)


def build_preprocessor(flavour: Flavour) -> ColumnTransformer:
    """`tree`: full one-hot (every level its own column, which SHAP maps back to its field) and raw numbers.
    `linear`: one-hot without the redundant level of binary fields, standardised numbers and
    log1p(tenure), because churn risk falls fastest in the first months."""
    onehot = OneHotEncoder(
        categories=[list(CATEGORIES[c]) for c in CATEGORICAL],
        drop="if_binary" if flavour == "linear" else None,
        handle_unknown="error",
        sparse_output=False,
        dtype=np.float32 if flavour == "tree" else np.float64,
    )
    if flavour == "tree":
        return ColumnTransformer(
            [("cat", onehot, list(CATEGORICAL)), ("num", "passthrough", list(NUMERICAL))],
            sparse_threshold=0.0,
        )
    log_tenure = make_pipeline(FunctionTransformer(np.log1p, feature_names_out="one-to-one"), StandardScaler())
    return ColumnTransformer(
        [
            ("cat", onehot, list(CATEGORICAL)),
            ("num", StandardScaler(), list(NUMERICAL)),
            ("log", log_tenure, ["tenure"]),
        ],
        sparse_threshold=0.0,
    )
