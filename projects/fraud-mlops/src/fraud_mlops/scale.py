"""Beyond one machine: the features and XGBoost on Dask (`fraud-mlops scale`).

Features: the log is shuffled by customer and each partition gets `features.compute_keyed(..., CUSTOMER)`
(plus the row-wise calendar flags), then shuffled by terminal and each partition gets the terminal
features. After a shuffle by key a partition holds every row of its keys, and `compute_keyed` runs the very
expressions of the single-machine `features.compute`, so the two cannot disagree (a test checks 1e-9).
Training: `xgboost.dask.DaskXGBClassifier` on the history protocol's rows, on a `distributed.LocalCluster`
or on any scheduler (`--scheduler tcp://host:8786`). Its booster is saved and loaded into a plain
`XGBClassifier`, so the result scores like every other model here.

The run's wall times and peak memory (psutil, summed over this process and its children: the local
cluster's nanny and worker processes) go to reports/bench.json under "dask"; with
`scale.single_machine`, polars + XGBClassifier run on the same rows for the comparison.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import polars as pl
import psutil
from distributed import Client, LocalCluster
from xgboost import XGBClassifier
from xgboost.dask import DaskXGBClassifier

from fraud_mlops.config import Config, ScaleConfig
from fraud_mlops.data import TransactionsError
from fraud_mlops.features import FeatureSet, Windows, calendar_features, compute, compute_keyed, feature_names
from fraud_mlops.metrics import SCORE, fraud_metrics
from fraud_mlops.models import matrix
from fraud_mlops.protocol import Split, history_split, test_rows
from fraud_mlops.schema import AMOUNT, CUSTOMER, DAYS, LABEL, TERMINAL, TIME, TX_ID
from fraud_mlops.simulate import SimulationSpec, simulate
from mlshared.console import console
from mlshared.reports import ResultsTable, markdown_table

HANDBOOK = SimulationSpec()


def scaled_spec(factor: float, seed: int) -> SimulationSpec:
    """The handbook's data set with `factor` x the customers, terminals and daily compromises (same 183 days),
    so the fraud rate and the scenario mix stay the handbook's."""

    def times(n: int) -> int:
        return max(1, round(n * factor))

    return SimulationSpec(
        customers=times(HANDBOOK.customers), terminals=times(HANDBOOK.terminals), seed=seed,
        compromised_terminals_per_day=times(HANDBOOK.compromised_terminals_per_day),
        compromised_customers_per_day=times(HANDBOOK.compromised_customers_per_day),
    )  # fmt: skip


# --- memory -------------------------------------------------------------------------------------------------


class PeakMemory:
    """Samples the resident memory of this process and all its children (a LocalCluster's workers)."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def peak_gib(self) -> float:
        return round(self.peak_bytes / 2**30, 2)


@dataclass
class Phases:
    """Wall time per phase, in order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def time(self, name: str, message: str) -> Iterator[None]:
        start = time.perf_counter()
        with console.status(message):
            yield
        self.seconds[name] = round(time.perf_counter() - start, 1)
        console.print(f"  {name}: {self.seconds[name]:.1f} s")


# --- Dask features ------------------------------------------------------------------------------------------


def _keyed_partition(part: pd.DataFrame, key: str, feature_set: FeatureSet, w: Windows) -> pd.DataFrame:
    """One partition (every row of its keys) -> the same rows with `key`'s features, via polars."""
    out = compute_keyed(pl.from_pandas(part), key, feature_set, w)
    if key == CUSTOMER:
        out = out.with_columns(**calendar_features())
    return out.to_pandas()


def _keyed(frame: dd.DataFrame, key: str, partitions: int, feature_set: FeatureSet, w: Windows) -> dd.DataFrame:
    shuffled = frame.shuffle(on=key, npartitions=partitions)
    meta = _keyed_partition(shuffled._meta, key, feature_set, w)
    out: dd.DataFrame = shuffled.map_partitions(_keyed_partition, key, feature_set, w, meta=meta)
    return out


def dask_features(frame: dd.DataFrame, feature_set: FeatureSet, w: Windows, partitions: int) -> dd.DataFrame:
    """The log with every feature of `feature_set`: shuffle by customer, customer features; shuffle by
    terminal, terminal features. Partitions come out in stream order within themselves, not globally."""
    by_customer = _keyed(frame, CUSTOMER, partitions, feature_set, w)
    return _keyed(by_customer, TERMINAL, partitions, feature_set, w)


def partitions_for(rows: int, partition_rows: int) -> int:
    return max(1, math.ceil(rows / partition_rows))


# --- the run --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(s: ScaleConfig, scheduler: str | None, local_directory: Path) -> Iterator[Client]:
    """A client of `scheduler`, or of a LocalCluster sized by params `scale`."""
    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    local_directory.mkdir(parents=True, exist_ok=True)
    # The scheduler runs in this process; its shuffle plugin logs every shuffle's start and end at WARNING.
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=s.workers, threads_per_worker=s.threads_per_worker, processes=s.processes,
            memory_limit=s.memory_limit, local_directory=str(local_directory), dashboard_address=":0",
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):  # fmt: skip
        yield client


def _window(frame: dd.DataFrame, start: date, end: date) -> dd.DataFrame:
    rows: dd.DataFrame = frame[(frame[TIME] >= pd.Timestamp(start)) & (frame[TIME] < pd.Timestamp(end))]
    return rows


def dask_train(train: dd.DataFrame, features: list[str], params: dict[str, Any], seed: int) -> XGBClassifier:
    """xgboost.dask on the cluster; the booster comes back as a plain, picklable XGBClassifier."""
    # One persisted frame: X and y taken from it have the same partitions (dask-expr may otherwise optimise the
    # two expressions into differently partitioned graphs, which xgboost.dask refuses).
    rows = train[[*features, LABEL]].astype(dict.fromkeys(features, "float64")).persist()
    model = DaskXGBClassifier(random_state=seed, eval_metric="aucpr", **params)
    model.fit(rows[features], rows[LABEL])
    local = XGBClassifier()
    local.load_model(bytearray(model.get_booster().save_raw("json")))
    return local


def evaluation_rows(frame: dd.DataFrame, split: Split) -> pl.DataFrame:
    """What `protocol.test_rows` reads: the test days and the frauds since the training start (which cards are
    known to be compromised); a small slice of the log."""
    in_test = (frame[TIME] >= pd.Timestamp(split.test_start)) & (frame[TIME] < pd.Timestamp(split.test_end))
    fraud = (frame[LABEL] == 1) & (frame[TIME] >= pd.Timestamp(split.train_start))
    rows: pd.DataFrame = frame[in_test | fraud].compute()
    return pl.from_pandas(rows).with_columns(pl.col(TIME).cast(pl.Datetime("ns")))


def _scored_metrics(model: XGBClassifier, test: pl.DataFrame, features: list[str], k: int) -> dict[str, float]:
    proba = np.asarray(model.predict_proba(matrix(test, features))[:, 1], dtype=np.float64)
    return {key: round(v, 4) for key, v in fraud_metrics(test.with_columns(pl.Series(SCORE, proba)), k).items()}


SCALE_COLUMNS = (TX_ID, TIME, CUSTOMER, TERMINAL, AMOUNT, DAYS, LABEL)


def check_log(path: Path, split: Split) -> int:
    """A cheap look (Parquet metadata and two columns) before the cluster starts: the columns the run needs and
    dates that cover the protocol. Returns the number of rows."""
    try:
        scan = pl.scan_parquet(path)
        schema = scan.collect_schema()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise TransactionsError([f"it is not a readable Parquet file: {exc}"], str(path)) from exc
    missing = [c for c in SCALE_COLUMNS if c not in schema]
    if missing:
        raise TransactionsError([f"missing column(s) {', '.join(missing)}"], str(path))
    span = scan.select(pl.len(), pl.col(TIME).min().alias("first"), pl.col(TIME).max().alias("last")).collect()
    rows, first, last = span.row(0)
    if rows == 0 or first > pd.Timestamp(split.train_start) or last < pd.Timestamp(split.test_end - timedelta(1)):
        raise TransactionsError(
            [f"it covers {first}..{last}, the run needs {split.describe()}"],
            str(path),
            hint="Give a log that spans the protocol, or move it with --set protocol.history_start=... and "
            "--set protocol.handbook.train_start=...",
        )
    return int(rows)


@dataclass
class ScaleResult:
    report: dict[str, Any]
    model: XGBClassifier


def run_scale(
    config: Config, work: Path, scheduler: str | None = None, transactions: Path | None = None
) -> ScaleResult:
    """Simulate (or read) the log, compute the features and train on Dask, score the test week; then, with
    `scale.single_machine`, the same with polars and XGBClassifier. Returns the bench.json "dask" section."""
    s = config.scale
    fs: FeatureSet = config.features.set
    w = config.features.windows
    names = feature_names(fs, w)
    split = history_split(config.protocol)
    phases = Phases()
    # Card precision@k counts the k most suspicious cards a day: at 10x the size, 10x the cards (with k = 100 every
    # day of a 10x log has more than k compromised cards, and both engines score a flat 1.0).
    top_k = max(1, round(config.protocol.top_k * s.factor)) if transactions is None else config.protocol.top_k
    report: dict[str, Any] = {
        "feature_set": fs, "features": len(names), "protocol": split.describe(), "top_k": top_k,
    }  # fmt: skip

    if transactions is None:
        spec = scaled_spec(s.factor, s.seed)
        transactions = work / f"scale_x{s.factor:g}_seed{s.seed}.parquet"
        if not transactions.is_file():
            with phases.time(
                "simulate_s", f"Simulating {s.factor:g}x the handbook's log ({spec.customers:,} customers)"
            ):
                work.mkdir(parents=True, exist_ok=True)
                simulate(spec).write_parquet(transactions, row_group_size=s.partition_rows)
        report["simulation"] = {"factor": s.factor, "seed": s.seed, "customers": spec.customers,
                                "terminals": spec.terminals, "days": spec.days}  # fmt: skip
    rows = check_log(transactions, split)
    partitions = partitions_for(rows, s.partition_rows)
    report |= {"transactions": rows, "partitions": partitions, "source": str(transactions)}
    console.print(f"{rows:,} transactions in {transactions}, {partitions} partitions per shuffle")

    features_dir = work / "scale_features"
    with PeakMemory() as dask_memory, dask_client(s, scheduler, work / "dask-scratch") as client:
        report["cluster"] = {
            "scheduler": scheduler or "LocalCluster",
            "workers": len(client.scheduler_info()["workers"]),
            "threads": sum(client.nthreads().values()),  # type: ignore[no-untyped-call]
            "memory_limit_per_worker": s.memory_limit if not scheduler else "the cluster's",
            "processes": s.processes if not scheduler else None,
        }
        with phases.time("dask_features_s", "Dask: features (shuffle by customer, by terminal) -> Parquet"):
            log = dd.read_parquet(str(transactions), split_row_groups=True)  # one partition per row group
            featured_log = dask_features(log, fs, w, partitions)
            featured_log.to_parquet(str(features_dir), write_index=False, overwrite=True)  # type: ignore[no-untyped-call]
        featured = dd.read_parquet(str(features_dir))
        with phases.time("dask_train_s", f"xgboost.dask: training on {split.describe()}"):
            train = _window(featured, split.train_start, split.train_end)
            dask_model = dask_train(train, names, s.xgboost, config.seed)
        with phases.time("dask_score_s", "Scoring the test week"):
            evaluation = evaluation_rows(featured, split)
            test = test_rows(evaluation, split)
            report["test_rows"] = test.height
            dask_metrics = _scored_metrics(dask_model, test, names, top_k)
    report["dask"] = {
        "wall_s": round(sum(v for k, v in phases.seconds.items() if k.startswith("dask_")), 1),
        "peak_memory_gib": dask_memory.peak_gib,
        "metrics": dask_metrics,
    }
    console.print(f"Dask: AP {dask_metrics['average_precision']:.4f}, ROC-AUC {dask_metrics['roc_auc']:.4f}, "
                  f"peak memory {dask_memory.peak_gib:.2f} GiB")  # fmt: skip

    if s.single_machine:
        single, single_test = _single_machine(config, transactions, names, split, top_k, phases)
        report["single_machine"] = single
        report["max_abs_feature_difference"] = max_abs_difference(test, single_test, names)
    report["phases_s"] = phases.seconds
    return ScaleResult(report, dask_model)


def history_days(w: Windows) -> int:
    """How far back a feature looks: rows older than this before the first row that matters change nothing."""
    return w.lookback + 1


def _single_machine(
    config: Config, transactions: Path, names: list[str], split: Split, top_k: int, phases: Phases
) -> tuple[dict[str, Any], pl.DataFrame]:
    """polars `features.compute` and XGBClassifier (as many threads as the cluster had) on the same rows. The
    features are computed from the log that the protocol can see (its dates plus the longest window before
    them): the same values for every row used (the report's feature difference checks it) at less memory."""
    s = config.scale
    w = config.features.windows
    since = pd.Timestamp(split.train_start - timedelta(days=history_days(w)))
    with PeakMemory() as memory:
        with phases.time("single_features_s", "Single machine: polars features"):
            seen = (pl.col(TIME) >= since) & (pl.col(TIME) < pd.Timestamp(split.test_end))
            log = pl.scan_parquet(transactions).select(SCALE_COLUMNS).filter(seen).collect()
            featured = compute(log, config.features.set, w)
            rows = log.height
            del log
        with phases.time("single_train_s", "Single machine: XGBClassifier"):
            train = featured.filter((pl.col(TIME) >= split.train_start) & (pl.col(TIME) < split.train_end))
            model = XGBClassifier(
                random_state=config.seed, eval_metric="aucpr", n_jobs=s.workers * s.threads_per_worker, **s.xgboost
            ).fit(matrix(train, names), train[LABEL].to_numpy())
            del train
        with phases.time("single_score_s", "Scoring the test week"):
            test = test_rows(featured, split)
            del featured
            metrics = _scored_metrics(model, test, names, top_k)
    wall = sum(v for k, v in phases.seconds.items() if k.startswith("single_"))
    console.print(f"Single machine: AP {metrics['average_precision']:.4f}, ROC-AUC {metrics['roc_auc']:.4f}, "
                  f"peak memory {memory.peak_gib:.2f} GiB")  # fmt: skip
    summary = {"wall_s": round(wall, 1), "peak_memory_gib": memory.peak_gib, "metrics": metrics, "rows": rows}
    return summary | {"history_from": str(since.date())}, test


def max_abs_difference(a: pl.DataFrame, b: pl.DataFrame, names: list[str]) -> float:
    """Largest absolute difference of any feature between two runs, rows matched by transaction id."""
    if a.height != b.height:
        raise ValueError(f"the runs scored different rows: {a.height:,} vs {b.height:,}")
    joined = a.select(TX_ID, *names).join(b.select(TX_ID, *names), on=TX_ID, suffix="_b")
    if joined.height != a.height:
        raise ValueError("the runs scored different transactions")
    diffs = joined.select(pl.max_horizontal((pl.col(n) - pl.col(f"{n}_b")).abs().max() for n in names))
    return float(diffs.item())


def dask_markdown(section: dict[str, Any]) -> str:
    """The README's Dask block, from reports/bench.json's "dask" section."""
    engines = {"dask": "dask", "single_machine": "single"}  # engine -> its prefix in phases_s
    shown = [e for e in engines if e in section]
    c, m, p = section["cluster"], section["machine"], section["phases_s"]
    k = next(key for key in section["dask"]["metrics"] if key.startswith("card_precision_at_"))
    title = {
        "dask": f"Dask, {c['workers']} workers, {c['threads']} threads",
        "single_machine": "one process",
    }

    def phase(name: str) -> Callable[[str], str]:
        return lambda e: f"{p[f'{engines[e]}_{name}_s']:.0f} s"

    def metric(name: str) -> Callable[[str], str]:
        return lambda e: f"{section[e]['metrics'][name]:.4f}"

    rows: list[tuple[str, Callable[[str], str]]] = [
        ("features", phase("features")),
        ("XGBoost training", phase("train")),
        ("scoring the test week", phase("score")),
        ("wall time", lambda e: f"{section[e]['wall_s']:.0f} s"),
        ("peak memory (RSS, all processes)", lambda e: f"{section[e]['peak_memory_gib']:.2f} GiB"),
        ("test-week AP", metric("average_precision")),
        ("test-week ROC-AUC", metric("roc_auc")),
        (f"card precision@{k.rsplit('_', 1)[1]}", metric(k)),
    ]
    cells = [[name, *(cell(e) for e in shown)] for name, cell in rows]
    sim = section.get("simulation")
    source = (
        f"simulated at {sim['factor']:g}x the handbook's size ({sim['customers']:,} customers, "
        f"{sim['terminals']:,} terminals, {sim['days']} days)"
        if sim
        else section["source"]
    )
    diff = section.get("max_abs_feature_difference")
    single = section.get("single_machine", {})
    single_note = (
        f" The one process computed its features from {single['history_from']} on ({single['rows']:,} rows: the "
        "protocol's dates and the longest window before them), Dask over the whole log."
        if "rows" in single
        else " The one process computed its features over the protocol's dates and the longest window before them, "
        "Dask over the whole log."
        if single
        else ""
    )
    caption = (
        f"{section['transactions']:,} transactions, {source}; {section['partitions']} partitions per shuffle; "
        f"{section['feature_set']} features ({section['features']}); {section['protocol']} "
        f"({section['test_rows']:,} test rows)."
        + (f" Largest feature difference between the engines on the test week: {diff:.1e}." if diff is not None else "")
        + single_note
        + f" Memory limit per worker: {c['memory_limit_per_worker']}. {m['cpus']} CPUs, load average "
        f"{m['load_average_1m']} at the end of the run (shared machine), {section['generated_at']}."
    )
    return markdown_table(ResultsTable(columns=["", *(title[e] for e in shown)], rows=cells, caption=caption))
