"""MLflow helpers: a local embedded store by default, a server when MLFLOW_TRACKING_URI is set.

Local default: `<repo>/mlruns/mlflow.db` (SQLite) with artifacts in `<repo>/mlruns/artifacts`,
both git-ignored. Browse them with `make mlflow-ui`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mlshared.paths import find_workspace_root

TRACKING_ENV = "MLFLOW_TRACKING_URI"
# MLflow draws a "Downloading artifacts" bar whenever it copies a model, and redraws it on every file, so
# console.TQDM_DELAY cannot hide it. From a local store the copy takes milliseconds and the bar is noise repeated
# for every load; from a tracking server it is a real download and keeps MLflow's default. A value set in the
# environment wins.
ARTIFACT_BARS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
REMOTE_SCHEMES = ("http://", "https://", "databricks")


def local_store(root: Path | None = None) -> tuple[str, str]:
    """(tracking URI, artifact root URI) of the embedded store under the workspace root."""
    base = (root or find_workspace_root()) / "mlruns"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'mlflow.db'}", (base / "artifacts").as_uri()


def configure_uri() -> str | None:
    """Point MLflow at the configured store (for reading the registry too); returns the artifact root
    that new experiments should use, or None when the server decides."""
    import mlflow

    uri = os.environ.get(TRACKING_ENV)
    artifact_root: str | None = None
    if not uri:
        uri, artifact_root = local_store()
    elif uri.startswith("sqlite:///"):
        # A SQLite store keeps its artifacts beside the database, not in ./mlruns of the current directory.
        artifact_root = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    if not uri.startswith(REMOTE_SCHEMES):
        os.environ.setdefault(ARTIFACT_BARS_ENV, "false")
    mlflow.set_tracking_uri(uri)
    return artifact_root


def configure(experiment: str) -> str:
    """Point MLflow at the configured store and make sure `experiment` exists; returns its id."""
    import mlflow

    artifact_root = configure_uri()
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        experiment_id = str(existing.experiment_id)
    else:
        location = f"{artifact_root}/{experiment}" if artifact_root else None
        experiment_id = str(mlflow.create_experiment(experiment, artifact_location=location))
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys, the shape MLflow params and metrics want."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@contextmanager
def tracked_run(
    experiment: str, run_name: str, params: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """Start a run in `experiment`, logging flattened params and tags up front."""
    import mlflow

    configure(experiment)
    with mlflow.start_run(run_name=run_name, tags=dict(tags or {})) as run:
        if params:
            flat = {k: (v if isinstance(v, int | float | bool) else str(v)) for k, v in flatten(params).items()}
            mlflow.log_params(flat)
        yield run


def log_metrics(metrics: Mapping[str, Any]) -> None:
    """Log every numeric leaf of a nested metrics dict under dotted names."""
    import mlflow

    numeric = {
        k: float(v) for k, v in flatten(metrics).items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    mlflow.log_metrics(numeric)


def log_artifacts(paths: list[Path], artifact_path: str | None = None) -> None:
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


def log_to_run(run_id: str | None, experiment: str, metrics: Mapping[str, Any], figures: list[Path]) -> None:
    """Add evaluation metrics and figures to the training run that produced the model (if it was tracked)."""
    if not run_id:
        return
    import mlflow

    configure(experiment)
    with mlflow.start_run(run_id=run_id):
        log_metrics(metrics)
        log_artifacts(figures, artifact_path="figures")


def pinned_requirements(*distributions: str) -> list[str]:
    """`name==version` of installed distributions: explicit, and far faster than MLflow's inference."""
    return [f"{name}=={metadata.version(name)}" for name in distributions]


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    alias: str | None
    model_uri: str

    @property
    def alias_uri(self) -> str:
        return f"models:/{self.name}@{self.alias}" if self.alias else f"models:/{self.name}/{self.version}"


def register(model_uri: str, name: str, alias: str | None = None) -> RegisteredModel:
    """Register a logged model and point `alias` (e.g. `champion`) at the new version."""
    import mlflow

    version = mlflow.register_model(model_uri, name)
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return RegisteredModel(name, str(version.version), alias, model_uri)


def _log_and_register(
    log_model: Callable[..., Any],
    registered_name: str | None,
    alias: str | None,
    requirements: tuple[str, ...],
    code_packages: tuple[str, ...],
    **model: Any,
) -> RegisteredModel | None:
    """`log_model(**model)` (an MLflow flavour's) with pinned requirements and the folders of the importable local
    `code_packages` copied in, so the model loads without installing them; registered when a name is given."""
    import importlib

    code_paths = [str(Path(importlib.import_module(pkg).__file__ or "").parent) for pkg in code_packages]
    info = log_model(pip_requirements=pinned_requirements(*requirements), code_paths=code_paths or None, **model)
    return None if registered_name is None else register(info.model_uri, registered_name, alias)


def log_pyfunc_model(
    python_model: Any,
    artifacts: Mapping[str, Path],
    input_example: Any,
    output_example: Any,
    registered_name: str | None = None,
    alias: str | None = None,
    requirements: tuple[str, ...] = (),
    code_packages: tuple[str, ...] = (),
) -> RegisteredModel | None:
    """Log a custom `mlflow.pyfunc.PythonModel` (a model that needs its own code to predict, e.g. a torch
    checkpoint) with its files as artifacts, signature, example, pinned requirements and `code_packages`;
    optionally register it under `alias`."""
    import mlflow
    from mlflow.models import infer_signature

    return _log_and_register(
        mlflow.pyfunc.log_model, registered_name, alias, requirements, code_packages,
        name="model",
        python_model=python_model,
        artifacts={key: str(path) for key, path in artifacts.items()},
        signature=infer_signature(input_example, output_example),
        input_example=input_example,
    )  # fmt: skip


def _skops_types(model: Any) -> list[str]:
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def log_sklearn_model(
    model: Any,
    input_example: Any,
    registered_name: str | None = None,
    alias: str | None = None,
    requirements: tuple[str, ...] = ("scikit-learn", "pandas", "numpy"),
    code_packages: tuple[str, ...] = (),
    name: str = "model",
) -> RegisteredModel | None:
    """Log a fitted scikit-learn estimator with signature and input example; optionally register it.

    `code_packages` are importable local packages (e.g. the project's own, holding custom
    transformers) copied into the model so it loads anywhere without installing them.
    """
    import mlflow
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values and suggests declaring them double. Our
        # integer fields are required (the services validate requests first), and with a double schema MLflow
        # would reject every integer request ("Can not safely convert int64 to float64", tried): keep integers.
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer column", UserWarning)
        signature = infer_signature(input_example, model.predict(input_example))
    return _log_and_register(
        mlflow.sklearn.log_model, registered_name, alias, requirements, code_packages,
        sk_model=model,
        # MLflow stores scikit-learn models with skops, which loads only types it is told to trust.
        # These are the model's own classes (our transformers, the boosters), listed explicitly.
        skops_trusted_types=_skops_types(model),
        name=name,
        signature=signature,
        input_example=input_example,
    )  # fmt: skip
