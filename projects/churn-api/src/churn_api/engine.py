"""The serving engine: the trained model compiled at load time into numpy lookup tables.

Why: XGBoost's Python predict path costs ~0.3-0.5 ms per call on this machine whatever the batch
size (argument marshalling, a proxy DMatrix, cgroup reads on every call), and exact TreeSHAP
(`pred_contribs=True`) adds ~0.4 ms per row. That alone would cap one core at ~1,000 explained
predictions per second. Compiling the model once makes a prediction with its exact SHAP values
a handful of vectorised numpy operations.

It is an optimisation, not the only path: `scoring.py` serves any model with XGBoost's own
`pred_contribs=True` and picks this engine automatically when the model compiles (depth <= 3).

How: every tree of depth <= 3 has at most 7 split nodes, so a row's route through a tree is fully
described by the 7 bits "goes left at split j". For each tree and each of the 2^7 bit patterns,
the leaf value and the tree's exact TreeSHAP contribution of each feature are precomputed here
(path-dependent TreeSHAP, Lundberg et al. 2020, evaluated per root-to-leaf path in its closed
form: phi_i = v * (o_i - z_i) * sum_k e_k(others) * k! (d-1-k)! / d!, with z the cover fractions
and o the row's path indicators, both merged per feature along the path, as TreeSHAP's UNWIND
does). Serving then computes the bits, looks the tables up and sums. Contributions of one-hot
columns are summed per original IBM field (SHAP values are additive).

The tests check the compiled margins, probabilities and contributions against XGBoost's own
`predict(output_margin=True)`, `pred_contribs=True` and the scikit-learn model on every customer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit
from sklearn.calibration import _SigmoidCalibration
from sklearn.compose import ColumnTransformer
from sklearn.isotonic import IsotonicRegression

from churn_api.features import CATEGORICAL, NUMERICAL
from churn_api.schema import FEATURES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
MAX_SPLITS_PER_TREE = 7  # depth <= 3; the tables grow as 2^splits per tree
CHUNK_ROWS = 256  # batch rows per vectorised step: bounds the temporary (rows x trees x slots) arrays


class UnsupportedModelError(ValueError):
    pass


@dataclass(frozen=True)
class Encoder:
    """IBM fields -> the model's one-hot column layout, without pandas or scikit-learn on the hot path.

    Built from the fitted ColumnTransformer, so it reproduces `transform` exactly (a test checks it).
    """

    n_columns: int
    categorical: tuple[tuple[str, dict[Any, int]], ...]  # (field, value -> column)
    numeric: tuple[tuple[str, int], ...]  # (field, column)
    column_field: IntArray  # column -> index into FEATURES

    @classmethod
    def from_column_transformer(cls, transformer: ColumnTransformer) -> Encoder:
        onehot = transformer.named_transformers_["cat"]
        if getattr(onehot, "drop_idx_", None) is not None:
            raise UnsupportedModelError("the serving engine expects a full one-hot encoding (drop=None)")
        offset, categorical, numeric = 0, [], []
        column_field: list[int] = []
        for field, levels in zip(CATEGORICAL, onehot.categories_, strict=True):
            categorical.append((field, {level: offset + i for i, level in enumerate(levels)}))
            column_field += [FEATURES.index(field)] * len(levels)
            offset += len(levels)
        for field in NUMERICAL:
            numeric.append((field, offset))
            column_field.append(FEATURES.index(field))
            offset += 1
        expected = len(transformer.get_feature_names_out())
        if offset != expected:
            raise UnsupportedModelError(f"encoder layout has {offset} columns, the transformer {expected}")
        return cls(offset, tuple(categorical), tuple(numeric), np.asarray(column_field, dtype=np.intp))

    def encode_one(self, record: Mapping[str, Any]) -> npt.NDArray[np.float32]:
        row = np.zeros(self.n_columns, dtype=np.float32)
        for field, lookup in self.categorical:
            row[lookup[record[field]]] = 1.0
        for field, column in self.numeric:
            row[column] = record[field]
        return row

    def encode_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> npt.NDArray[np.float32]:
        """Column-wise encoding of many rows (a dict of field -> values)."""
        matrix = np.zeros((n_rows, self.n_columns), dtype=np.float32)
        rows = np.arange(n_rows)
        for field, lookup in self.categorical:
            matrix[rows, np.fromiter((lookup[v] for v in columns[field]), dtype=np.intp, count=n_rows)] = 1.0
        for field, column in self.numeric:
            matrix[:, column] = np.asarray(columns[field], dtype=np.float32)
        return matrix


@dataclass(frozen=True)
class TreeTables:
    """Every tree as (split columns, thresholds) plus, per bit pattern, its SHAP slots and leaf value.

    `table[tree * 2^K + pattern]` holds the tree's SHAP value for each of its S feature slots and,
    in slot S, the leaf value. `slot_field` sends each slot to its field (the leaf slot to index
    n_fields, where the sums become the margin; padding slots to n_fields + 1).
    """

    split_column: IntArray  # (trees * K,) column tested by each split (0 for padding)
    split_threshold: npt.NDArray[np.float32]  # (trees * K,) go left when x < threshold (float32, as XGBoost)
    powers: npt.NDArray[np.uint8]  # (K,) 2^j
    tree_offset: IntArray  # (trees,) tree * 2^K
    table: FloatArray  # (trees * 2^K, S + 1)
    slot_field: IntArray  # (trees * (S + 1),)
    field_map: FloatArray  # (trees * (S + 1), n_fields + 1) 0/1: slot sums per field and the margin, as a matmul
    expected_value: float  # base margin + the trees' cover-weighted mean leaf values (TreeSHAP's bias)
    base_margin: float
    n_fields: int

    @property
    def n_trees(self) -> int:
        return int(self.tree_offset.size)

    def _index(self, x: npt.NDArray[np.float32]) -> IntArray:
        """Encoded row(s) (..., columns) -> (..., trees) rows of `table`."""
        bits = (x[..., self.split_column] < self.split_threshold).reshape(*x.shape[:-1], self.n_trees, -1)
        if x.ndim == 1:  # one row (/predict): a bool @ intp product costs half the uint8 path below
            return np.asarray(bits @ self._powers_intp + self.tree_offset, dtype=np.intp)
        # uint8 matmul: a pattern is < 2^7; integer matmul has no BLAS but beats a sum() on these sizes
        return np.asarray((bits.view(np.uint8) @ self.powers) + self.tree_offset, dtype=np.intp)

    @cached_property
    def _powers_intp(self) -> IntArray:
        return self.powers.astype(np.intp)

    def explain_one(self, x: npt.NDArray[np.float32]) -> tuple[float, FloatArray]:
        """(margin, per-field SHAP values) of one encoded row."""
        slots = np.take(self.table, self._index(x), axis=0).ravel()
        sums = np.bincount(self.slot_field, weights=slots, minlength=self.n_fields + 2)
        return self.base_margin + float(sums[self.n_fields]), np.asarray(sums[: self.n_fields], dtype=float)

    def margins(self, X: npt.NDArray[np.float32]) -> FloatArray:
        out = np.empty(len(X))
        for start in range(0, len(X), CHUNK_ROWS):
            index = self._index(X[start : start + CHUNK_ROWS])
            out[start : start + len(index)] = self.base_margin + np.take(self.table[:, -1], index).sum(axis=1)
        return out

    def explain(self, X: npt.NDArray[np.float32]) -> tuple[FloatArray, FloatArray]:
        """(margins, per-field SHAP values (rows x fields)) of many encoded rows."""
        margins = np.empty(len(X))
        phi = np.empty((len(X), self.n_fields))
        for start in range(0, len(X), CHUNK_ROWS):
            index = self._index(X[start : start + CHUNK_ROWS])
            n = len(index)
            sums = np.take(self.table, index, axis=0).reshape(n, -1) @ self.field_map
            margins[start : start + n] = self.base_margin + sums[:, -1]
            phi[start : start + n] = sums[:, :-1]
        return margins, phi

    @classmethod
    def from_booster(cls, booster: Any, column_field: IntArray, n_fields: int) -> TreeTables:
        model = json.loads(booster.save_raw("json"))
        learner = model["learner"]
        if learner["objective"]["name"] != "binary:logistic":
            raise UnsupportedModelError(f"objective {learner['objective']['name']} is not binary:logistic")
        trees = learner["gradient_booster"]["model"]["trees"]
        splits_per_tree = [sum(1 for c in t["left_children"] if c != -1) for t in trees]
        K = max([*splits_per_tree, 1])
        if K > MAX_SPLITS_PER_TREE:
            raise UnsupportedModelError(
                f"a tree has {K} splits; the engine precomputes trees with at most {MAX_SPLITS_PER_TREE} "
                "(max_depth <= 3); XGBoost's own predict serves it instead"
            )
        compiled = [_compile_tree(t, K) for t in trees]
        S = max([len(c.slot_columns) for c in compiled] + [1])
        P, T = 2**K, len(trees)
        split_column = np.zeros((T, K), dtype=np.intp)
        split_threshold = np.zeros((T, K), dtype=np.float32)
        table = np.zeros((T * P, S + 1))
        slot_field = np.full((T, S + 1), n_fields + 1, dtype=np.intp)
        slot_field[:, S] = n_fields
        expected = 0.0
        for t, c in enumerate(compiled):
            split_column[t, : len(c.columns)] = c.columns
            split_threshold[t, : len(c.thresholds)] = c.thresholds
            table[t * P : (t + 1) * P, : c.phi.shape[1]] = c.phi
            table[t * P : (t + 1) * P, S] = c.leaf_value
            slot_field[t, : len(c.slot_columns)] = column_field[c.slot_columns]
            expected += c.expected
        field_map = np.zeros((slot_field.size, n_fields + 2))
        field_map[np.arange(slot_field.size), slot_field.ravel()] = 1.0
        tables = cls(
            split_column=split_column.ravel(),
            split_threshold=split_threshold.ravel(),
            powers=np.asarray(2 ** np.arange(K), dtype=np.uint8),
            tree_offset=np.arange(T, dtype=np.intp) * P,
            table=table,
            slot_field=slot_field.ravel(),
            field_map=field_map[:, : n_fields + 1],
            expected_value=expected,
            base_margin=0.0,
            n_fields=n_fields,
        )
        base = _base_margin(booster, tables, len(column_field))
        return replace(tables, base_margin=base, expected_value=base + expected)


@dataclass(frozen=True)
class _CompiledTree:
    columns: list[int]
    thresholds: list[float]
    leaf_value: FloatArray  # (2^K,)
    slot_columns: IntArray  # (S_t,)
    phi: FloatArray  # (2^K, S_t)
    expected: float


def _compile_tree(tree: Mapping[str, Any], K: int) -> _CompiledTree:
    left, right = tree["left_children"], tree["right_children"]
    column, condition, cover = tree["split_indices"], tree["split_conditions"], tree["sum_hessian"]
    if any(tree.get("split_type", [])):
        raise UnsupportedModelError("categorical splits are not supported (the model uses one-hot columns)")
    splits = [node for node in range(len(left)) if left[node] != -1]
    bit_of = {node: j for j, node in enumerate(splits)}
    P = 2**K
    bits = ((np.arange(P)[:, None] >> np.arange(K)) & 1).astype(bool)  # (P, K): 1 = goes left at split j
    slot_columns = sorted({column[node] for node in splits})
    slot_of = {c: s for s, c in enumerate(slot_columns)}
    phi = np.zeros((P, len(slot_columns)))
    leaf_value = np.zeros(P)
    expected = 0.0

    # Depth-first over root-to-leaf paths, carrying per-feature (zero fraction, one indicator).
    stack: list[tuple[int, dict[int, tuple[float, npt.NDArray[np.bool_]]]]] = [(0, {})]
    while stack:
        node, path = stack.pop()
        if left[node] == -1:
            value = float(condition[node])
            reached = np.ones(P, dtype=bool)
            for _, one in path.values():
                reached &= one
            leaf_value[reached] = value
            expected += value * cover[node] / cover[0]
            _add_path_shap(phi, path, value, slot_of)
            continue
        j, feature = bit_of[node], column[node]
        for child, goes_left in ((left[node], True), (right[node], False)):
            zero, one = path.get(feature, (1.0, np.ones(P, dtype=bool)))
            step = bits[:, j] if goes_left else ~bits[:, j]
            stack.append((child, {**path, feature: (zero * cover[child] / cover[node], one & step)}))
    return _CompiledTree(
        columns=[column[node] for node in splits],
        thresholds=[condition[node] for node in splits],
        leaf_value=leaf_value,
        slot_columns=np.asarray(slot_columns, dtype=np.intp),
        phi=phi,
        expected=expected,
    )


def _add_path_shap(
    phi: FloatArray, path: Mapping[int, tuple[float, npt.NDArray[np.bool_]]], value: float, slot_of: Mapping[int, int]
) -> None:
    """Add one leaf path's TreeSHAP terms for every bit pattern at once."""
    features = list(path)
    d = len(features)
    for feature in features:
        zero, one = path[feature]
        # Elementary symmetric sums over the other features: e_k = sum over subsets S of size k of
        # prod_{S} one * prod_{others \ S} zero.
        e: list[Any] = [np.ones(phi.shape[0])]
        for other in features:
            if other == feature:
                continue
            z, o = path[other]
            o_f = o.astype(float)
            e = [(e[k] * z if k < len(e) else 0.0) + (e[k - 1] * o_f if k > 0 else 0.0) for k in range(len(e) + 1)]
        weight = sum(e[k] * (math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d)) for k in range(d))
        phi[:, slot_of[feature]] += value * (one.astype(float) - zero) * weight


def _base_margin(booster: Any, tables: TreeTables, n_columns: int) -> float:
    """XGBoost's intercept (base_score as a margin), read off the model's own margin prediction."""
    import xgboost

    probe = np.zeros((1, n_columns), dtype=np.float32)
    margin = float(booster.predict(xgboost.DMatrix(probe), output_margin=True)[0])
    return margin - float(tables.margins(probe)[0])


@dataclass(frozen=True)
class Calibration:
    """The fitted calibrator as a closed form on the margin (sigmoid) or a table (isotonic)."""

    method: str
    a: float = 0.0
    b: float = 0.0
    x: FloatArray | None = None
    y: FloatArray | None = None

    @classmethod
    def from_calibrator(cls, calibrator: Any) -> Calibration:
        if isinstance(calibrator, _SigmoidCalibration):
            return cls("sigmoid", a=float(calibrator.a_), b=float(calibrator.b_))
        if isinstance(calibrator, IsotonicRegression):
            return cls(
                "isotonic",
                x=np.asarray(calibrator.X_thresholds_, dtype=float),
                y=np.asarray(calibrator.y_thresholds_, dtype=float),
            )
        raise UnsupportedModelError(f"unsupported calibrator {type(calibrator).__name__}")

    def one(self, margin: float) -> float:
        """Scalar version (no numpy dispatch on the single-prediction path)."""
        if self.method == "sigmoid":
            z = self.a * margin + self.b
            return 1.0 / (1.0 + math.exp(z)) if z > -700 else 1.0
        return float(self(margin))

    def __call__(self, margin: FloatArray | float) -> FloatArray:
        m = np.asarray(margin, dtype=float)
        if self.method == "sigmoid":
            return np.asarray(expit(-(self.a * m + self.b)), dtype=float)
        assert self.x is not None and self.y is not None
        return np.asarray(np.interp(m, self.x, self.y), dtype=float)  # clips at both ends, like out_of_bounds="clip"


@dataclass(frozen=True)
class Explained:
    probability: FloatArray
    margin: FloatArray
    contributions: FloatArray  # rows x fields, in log-odds of the uncalibrated booster


@dataclass(frozen=True)
class ScoringEngine:
    encoder: Encoder
    trees: TreeTables
    calibration: Calibration
    threshold: float
    fields: tuple[str, ...] = FEATURES
    name: str = "engine"

    @classmethod
    def from_model(cls, model: Any) -> ScoringEngine:
        """Compile a fitted `ChurnModel` (calibrated XGBoost pipeline + threshold)."""
        pipeline = model.booster_pipeline
        encoder = Encoder.from_column_transformer(pipeline.named_steps["features"])
        booster = pipeline.named_steps["xgb"].get_booster()
        trees = TreeTables.from_booster(booster, encoder.column_field, len(FEATURES))
        return cls(encoder, trees, Calibration.from_calibrator(model.calibrator), float(model.threshold))

    def explain_one(self, record: Mapping[str, Any]) -> tuple[float, FloatArray]:
        """(calibrated P(churn), per-field SHAP values) of one customer."""
        margin, phi = self.trees.explain_one(self.encoder.encode_one(record))
        return self.calibration.one(margin), phi

    def explain_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> Explained:
        margins, phi = self.trees.explain(self.encoder.encode_columns(columns, n_rows))
        return Explained(self.calibration(margins), margins, phi)

    def score_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> FloatArray:
        return self.calibration(self.trees.margins(self.encoder.encode_columns(columns, n_rows)))

    def explain_frame(self, frame: pd.DataFrame) -> Explained:
        return self.explain_columns({f: frame[f].tolist() for f in FEATURES}, len(frame))


def xgboost_field_contributions(model: Any, frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Reference: XGBoost's own exact TreeSHAP, summed per field -> (rows x fields, bias per row)."""
    import xgboost

    pipeline = model.booster_pipeline
    encoded = pipeline.named_steps["features"].transform(frame[list(FEATURES)])
    contribs = pipeline.named_steps["xgb"].get_booster().predict(xgboost.DMatrix(encoded), pred_contribs=True)
    encoder = Encoder.from_column_transformer(pipeline.named_steps["features"])
    per_field = np.zeros((len(frame), len(FEATURES)))
    np.add.at(per_field.T, encoder.column_field, contribs[:, :-1].T)
    return per_field, np.asarray(contribs[:, -1], dtype=float)
