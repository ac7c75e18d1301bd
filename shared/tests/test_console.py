"""Library progress bars appear only where they are news: not for a millisecond load, yes for slow work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlshared import tracking
from mlshared.console import PROGRESS_DELAY_ENV

BARS = """
import time
import mlshared.console  # what every project CLI imports before any library that draws bars
import tqdm.auto
for _ in tqdm.auto.tqdm(range(100), desc="instant"):
    pass
for _ in tqdm.auto.tqdm(range(3), desc="slow"):
    time.sleep(1.2)
"""


def test_tqdm_bars_show_only_for_work_that_lasts() -> None:
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_DELAY_ENV}
    stderr = subprocess.run([sys.executable, "-c", BARS], env=env, capture_output=True, text=True, check=True).stderr
    assert "instant" not in stderr
    assert "slow" in stderr


def test_local_stores_copy_models_without_artifact_bars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.ARTIFACT_BARS_ENV, raising=False)
    monkeypatch.setenv(tracking.TRACKING_ENV, f"sqlite:///{tmp_path}/mlflow.db")
    tracking.configure_uri()
    assert os.environ[tracking.ARTIFACT_BARS_ENV] == "false"
    monkeypatch.delenv(tracking.ARTIFACT_BARS_ENV)
    monkeypatch.setenv(tracking.TRACKING_ENV, "http://mlflow.example:5000")
    tracking.configure_uri()
    assert tracking.ARTIFACT_BARS_ENV not in os.environ  # a server's downloads keep MLflow's bars
