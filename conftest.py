"""Test-session isolation for the whole repository: no test writes into the checkout's reports,
models or MLflow store, whatever it runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Route run outputs (`PORTFOLIO_OUTPUT_ROOT`) and MLflow (`MLFLOW_TRACKING_URI`) to a temp dir."""
    base = tmp_path_factory.mktemp("portfolio-outputs")
    patch = pytest.MonkeyPatch()
    patch.setenv("PORTFOLIO_OUTPUT_ROOT", str(base / "projects"))
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{base / 'mlflow.db'}")
    yield base
    patch.undo()
