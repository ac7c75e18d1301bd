"""`fraud-mlops` command line: simulate, validate, features, train, evaluate, predict, promote, gate, bench, run."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fraud_mlops import config as config_module
from fraud_mlops.models import FraudModel
from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.console import console, friendly_errors
from mlshared.paths import OutputDirs
from mlshared.projects import ProjectSpec

app = typer.Typer(
    help="Card-fraud detection on the Fraud Detection Handbook's simulated transactions: a simulator, causal "
    "polars features, XGBoost tuned on prequential validation, and the MLflow registry loop.",
    no_args_is_help=True,
)


def _outputs(profile: str) -> OutputDirs:
    return OutputDirs.for_project("fraud-mlops", config_module.PROJECT_ROOT, profile)


@app.command()
@friendly_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.", dir_okay=False)],
    days: Annotated[int, typer.Option(help="Days to simulate.", min=1)] = 183,
    customers: Annotated[int, typer.Option(help="Number of customers (cards).", min=1)] = 5_000,
    terminals: Annotated[int, typer.Option(help="Number of terminals.", min=1)] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 0,
    start: Annotated[datetime, typer.Option(help="First day.", formats=["%Y-%m-%d"])] = datetime(2018, 4, 1),
    radius: Annotated[float, typer.Option(help="Customers use the terminals within this distance.", min=0)] = 5.0,
    compromised_terminals: Annotated[
        int, typer.Option(help="Scenario 2: terminals compromised per day (handbook: 2; scale it with --terminals).")
    ] = 2,
    compromised_customers: Annotated[
        int, typer.Option(help="Scenario 3: cards leaked per day (handbook: 3; scale it with --customers).")
    ] = 3,
) -> None:
    """Simulate a transaction log with the handbook's generative process (defaults: its 183-day data set)."""
    from fraud_mlops.data import summary
    from fraud_mlops.simulate import SimulationSpec
    from fraud_mlops.simulate import simulate as run_simulation

    spec = SimulationSpec(
        customers=customers, terminals=terminals, days=days, start_date=start.date(), radius=radius, seed=seed,
        compromised_terminals_per_day=compromised_terminals, compromised_customers_per_day=compromised_customers,
    )  # fmt: skip
    with console.status(f"Simulating {days} days of {customers:,} customers at {terminals:,} terminals"):
        frame = run_simulation(spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    facts = summary(frame)
    console.print(
        f"[green]Wrote[/] {out}: {facts['transactions']:,} transactions, {facts['frauds']:,} frauds "
        f"({facts['fraud_rate']:.2%}), by scenario {facts['scenarios']}"
    )


@app.command()
@friendly_errors
def validate(profile: ProfileOpt = "full") -> None:
    """Resolve and verify the handbook's transactions, check them against the schema, write a data report."""
    from fraud_mlops.data import DATASET, load_handbook, summary
    from mlshared.datasets import fingerprint

    frame = load_handbook()
    report = {"dataset": DATASET, "fingerprint": fingerprint(DATASET), **summary(frame)}
    outputs = _outputs(profile).ensure()
    path = outputs.reports / "data_validation.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"[green]Schema OK[/]: {frame.height:,} transactions, fraud rate {report['fraud_rate']:.4%}")


@app.command()
@friendly_errors
def train(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Compute the features, tune XGBoost with Optuna on prequential folds, fit every model on both protocols,
    save the served model, log and register it in MLflow (alias from params: `challenger`)."""
    from fraud_mlops.train import train as run_training

    run_training(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def evaluate(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Write reports/metrics.json (test-week AP, ROC-AUC, card precision@100 beside the handbook's) and figures."""
    from fraud_mlops.evaluate import evaluate as run_evaluation

    run_evaluation(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def predict(
    transactions: Annotated[
        Path | None,
        typer.Option(
            help="Transaction log (Parquet or CSV, TX_FRAUD optional); default: the handbook data.", dir_okay=False
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            help="Score the transactions from this day on (earlier rows are feature history); "
            "default: the last 7 days of the file.",
            formats=["%Y-%m-%d"],
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Parquet or CSV to write.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="A model file (models/model.joblib); default: the registry's champion.")
    ] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to load when no --model is given.")] = "champion",
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Score a transaction log with causal features over the whole file; with TX_FRAUD present, print AP,
    ROC-AUC and card precision@100 of the scored period."""
    from datetime import timedelta

    from fraud_mlops.data import load_handbook, read_transactions
    from fraud_mlops.predict import score_log, write
    from fraud_mlops.registry import load
    from fraud_mlops.schema import TIME

    config = config_module.load(params, profile, overrides)
    fraud_model = _load_model(model) if model else load(config.tracking.registered_model, alias)[0]
    log = read_transactions(transactions) if transactions else load_handbook()
    last = log[TIME].max()
    assert isinstance(last, datetime)
    begin = start or datetime.combine(last.date() - timedelta(days=6), datetime.min.time())
    with console.status(f"Computing features over {log.height:,} transactions and scoring from {begin:%Y-%m-%d}"):
        scored = score_log(fraud_model, log, begin, config.protocol.top_k)
    target = output or _outputs(profile).ensure().work / "predictions_scored.parquet"
    write(scored.frame, target)
    blocked = int((scored.frame["decision"] == "block").sum())
    console.print(
        f"[green]Wrote[/] {target}: {scored.frame.height:,} transactions scored ({scored.history_rows:,} earlier rows "
        f"used as history), {blocked:,} blocked at threshold {fraud_model.threshold}"
    )
    if scored.metrics:
        m = scored.metrics
        k = config.protocol.top_k
        console.print(
            f"AP {m['average_precision']:.4f}  ROC-AUC {m['roc_auc']:.4f}  card precision@{k} "
            f"{m[f'card_precision_at_{k}']:.4f}  ({int(m['frauds'])} frauds)"
        )


def _load_model(path: Path) -> FraudModel:
    from fraud_mlops.models import FraudModel
    from mlshared.artifacts import load_model_file

    return load_model_file(path, FraudModel, "fraud-mlops", "--model")


@app.command()
@friendly_errors
def promote(
    transactions: Annotated[
        Path | None, typer.Option(help="Labelled transaction log; default: the handbook data.", dir_okay=False)
    ] = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Compare the registry's challenger with its champion on the most recent labelled week (average
    precision) and move the `champion` alias only when the challenger is better; says why either way."""
    from fraud_mlops.data import load_handbook, read_transactions
    from fraud_mlops.registry import promote as run_promote

    config = config_module.load(params, profile, overrides)
    log = read_transactions(transactions, require_label=True) if transactions else load_handbook()
    with console.status("Scoring challenger and champion on the latest labelled week"):
        decision = run_promote(
            config.tracking.registered_model, log, config.features.delay_days, config.protocol.top_k,
            config.tracking.min_improvement,
        )  # fmt: skip
    colour = "green" if decision.promoted else "yellow"
    console.print(f"[{colour}]{config.tracking.registered_model}:[/] {decision.reason}")


@app.command()
@friendly_errors
def monitor(
    transactions: Annotated[
        Path | None, typer.Option(help="Transaction log; default: the handbook data.", dir_okay=False)
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model file for prediction drift; default: the registry's champion.")
    ] = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Evidently drift report of the `monitor.current` window against `monitor.reference` (features and the
    model's scores): HTML + JSON summary; exits 1 saying "retrain" when the drift is over the threshold."""
    import polars as pl

    from fraud_mlops.data import load_handbook, read_transactions
    from fraud_mlops.features import compute, feature_names
    from fraud_mlops.metrics import SCORE
    from fraud_mlops.monitor import drift_report, write_summary
    from fraud_mlops.registry import load

    config = config_module.load(params, profile, overrides)
    m = config.monitor
    fraud_model = _load_model(model) if model else load(config.tracking.registered_model, "champion")[0]
    log = read_transactions(transactions) if transactions else load_handbook()
    with console.status("Computing features and scores"):
        featured = compute(log, fraud_model.feature_set, fraud_model.windows)
        featured = featured.with_columns(pl.Series(SCORE, fraud_model.score(featured)))
    outputs = _outputs(profile).ensure()
    columns = [*feature_names(fraud_model.feature_set, fraud_model.windows), SCORE]
    with console.status("Building the Evidently report"):
        result = drift_report(
            featured, columns, m.reference, m.current, m.drift_share, m.sample_rows, config.seed,
            outputs.work / "drift_report.html",
        )  # fmt: skip
    write_summary(result, outputs.reports / "drift.json")
    s = result.summary
    console.print(
        f"Drift {s['current'][0]}..{s['current'][1]} vs {s['reference'][0]}..{s['reference'][1]}: "
        f"{s['drifted_share']:.0%} of columns drifted (threshold {s['drift_share_threshold']:.0%}), "
        f"prediction drift: {s['prediction_drift']}; report {result.html}, summary {outputs.reports / 'drift.json'}"
    )
    if result.retrain:
        console.print(f"[red]retrain[/]: drifted columns {', '.join(s['drifted_columns'])}")
        raise typer.Exit(1)
    console.print("[green]no retraining needed[/]")


@app.command()
@friendly_errors
def screenshot(
    report: Annotated[
        Path | None, typer.Option(help="Drift report HTML; default: the one `fraud-mlops monitor` wrote.")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG to write.")] = config_module.PROJECT_ROOT
    / "docs"
    / "drift-report.png",
    profile: ProfileOpt = "full",
) -> None:
    """The README's drift-report picture: the Evidently HTML of `fraud-mlops monitor` in headless Chromium."""
    from fraud_mlops.monitor import screenshot_report
    from mlshared.console import UserError

    html = report or _outputs(profile).work / "drift_report.html"
    if not html.is_file():
        raise UserError(f"No drift report at {html}.", hint=f"Run `fraud-mlops monitor --profile {profile}` first.")
    console.print(f"[green]Wrote[/] {screenshot_report(html, output)}")


@app.command()
@friendly_errors
def gate(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSON result to write.")] = None,
) -> None:
    """CI model-quality gate: simulate a small log, train, score its test week; exit 1 when average precision
    is below the recorded baseline (params `gate.min_average_precision`)."""
    from fraud_mlops.gate import run_gate

    config = config_module.load(params, profile, overrides)
    target = output or _outputs(profile).ensure().work / "gate.json"
    with console.status("Simulating, training and scoring the gate data set"):
        result = run_gate(config, target)
    verdict = "[green]passed[/]" if result["passed"] else "[red]FAILED[/]"
    console.print(
        f"Gate {verdict}: AP {result['average_precision']:.4f} (baseline {result['min_average_precision']:.4f}) "
        f"on {result['split']}; wrote {target}"
    )
    if not result["passed"]:
        raise typer.Exit(1)


class BenchPart(StrEnum):
    features = "features"
    api = "api"
    dask = "dask"


@app.command()
@friendly_errors
def bench(
    profile: ProfileOpt = "full",
    parts: Annotated[
        list[BenchPart] | None,
        typer.Option(
            "--part",
            help="What to measure (repeat the option for several); default: features and api. `dask` (only when "
            "asked: 10+ minutes) is the 10x Dask run of `fraud-mlops scale`.",
        ),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Timed runs per feature set (median reported).", min=1)] = 3,
    model: Annotated[
        Path | None, typer.Option(help="API bench: the model to serve; default: the profile's models/model.joblib.")
    ] = None,
    duration: Annotated[int, typer.Option(help="API bench: seconds per wrk run.", min=1)] = 4,
    rounds: Annotated[int, typer.Option(help="API bench: interleaved rounds (median reported).", min=1)] = 5,
    connections: Annotated[int, typer.Option(help="API bench: concurrent wrk connections (clients).", min=1)] = 8,
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Benchmarks into reports/bench.json (each part replaces only its own section): `features` times the feature
    computation on the handbook's 1.47M transactions (target <= 5 s); `api` drives the served model with wrk,
    SQLite and Redis state, /health and /predict (targets: p99 < 25 ms, /predict >= half of /health's throughput);
    `dask` runs `fraud-mlops scale` (Dask vs one process on a 10x simulated log)."""
    from fraud_mlops.bench import bench_features, update
    from fraud_mlops.data import load_handbook

    config = config_module.load(params, profile, overrides)
    outputs = _outputs(profile).ensure()
    wanted = set(parts or (BenchPart.features, BenchPart.api))
    if BenchPart.dask in wanted:  # first: its peak memory counts this process, before the handbook log is loaded
        from fraud_mlops.scale import run_scale

        update(outputs.reports / "bench.json", "dask", run_scale(config, outputs.work).report)
    if BenchPart.api in wanted:
        from fraud_mlops.api_bench import run_api_bench
        from fraud_mlops.protocol import handbook_split

        served = model or outputs.models / "model.joblib"
        _load_model(served)  # "train first" before starting anything
    log = load_handbook()
    if BenchPart.features in wanted:
        update(outputs.reports / "bench.json", "features", bench_features(log, config.features.windows, repeats))
    if BenchPart.api in wanted:
        start = handbook_split(config.protocol).test_start
        result = run_api_bench(served, log, start, config.features.windows, duration, connections, rounds)
        update(outputs.reports / "bench.json", "api", result)
    console.print(f"[green]Wrote[/] {outputs.reports / 'bench.json'}")


@app.command()
@friendly_errors
def scale(
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); default: a LocalCluster sized by params `scale`."),
    ] = None,
    transactions: Annotated[
        Path | None,
        typer.Option(
            help="Labelled transaction log (Parquet); default: simulate params `scale.factor` x the handbook's size "
            "(cached in the profile's work folder).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Features and XGBoost on Dask (xgboost.dask) for a log 10x the handbook's, against polars + XGBClassifier on
    the same rows: wall time, peak memory and test-week quality into reports/bench.json ("dask")."""
    import joblib

    from fraud_mlops.bench import update
    from fraud_mlops.scale import run_scale

    config = config_module.load(params, profile, overrides)
    outputs = _outputs(profile).ensure()
    result = run_scale(config, outputs.work, scheduler, transactions)
    joblib.dump(result.model, outputs.work / "scale_model.joblib")
    update(outputs.reports / "bench.json", "dask", result.report)
    console.print(f"[green]Wrote[/] {outputs.reports / 'bench.json'} (dask) and {outputs.work / 'scale_model.joblib'}")


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 inside a container.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: Annotated[
        Path | None, typer.Option(help="A model file; default: the registry's champion (FRAUD_MODEL_PATH overrides).")
    ] = None,
) -> None:
    """Start the fraud-scoring API with uvicorn (settings from FRAUD_* variables: FRAUD_REDIS_URL for Redis state,
    FRAUD_API_KEY for the key, FRAUD_STATE_PATH, FRAUD_PREDICTION_LOG, FRAUD_MAX_LATENESS_S)."""
    import os

    import uvicorn

    from mlshared.service import uvicorn_log_config

    if model is not None:
        _load_model(model)  # fail here, with the fix, rather than in the server
        os.environ["FRAUD_MODEL_PATH"] = str(model.resolve())
    console.print(f"Serving on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        "fraud_mlops.serve:create_app", factory=True, host=host, port=port, access_log=False,
        log_config=uvicorn_log_config(),
    )  # fmt: skip


def readme_blocks(reports: Path) -> dict[str, str]:
    """The README's benchmark blocks (features, API), from the last `fraud-mlops bench` (reports/bench.json)."""
    from fraud_mlops.api_bench import api_markdown
    from fraud_mlops.bench import bench_markdown
    from mlshared.reports import read_json_report

    report = read_json_report(reports / "bench.json")
    if report is None:
        return {}
    blocks = {"bench": bench_markdown(report)}
    if "api" in report:
        blocks["api-bench"] = api_markdown(report["api"])
    if "dask" in report:
        from fraud_mlops.scale import dask_markdown

        blocks["dask-bench"] = dask_markdown(report["dask"])
    return blocks


PROJECT = ProjectSpec(
    name="fraud-mlops",
    title="Card fraud: handbook simulator, causal polars features, XGBoost, MLflow registry",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("validate",), ("train",), ("evaluate",), ("promote",)),
    readme_blocks=readme_blocks,
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()


__all__ = ["PROJECT", "app", "main"]
