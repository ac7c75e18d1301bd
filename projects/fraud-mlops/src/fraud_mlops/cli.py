"""`fraud-mlops` command line: simulate, validate, features, train, evaluate, predict, promote, gate, bench, run."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from fraud_mlops import config as config_module
from mlshared.cli_options import ProfileOpt
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


PROJECT = ProjectSpec(
    name="fraud-mlops",
    title="Card fraud: handbook simulator, causal polars features, XGBoost, MLflow registry",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("validate",),),
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()


__all__ = ["PROJECT", "app", "date", "main"]
