"""Fixtures: small simulated logs (seconds to make) and, for the data tests, the handbook's mirror."""

from __future__ import annotations

import polars as pl
import pytest

from fraud_mlops.simulate import SimulationSpec, simulate

# Small but complete: every scenario occurs, windows of 30 days + the 7-day delay fill up.
SMALL = SimulationSpec(customers=300, terminals=600, days=60, seed=3)


@pytest.fixture(scope="session")
def small_log() -> pl.DataFrame:
    return simulate(SMALL)
