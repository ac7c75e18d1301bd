from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlshared.datasets import DataSettings

MIRROR = Path(os.environ.get("PORTFOLIO_DATA_MIRROR") or Path(__file__).resolve().parents[3] / "shared" / "data")


@pytest.fixture
def mirror() -> Path:
    """The team's read-only dataset mirror (the tests read real files from it)."""
    if not (MIRROR / "SHA256SUMS").is_file():
        pytest.fail(f"dataset mirror not found at {MIRROR}; set PORTFOLIO_DATA_MIRROR")
    return MIRROR


@pytest.fixture
def empty_settings(tmp_path: Path) -> DataSettings:
    """No cache content, an empty mirror, downloads disabled: nothing can be found."""
    (tmp_path / "empty-mirror").mkdir()
    return DataSettings(mirror=tmp_path / "empty-mirror", cache=tmp_path / "cache", offline=True)
