"""The simulator reproduces the handbook data set's statistics and is deterministic by seed."""

from __future__ import annotations

import polars as pl
import pytest

from fraud_mlops.data import load_handbook
from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, SCENARIO, TERMINAL, TIME
from fraud_mlops.simulate import SimulationSpec, simulate

from .conftest import SMALL


def test_same_seed_same_log_other_seed_other_log(small_log: pl.DataFrame) -> None:
    assert simulate(SMALL).equals(small_log)
    other = simulate(SimulationSpec(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
    assert not other.equals(small_log)


def test_the_log_is_in_time_order_with_unique_ids(small_log: pl.DataFrame) -> None:
    assert small_log[TIME].is_sorted()
    assert small_log["TRANSACTION_ID"].to_list() == list(range(small_log.height))
    assert small_log[CUSTOMER].max() < SMALL.customers and small_log[TERMINAL].max() < SMALL.terminals  # type: ignore[operator]


def test_scenario_rules_hold(small_log: pl.DataFrame) -> None:
    assert ((small_log[SCENARIO] > 0) == (small_log[LABEL] == 1)).all()
    genuine = small_log.filter(pl.col(SCENARIO) == 0)
    assert genuine[AMOUNT].max() <= SMALL.amount_threshold  # type: ignore[operator]
    assert small_log.filter(pl.col(SCENARIO) == 1)[AMOUNT].min() > SMALL.amount_threshold  # type: ignore[operator]


@pytest.mark.slow
def test_handbook_sized_simulation_matches_the_published_data() -> None:
    """At the handbook's size (5,000 customers, 10,000 terminals, the mirror's 153 days) the rates match the
    published data set's within sampling noise: fraud 0.83%, scenario counts 829 / 7,441 / 3,864."""
    simulated = simulate(SimulationSpec(days=153, seed=11))
    published = load_handbook()
    assert simulated.height == pytest.approx(published.height, rel=0.03)
    assert float(simulated[LABEL].mean()) == pytest.approx(float(published[LABEL].mean()), rel=0.10)  # type: ignore[arg-type]
    for scenario, tolerance in ((1, 0.20), (2, 0.25), (3, 0.20)):
        sim = int((simulated[SCENARIO] == scenario).sum())
        pub = int((published[SCENARIO] == scenario).sum())
        assert sim == pytest.approx(pub, rel=tolerance), f"scenario {scenario}: {sim} vs {pub}"
    assert float(simulated[AMOUNT].mean()) == pytest.approx(float(published[AMOUNT].mean()), rel=0.05)  # type: ignore[arg-type]
