"""`house-prices` command line: validate, train, evaluate, predict, app, run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

from house_prices import config as config_module
from house_prices.data import DATASET, load_test, load_train
from house_prices.predictor import HousePricePredictor, find_model
from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt, ScreenshotOpt
from mlshared.console import console, friendly_errors
from mlshared.datasets import fingerprint
from mlshared.paths import OutputDirs, profile_of
from mlshared.projects import ProjectSpec

app = typer.Typer(
    help="Ames house prices: a leak-free scikit-learn pipeline, linear and boosted models, a blend, "
    "a Kaggle submission and a Streamlit app.",
    no_args_is_help=True,
)


def _outputs(profile: str) -> OutputDirs:
    return OutputDirs.for_project("house-prices", config_module.PROJECT_ROOT, profile)


@app.command()
@friendly_errors
def validate(profile: ProfileOpt = "full") -> None:
    """Resolve and verify the data files, check them against the schema, write a data report."""
    train, test = load_train(), load_test()
    warnings = {"train": train.warnings, "test": test.warnings}
    summary = {
        "dataset": DATASET,
        "fingerprint": fingerprint(DATASET),
        "train_rows": len(train.frame),
        "test_rows": len(test.frame),
        "warnings": warnings,
    }
    outputs = _outputs(profile).ensure()
    path = outputs.reports / "data_validation.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(f"[green]Schema OK[/]: train {len(train.frame)} rows, test {len(test.frame)} rows")
    for name, notes in warnings.items():
        for note in notes:
            console.print(f"[yellow]Warning ({name}):[/] {note}")


@app.command()
@friendly_errors
def train(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Cross-validate every model, fit the blend on all rows, save it, log and register it in MLflow."""
    from house_prices.train import train as run_training

    run_training(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def evaluate(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Write reports/metrics.json and the figures from the last training run."""
    from house_prices.evaluate import evaluate as run_evaluation

    run_evaluation(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def predict(
    source: Annotated[
        Path | None,
        typer.Argument(help="CSV of houses in the Kaggle schema; default: the Kaggle test.csv.", dir_okay=False),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the CSV.")] = None,
    interval: Annotated[bool, typer.Option(help="Add low/high columns (prediction interval).")] = False,
    model: Annotated[Path | None, typer.Option(help="Model file; default: the profile's models/model.joblib.")] = None,
    profile: ProfileOpt = "full",
) -> None:
    """Predict prices: `submission.csv` (Id,SalePrice) for Kaggle's test.csv, or any CSV of houses."""
    from house_prices.predict import predict_file

    outputs = _outputs(profile).ensure()
    predictor = HousePricePredictor.load(find_model(model, profile))
    target = output or outputs.work / "submission.csv"
    result = predict_file(predictor, source, target, with_interval=interval)
    console.print(f"[green]Wrote[/] {target} ({len(result)} houses, median price ${result['SalePrice'].median():,.0f})")


@app.command("app")
@friendly_errors
def run_app(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    model: Annotated[Path | None, typer.Option(help="Model file; default: see below.")] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Serve this profile's model; default: the newest model of any profile."),
    ] = None,
) -> None:
    """Start the Streamlit app (price, interval and drivers for one house; batch CSV predictions).

    It serves --model, else --profile's model, else HOUSE_PRICES_MODEL, else the newest model any profile
    trained (after `make run`: the quick profile's)."""
    from house_prices import app as app_module
    from mlshared.servers import streamlit_command

    path = find_model(model, profile)
    trained = HousePricePredictor.load(path).metadata  # fail here, with the fix, rather than in the browser
    console.print(f"Model: {path} ({profile_of(path)} profile, trained {trained.get('trained_at', '?')})")
    console.print(f"Starting the app on http://localhost:{port}")
    env = {**os.environ, app_module.MODEL_ENV: str(path)}
    raise typer.Exit(subprocess.call(streamlit_command(app_module.__file__, port), env=env))


@app.command()
@friendly_errors
def screenshot(
    output: ScreenshotOpt = config_module.PROJECT_ROOT / "docs" / "app.png",
    model: Annotated[Path | None, typer.Option(help="Model file; default: models/model.joblib.")] = None,
) -> None:
    """Start the app, estimate a better-than-typical house in headless Chromium and save a screenshot."""
    from playwright.sync_api import expect

    from house_prices import app as app_module
    from mlshared.browser import screenshot_app, streamlit_rerun, wait_for_streamlit_idle
    from mlshared.servers import streamlit_command

    model_file = find_model(model, "full")
    HousePricePredictor.load(model_file)  # fail early with the "train first" message

    def estimate_a_better_house(page: Any) -> None:
        wait_for_streamlit_idle(page)
        quality = page.get_by_role("slider").first
        quality.focus()
        for _ in range(2):
            quality.press("ArrowRight")
        with streamlit_rerun(page):
            page.get_by_role("button", name="Estimate price").click()
        expect(page.get_by_text("Estimated price")).to_be_visible()
        page.wait_for_timeout(2000)  # let the chart finish drawing

    screenshot_app(
        lambda port: streamlit_command(app_module.__file__, port), output, estimate_a_better_house,
        ready_path="/_stcore/health", env={app_module.MODEL_ENV: str(model_file)}, height=1500,
    )  # fmt: skip
    console.print(f"[green]Wrote[/] {output}")


PROJECT = ProjectSpec(
    name="house-prices",
    title="Ames house-price regression (scikit-learn, XGBoost, LightGBM, Streamlit)",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("validate",), ("train",), ("evaluate",), ("predict",)),
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()
