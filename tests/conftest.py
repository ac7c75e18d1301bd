from __future__ import annotations

from pathlib import Path

import pytest

from mlshared.projects import ProjectSpec, discover

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def projects() -> dict[str, ProjectSpec]:
    return discover()
