"""The Dask path: the partitioned features equal the single-machine ones, xgboost.dask trains a working model,
and `run_scale` writes the comparison. One small in-process LocalCluster for the module (seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import polars as pl
import pytest
from distributed import Client, LocalCluster
from sklearn.metrics import average_precision_score

from fraud_mlops import config as config_module
from fraud_mlops.bench import update
from fraud_mlops.data import TransactionsError
from fraud_mlops.features import FEATURE_SETS, FeatureSet, Windows, compute, compute_keyed, feature_names
from fraud_mlops.models import matrix
from fraud_mlops.protocol import history_split
from fraud_mlops.scale import (
    PeakMemory,
    check_log,
    dask_client,
    dask_features,
    dask_markdown,
    dask_train,
    max_abs_difference,
    partitions_for,
    run_scale,
    scaled_spec,
)
from fraud_mlops.schema import CUSTOMER, LABEL, TIME, TX_ID

W = Windows()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as c,
    ):
        yield c


def _as_dask(frame: pl.DataFrame, partitions: int) -> dd.DataFrame:
    """Row chunks in time order, as a Parquet file read in pieces would give: keys spread over partitions."""
    return dd.from_pandas(frame.to_pandas(), npartitions=partitions, sort=False)


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_dask_features_equal_the_single_machine_features(
    client: Client, small_log: pl.DataFrame, feature_set: FeatureSet
) -> None:
    names = feature_names(feature_set, W)
    expected = compute(small_log, feature_set, W).sort(TX_ID)
    got = pl.from_pandas(dask_features(_as_dask(small_log, 5), feature_set, W, partitions=4).compute()).sort(TX_ID)
    assert got.height == expected.height
    assert got[TX_ID].to_list() == expected[TX_ID].to_list()
    assert set(names) <= set(got.columns)
    diff = max_abs_difference(got.with_columns(pl.col(TIME).cast(pl.Datetime("ns"))), expected, names)
    assert diff <= 1e-9


def test_a_partition_missing_part_of_a_key_gives_different_features(small_log: pl.DataFrame) -> None:
    """Why the shuffle matters: without every row of a customer, the windows change (the check above can fail)."""
    whole = compute_keyed(small_log, CUSTOMER, "extended", W).sort(TX_ID)
    half = compute_keyed(small_log.filter(pl.col(TX_ID) % 2 == 0), CUSTOMER, "extended", W).sort(TX_ID)
    mine = whole.filter(pl.col(TX_ID) % 2 == 0)
    assert (mine["CUSTOMER_ID_NB_TX_30DAY_WINDOW"] != half["CUSTOMER_ID_NB_TX_30DAY_WINDOW"]).any()


def test_compute_keyed_names_the_keys_it_knows(small_log: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="CUSTOMER_ID"):
        compute_keyed(small_log, TX_ID)


def test_xgboost_dask_trains_a_working_model(client: Client, small_log: pl.DataFrame) -> None:
    names = feature_names("extended", W)
    featured = compute(small_log, "extended", W)
    train = featured.filter(pl.col("TX_TIME_DAYS") < 45)
    test = featured.filter(pl.col("TX_TIME_DAYS") >= 45)
    params = {"tree_method": "hist", "n_estimators": 30, "max_depth": 4, "learning_rate": 0.2}
    model = dask_train(_as_dask(train, 3), names, params, seed=0)
    proba = model.predict_proba(matrix(test, names))[:, 1]
    assert proba.shape == (test.height,)
    assert np.all((proba >= 0) & (proba <= 1))
    y = test[LABEL].to_numpy()
    # Scenario 1 (amount > 220) alone makes frauds easy to rank: a model that learned beats chance by far.
    assert average_precision_score(y, proba) > 3 * y.mean()


def test_a_scheduler_address_connects_to_that_cluster(client: Client, tmp_path: Path) -> None:
    """`--scheduler tcp://...`: no LocalCluster of our own, the given cluster's workers do the work."""
    config = config_module.load(config_module.DEFAULT_PARAMS, "quick")
    address = client.scheduler.address
    with dask_client(config.scale, address, tmp_path / "dask-scratch") as other:
        assert other.scheduler.address == address
        assert set(other.scheduler_info()["workers"]) == set(client.scheduler_info()["workers"])
    assert not (tmp_path / "dask-scratch").exists()


def test_a_log_that_cannot_serve_the_run_is_refused_before_the_cluster_starts(
    small_log: pl.DataFrame, tmp_path: Path
) -> None:
    config = config_module.load(config_module.DEFAULT_PARAMS, "quick")
    split = history_split(config.protocol)
    unlabelled = tmp_path / "unlabelled.parquet"
    small_log.drop(LABEL).write_parquet(unlabelled)
    with pytest.raises(TransactionsError, match=r"missing column.*TX_FRAUD"):
        check_log(unlabelled, split)
    early = tmp_path / "early.parquet"
    small_log.write_parquet(early)  # 60 days from 2018-04-01: the protocol's July/August weeks are not there
    with pytest.raises(TransactionsError, match="the run needs train 2018-07"):
        check_log(early, split)
    not_parquet = tmp_path / "log.parquet"
    not_parquet.write_text("TRANSACTION_ID,TX_DATETIME\n", encoding="utf-8")
    with pytest.raises(TransactionsError, match="not a readable Parquet"):
        check_log(not_parquet, split)


def test_scaled_spec_multiplies_the_handbook_counts() -> None:
    spec = scaled_spec(10, seed=1)
    assert (spec.customers, spec.terminals, spec.days) == (50_000, 100_000, 183)
    assert (spec.compromised_terminals_per_day, spec.compromised_customers_per_day) == (20, 30)
    tiny = scaled_spec(0.01, seed=1)
    assert (tiny.compromised_terminals_per_day, tiny.compromised_customers_per_day) == (1, 1)


def test_partitions_for_rounds_up() -> None:
    assert partitions_for(1_000_001, 500_000) == 3
    assert partitions_for(10, 500_000) == 1


def test_peak_memory_sees_an_allocation() -> None:
    with PeakMemory(interval_s=0.01) as memory:
        before = memory.sample()
        block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
        after = memory.sample()
        del block
    assert after - before > 150 * 2**20
    assert memory.peak_bytes >= after


def test_max_abs_difference_refuses_different_rows() -> None:
    a = pl.DataFrame({TX_ID: [1, 2], "f": [0.0, 1.0]})
    assert max_abs_difference(a, a.with_columns(pl.col("f") + 0.5), ["f"]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="different rows"):
        max_abs_difference(a, a.head(1), ["f"])


@pytest.mark.slow
def test_run_scale_reports_dask_against_single_machine(tmp_path: Path) -> None:
    overrides = ["scale.factor=0.05", "scale.xgboost.n_estimators=20", "protocol.history_start=2018-07-25"]
    config = config_module.load(config_module.DEFAULT_PARAMS, "quick", overrides)
    report = run_scale(config, tmp_path).report
    assert report["transactions"] > 50_000
    assert report["cluster"]["workers"] == config.scale.workers
    assert report["max_abs_feature_difference"] <= 1e-9  # the single process also saw only the history it needs
    assert report["top_k"] == round(config.protocol.top_k * 0.05)  # card precision@k: k grows with the log
    assert f"card_precision_at_{report['top_k']}" in report["dask"]["metrics"]
    for engine in ("dask", "single_machine"):
        assert report[engine]["peak_memory_gib"] > 0
        assert report[engine]["metrics"]["transactions"] == report["test_rows"] > 0
        assert 0.5 < report[engine]["metrics"]["roc_auc"] <= 1
    assert (tmp_path / "scale_features").is_dir()
    section = update(tmp_path / "bench.json", "dask", report)["dask"]
    block = dask_markdown(section)
    assert f"{report['dask']['metrics']['average_precision']:.4f}" in block
    assert f"{report['single_machine']['peak_memory_gib']:.2f} GiB" in block
    assert f"{report['transactions']:,} transactions" in block
    single = report["single_machine"]
    assert single["rows"] < report["transactions"]  # the history the protocol sees, not the whole log
    assert f"from {single['history_from']} on ({single['rows']:,} rows" in block
