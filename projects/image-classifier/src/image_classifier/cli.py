"""`image-classifier` command line: validate, train, evaluate, export, predict, bench, scratch, app, run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

from image_classifier import config as config_module
from image_classifier.checkpoint import MODEL_FILE
from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt, ScreenshotOpt
from mlshared.console import console, friendly_errors
from mlshared.paths import OutputDirs
from mlshared.projects import ProjectSpec

app = typer.Typer(
    help="Ants vs bees (or your own image folders): ImageNet transfer learning in PyTorch, evaluation with "
    "Grad-CAM, ONNX export, batch prediction, a benchmark and a Streamlit app.",
    no_args_is_help=True,
)

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="An ImageFolder-style folder: DIR/train/<class>/ + DIR/val/<class>/, or DIR/<class>/ (a test split is "
        "carved off). Default: the registered `hymenoptera` dataset (or, after training, the model's data).",
        file_okay=False,
    ),
]
ModelOpt = Annotated[Path | None, typer.Option("--model", help="Checkpoint; default: the profile's models/model.pt.")]


def _outputs(profile: str) -> OutputDirs:
    return OutputDirs.for_project("image-classifier", config_module.PROJECT_ROOT, profile)


def _load_data(config: config_module.Config, data: Path | None) -> Any:
    from image_classifier.data import load

    return load(
        data,
        config.data.dataset,
        config.data.validation_fraction,
        config.data.test_fraction,
        config.seed,
    )


@app.command()
@friendly_errors
def validate(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
) -> None:
    """Check every image (decoding, placeholders, decompression bombs) and write the data report."""
    config = config_module.load(params, profile, overrides)
    images = _load_data(config, data)
    path = images.write_report(_outputs(profile).ensure().reports / "data_validation.json")
    report = images.report()
    console.print(
        f"[green]Data OK[/]: {len(images.train)} train, {len(images.validation)} validation, {len(images.test)} test "
        f"images of {', '.join(images.classes)}; {len(report['excluded'])} file(s) excluded"
    )
    for item in report["excluded"]:
        console.print(f"[yellow]Excluded[/] {item['file']}: {item['reason']}", highlight=False)
    console.print(f"[green]Wrote[/] {path}")


@app.command()
@friendly_errors
def train(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
    arch: Annotated[
        str | None,
        typer.Option(
            help="efficientnet_lite0 | efficientnet_lite1 | efficientnet_lite2 (offline ImageNet weights) | resnet18 "
            "| resnet50 (default: params.yaml)."
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(help="imagenet (offline for efficientnet_liteN, downloaded for ResNets) | none | PATH."),
    ] = None,
    mode: Annotated[str | None, typer.Option(help="finetune | features (frozen backbone).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs (early stopping may end sooner).")] = None,
) -> None:
    """Train the classifier on the training images, early-stopping on a validation split; track it in MLflow."""
    from image_classifier.train import train as run_training

    config = _override(
        config_module.load(params, profile, overrides), arch=arch, weights=weights, mode=mode, epochs=epochs
    )
    images = _load_data(config, data)
    outputs = _outputs(profile).ensure()
    images.write_report(outputs.reports / "data_validation.json")
    result = run_training(config, profile, outputs, images)
    if data is not None:
        result.trained.metadata["data_dir"] = str(data.resolve())
        result.trained.save(result.model_path)


def _override(config: config_module.Config, **values: Any) -> config_module.Config:
    """CLI options win over params.yaml (validated by the same model)."""
    raw = config.model_dump()
    for key, value in values.items():
        if value is None:
            continue
        section = "train" if key in ("epochs", "image_size", "lr", "backbone_lr_factor") else "model"
        raw[section][key] = value
    return config_module.Config.model_validate(raw)


def _trained(model: Path | None, profile: str) -> Any:
    from image_classifier.checkpoint import TrainedModel

    return TrainedModel.load(model or _outputs(profile).models / MODEL_FILE)


def _data_of(config: config_module.Config, trained: Any, data: Path | None) -> Any:
    """The images the model was trained on (its recorded --data folder) unless --data says otherwise."""
    recorded = trained.metadata.get("data_dir")
    return _load_data(config, data or (Path(recorded) if recorded else None))


@app.command()
@friendly_errors
def evaluate(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Score the model on the test set: accuracy with a bootstrap CI, per-class precision/recall, confusion
    matrix, calibration, most confident mistakes, Grad-CAM; writes reports/metrics.json and figures."""
    from image_classifier.evaluate import evaluate as run_evaluation

    config = config_module.load(params, profile, overrides)
    trained = _trained(model, profile)
    run_evaluation(config, profile, _outputs(profile), _data_of(config, trained, data), trained)


@app.command()
@friendly_errors
def export(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Write models/model.onnx (class names and preprocessing in its metadata, logit parity checked) and an
    int8 version calibrated on training images."""
    from image_classifier.export import export as run_export

    config = config_module.load(params, profile, overrides)
    trained = _trained(model, profile)
    outputs = _outputs(profile).ensure()
    run_export(
        trained, _data_of(config, trained, data), outputs.models, outputs.reports, config.bench.calibration_images
    )


@app.command()
@friendly_errors
def bench(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
    model: ModelOpt = None,
) -> None:
    """Images/s at batch 1 and 32, p50 latency and accuracy: PyTorch fp32 vs ONNX Runtime fp32 and int8."""
    from image_classifier.bench import bench as run_bench

    config = config_module.load(params, profile, overrides)
    trained = _trained(model, profile)
    outputs = _outputs(profile).ensure()
    run_bench(config, trained, _data_of(config, trained, data), outputs.models, outputs.reports, profile)


@app.command()
@friendly_errors
def predict(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Image files and/or folders (searched recursively).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV to write.")] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="An exported model.onnx; default: the profile's models/model.onnx.")
    ] = None,
    profile: ProfileOpt = "full",
) -> None:
    """Classify images with the exported ONNX model (no training code needed); writes a CSV.
    Without PATHs it classifies the test folder of the registered dataset."""
    from image_classifier.inference import ONNX_FILE, OnnxClassifier
    from image_classifier.predict import predict_paths, write_csv

    outputs = _outputs(profile).ensure()
    classifier = OnnxClassifier(model or outputs.models / ONNX_FILE)
    if not paths:
        from mlshared.datasets import resolve_dir

        paths = [resolve_dir(config_module.load(config_module.DEFAULT_PARAMS, profile).data.dataset) / "val"]
    predictions = predict_paths(classifier, paths)
    target = output or outputs.work / "predictions.csv"
    write_csv(predictions, classifier.classes, target)
    failed = [p for p in predictions if p.error]
    for p in failed:
        console.print(f"[yellow]Skipped[/] {p.path}: {p.error}", highlight=False)
    counts = {c: sum(p.label == c for p in predictions) for c in classifier.classes}
    summary = ", ".join(f"{n} {c}" for c, n in counts.items())
    console.print(
        f"[green]Wrote[/] {target}: {len(predictions) - len(failed)} image(s) classified ({summary}); "
        f"{len(failed)} skipped"
    )


@app.command()
@friendly_errors
def scratch(
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
    data: DataOpt = None,
) -> None:
    """The honest comparison: train `scratch.arch` (ResNet-18) from random weights on the same images and
    score it on the same test set; writes reports/from_scratch.json."""
    from image_classifier.scratch import run as run_scratch

    config = config_module.load(params, profile, overrides)
    run_scratch(config, profile, _outputs(profile), _load_data(config, data), _outputs(f"{profile}-scratch"))


@app.command("app")
def run_app(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    model: Annotated[Path | None, typer.Option(help="Checkpoint; default: models/model.pt.")] = None,
) -> None:
    """Start the Streamlit app: upload images (or pick examples) -> top classes and a Grad-CAM overlay."""
    from image_classifier import app as app_module
    from mlshared.servers import streamlit_command

    env = dict(os.environ)
    if model:
        env[app_module.MODEL_ENV] = str(model.resolve())
    console.print(f"Starting the app on http://localhost:{port}")
    raise typer.Exit(subprocess.call(streamlit_command(app_module.__file__, port), env=env))


@app.command()
@friendly_errors
def screenshot(output: ScreenshotOpt = config_module.PROJECT_ROOT / "docs" / "app.png", model: ModelOpt = None) -> None:
    """Start the app, classify two example images in headless Chromium and save a screenshot."""
    from image_classifier import app as app_module
    from mlshared.browser import screenshot_app
    from mlshared.servers import streamlit_command

    model_file = (model or _outputs("full").models / MODEL_FILE).resolve()
    _trained(model_file, "full")  # fail early with the "train first" message

    def classify_examples(page: Any) -> None:
        page.get_by_text("Try the examples").wait_for(timeout=120_000)
        page.get_by_role("button", name="Classify the examples").click()
        page.get_by_text("Grad-CAM for").nth(1).wait_for(timeout=180_000)  # both examples' overlays
        page.wait_for_timeout(3000)

    screenshot_app(
        lambda port: streamlit_command(app_module.__file__, port), output, classify_examples,
        ready_path="/_stcore/health", env={app_module.MODEL_ENV: str(model_file)}, height=1400, timeout_s=180,
    )  # fmt: skip
    console.print(f"[green]Wrote[/] {output}")


def readme_blocks(reports: Path) -> dict[str, str]:
    """The README's evaluation and benchmark blocks, rendered from the full-profile reports folder."""
    from image_classifier import bench as bench_module
    from image_classifier import evaluate as evaluate_module
    from mlshared.reports import read_json_report

    blocks = {}
    if (reports / "metrics.json").is_file():
        blocks[evaluate_module.BLOCK] = evaluate_module.render_details(reports)
    report = read_json_report(reports / bench_module.BENCH_FILE)
    if report is not None:
        blocks[bench_module.BLOCK] = bench_module.render(report)
    return blocks


PROJECT = ProjectSpec(
    name="image-classifier",
    title="Ants vs bees: ImageNet transfer learning (PyTorch, timm), Grad-CAM, ONNX serving, Streamlit app",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("train",), ("evaluate",), ("export",), ("bench",)),
    readme_blocks=readme_blocks,
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()
