"""MLflow helpers against a real (temporary) SQLite store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from mlshared import tracking


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def test_flatten_nested_params() -> None:
    assert tracking.flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


def test_local_store_lives_in_the_workspace(tmp_path: Path) -> None:
    uri, artifacts = tracking.local_store(tmp_path)
    assert uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert artifacts == (tmp_path / "mlruns" / "artifacts").as_uri()


@pytest.mark.slow
def test_run_logs_and_registers_a_model_with_an_alias(store: Path) -> None:
    import mlflow

    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) ** 0.5})
    model = Ridge().fit(X, X["a"] * 2)
    with tracking.tracked_run("test-exp", "run", params={"model": {"alpha": 1.0}}, tags={"profile": "t"}) as run:
        tracking.log_metrics({"cv": {"rmse": 0.5}, "note": "ignored"})
        registered = tracking.log_sklearn_model(model, X.head(3), registered_name="demo", alias="champion")
    assert registered is not None and registered.alias_uri == "models:/demo@champion"
    finished = mlflow.get_run(run.info.run_id)
    assert finished.data.params["model.alpha"] == "1.0"
    assert finished.data.metrics["cv.rmse"] == 0.5
    assert finished.data.tags["profile"] == "t"
    loaded = mlflow.sklearn.load_model(registered.alias_uri)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert (store / "artifacts").is_dir()  # artifacts beside the SQLite file, not in ./mlruns


@pytest.mark.slow
def test_integer_columns_stay_integers_in_the_signature_without_a_warning(store: Path) -> None:
    import warnings

    import mlflow

    X = pd.DataFrame({"count": np.arange(20), "ratio": np.linspace(0.0, 1.0, 20)})
    model = Ridge().fit(X, X["count"] * 2.0)
    with tracking.tracked_run("test-exp", "ints"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registered = tracking.log_sklearn_model(model, X.head(3), registered_name="ints", alias="champion")
    assert registered is not None
    assert not [w for w in caught if "integer column" in str(w.message)]
    pyfunc = mlflow.pyfunc.load_model(registered.alias_uri)
    inputs = {spec.name: spec.type.name for spec in pyfunc.metadata.get_input_schema().inputs}
    assert inputs == {"count": "long", "ratio": "double"}
    np.testing.assert_allclose(pyfunc.predict(X), model.predict(X))  # integer requests pass the schema
