"""`churn-api` command line: train, evaluate, predict, serve, bench, screenshot, run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from churn_api import config as config_module
from churn_api.predictor import ChurnPredictor
from churn_api.settings import MODEL_FILE
from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt, ScreenshotOpt
from mlshared.console import console, friendly_errors
from mlshared.paths import OutputDirs
from mlshared.projects import ProjectSpec

app = typer.Typer(
    help="Telco churn: calibrated XGBoost with a business-cost threshold and SHAP reasons, served by FastAPI.",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="Model file; default: the profile's models/model.joblib.")
]


def _outputs(profile: str) -> OutputDirs:
    return OutputDirs.for_project("churn-api", config_module.PROJECT_ROOT, profile)


@app.command()
@friendly_errors
def train(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Tune XGBoost (Optuna), cross-validate it against logistic regression, calibrate, choose the
    threshold from the business costs, fit on all customers, save, log and register in MLflow."""
    from churn_api.train import train as run_training

    run_training(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def evaluate(
    profile: ProfileOpt = "full", params: ParamsOpt = config_module.DEFAULT_PARAMS, overrides: OverridesOpt = None
) -> None:
    """Write reports/metrics.json and the figures (ROC, PR, calibration, profit curve, SHAP) from the last
    training run."""
    from churn_api.evaluate import evaluate as run_evaluation

    run_evaluation(config_module.load(params, profile, overrides), profile, _outputs(profile))


@app.command()
@friendly_errors
def predict(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="CSV of customers in the IBM Telco columns (Churn optional); default: the IBM file.", dir_okay=False
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the predictions CSV.")] = None,
    model: ModelOpt = None,
    profile: ProfileOpt = "full",
) -> None:
    """Score a CSV of customers: P(churn), the decision at the business threshold and the top reasons."""
    from churn_api.data import load_customers, read_customers

    outputs = _outputs(profile).ensure()
    predictor = ChurnPredictor.load(model or outputs.models / MODEL_FILE)
    customers = read_customers(source) if source else load_customers()
    result = predictor.predict_frame(customers.frame)
    target = output or outputs.work / "predictions.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(target, index=False)
    share = (result["churn"] == "Yes").mean()
    console.print(
        f"[green]Wrote[/] {target}: {len(result)} customers, {share:.1%} flagged at threshold {predictor.threshold:.3f}"
    )


def model_to_serve(model: Path | None, profile: str | None) -> Path:
    """--model, else --profile's model, else the newest trained model of any profile; or say how to get one."""
    from churn_api.serve import TRAIN_HINT
    from churn_api.settings import output_root, trained_models
    from mlshared.console import UserError

    if model is not None:
        return model.resolve()
    if profile is not None:
        path = _outputs(profile).models / MODEL_FILE
        if not path.is_file():
            quick = " --profile quick" if profile == "quick" else f" --profile {profile}"
            raise UserError(f"No {profile}-profile model at {path}.", hint=f"Train it with `churn-api train{quick}`.")
        return path.resolve()
    newest = trained_models(output_root())
    if not newest:
        raise UserError(f"No trained model under {output_root()}.", hint=TRAIN_HINT)
    return newest[0].resolve()


@app.command()
@friendly_errors
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind: 127.0.0.1 is this machine only; 0.0.0.0 inside a container.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    model: ModelOpt = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", "-p", help="Serve this profile's model; default: the newest trained model of any profile."
        ),
    ] = None,
) -> None:
    """Start the API with uvicorn: the newest model `churn-api train` (or `make run`) wrote, unless --model,
    --profile or CHURN_MODEL_PATH / CHURN_MODEL_URI say otherwise (other settings: CHURN_* variables)."""
    import uvicorn

    from churn_api.settings import display_name, output_root
    from mlshared.service import uvicorn_log_config

    if model or profile or not ({"CHURN_MODEL_PATH", "CHURN_MODEL_URI"} & set(os.environ)):
        path = model_to_serve(model, profile)
        ChurnPredictor.load(path)  # fail here, with the fix, rather than in a worker
        os.environ["CHURN_MODEL_PATH"] = str(path)
        console.print(f"Model: {display_name(path, output_root())}")
    console.print(f"Serving on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        "churn_api.serve:create_app", factory=True, host=host, port=port, workers=workers,
        access_log=False, log_config=uvicorn_log_config("warning"),
    )  # fmt: skip


@app.command()
@friendly_errors
def bench(
    profile: ProfileOpt = "full",
    duration: Annotated[int, typer.Option(help="Seconds per wrk run.")] = 4,
    rounds: Annotated[
        int, typer.Option(help="Interleaved rounds over the endpoints; medians (ratio: median per round) reported.")
    ] = 7,
    connections: Annotated[int, typer.Option(help="Concurrent clients (wrk connections).")] = 8,
    model: ModelOpt = None,
) -> None:
    """Start the server (engine/auto scoring, XGBoost scoring, API key on) as processes and load them with wrk:
    p50/p99 and throughput of /health (the framework floor) and /predict, rows/s of /predict/batch, the key-on
    ratio and /health p99 under 10,000-row batches. Writes reports/bench.json (the README's table)."""
    from churn_api.bench import run_bench

    outputs = _outputs(profile).ensure()
    run_bench(model or outputs.models / MODEL_FILE, outputs.reports / "bench.json", duration, connections, rounds)


@app.command()
@friendly_errors
def screenshot(
    output: ScreenshotOpt = config_module.PROJECT_ROOT / "docs" / "api-docs.png",
    model: ModelOpt = None,
    profile: ProfileOpt = "full",
) -> None:
    """Start the API, run POST /predict's example in its Swagger UI (served offline) and save a PNG of the response."""
    import sys

    from mlshared.browser import screenshot_app

    path = (model or _outputs(profile).models / MODEL_FILE).resolve()
    ChurnPredictor.load(path)  # the "train first" message, before starting anything

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "churn_api", "serve", "--port", str(port), "--model", str(path)]

    def try_predict(page: Any) -> None:
        page.get_by_text("/predict", exact=True).first.click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        page.get_by_text("churn_probability").last.wait_for(timeout=30_000)
        # The request URL at the top of the picture, the live response with its reasons below it.
        page.get_by_text("Request URL").first.evaluate("el => el.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollBy(0, -40)")
        page.wait_for_timeout(500)

    screenshot_app(command, output, try_predict, path="/docs", ready_path="/ready", height=720, full_page=False)
    console.print(f"[green]Wrote[/] {output}")


def readme_blocks(reports: Path) -> dict[str, str]:
    """The README's benchmark table, from the last `churn-api bench` (reports/bench.json)."""
    from churn_api.bench import bench_markdown
    from mlshared.reports import read_json_report

    report = read_json_report(reports / "bench.json")
    return {} if report is None else {"bench": bench_markdown(report)}


PROJECT = ProjectSpec(
    name="churn-api",
    title="Telco churn: calibrated XGBoost, business threshold, SHAP reasons, FastAPI (Docker)",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("train",), ("evaluate",), ("predict",)),
    readme_blocks=readme_blocks,
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()
