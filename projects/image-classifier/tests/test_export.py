"""Serving: the ONNX model carries its classes and preprocessing, matches PyTorch, predicts files and folders,
and the benchmark writes its report."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from image_classifier.bench import bench
from image_classifier.checkpoint import TrainedModel
from image_classifier.cli import app
from image_classifier.config import Config
from image_classifier.data import ImageData
from image_classifier.images import open_file
from image_classifier.inference import ONNX_FILE, OnnxClassifier
from mlshared.paths import OutputDirs

pytestmark = pytest.mark.slow


def test_onnx_has_classes_preprocessing_and_logit_parity(
    exported: dict[str, object], trained: TrainedModel, outputs: OutputDirs, real_data: ImageData
) -> None:
    parity = exported["parity"]
    assert isinstance(parity, dict) and parity["max_abs_logit_diff"] < 1e-3 and parity["label_agreement"] == 1.0
    served = OnnxClassifier(outputs.models / ONNX_FILE)
    assert served.classes == trained.classes and served.preprocessing == trained.preprocessing
    images = [open_file(s.path) for s in real_data.test[40:48]]
    assert np.abs(served.predict_proba(images) - trained.predict_proba(images)).max() < 1e-4
    assert (outputs.models / "model.int8.onnx").is_file()


def test_predict_files_and_folders_to_csv(
    exported: dict[str, object], outputs: OutputDirs, small_folder: Path, tmp_path: Path
) -> None:
    single = tmp_path / "one bee.jpg"
    shutil.copy(next((small_folder / "bees").glob("*.jpg")), single)
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["predict", str(small_folder), str(single), "-o", str(target), "--model", str(outputs.models / ONNX_FILE)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 16 + 3 + 1  # photos, three junk files (the hidden one is skipped), the single file
    errors = {Path(r["path"]).name: r["error"] for r in rows if r["error"]}
    assert set(errors) == {"truncated.jpg", "notes.jpg", "empty.png"}
    good = [r for r in rows if not r["error"]]
    assert all(r["label"] in {"ants", "bees"} for r in good)
    assert all(abs(float(r["p_ants"]) + float(r["p_bees"]) - 1) < 1e-3 for r in good)
    folder_labels = [r["label"] for r in good if Path(r["path"]).parent.name in {"ants", "bees"}]
    truth = [Path(r["path"]).parent.name for r in good if Path(r["path"]).parent.name in {"ants", "bees"}]
    assert np.mean([a == b for a, b in zip(folder_labels, truth, strict=True)]) >= 0.75


def test_predict_without_an_export_says_what_to_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["predict", str(tmp_path), "--model", str(tmp_path / "model.onnx")])
    assert result.exit_code == 2
    assert "image-classifier export" in result.output


def test_bench_reports_every_variant(
    exported: dict[str, object], trained: TrainedModel, real_data: ImageData, outputs: OutputDirs,
    make_config: Callable[..., Config],
) -> None:  # fmt: skip
    report = bench(make_config(), trained, real_data, outputs.models, outputs.reports, "test")
    variants = {r["variant"]: r for r in report["results"]}
    assert set(variants) == {"pytorch-fp32", "onnxruntime-fp32", "onnxruntime-int8"}
    assert variants["onnxruntime-fp32"]["accuracy"] == variants["pytorch-fp32"]["accuracy"]
    assert all(r["batch1_images_per_s"] > 0 and r["batch32_images_per_s"] > 0 for r in variants.values())
    assert report["fastest_within_budget"] in variants
    assert json.loads((outputs.reports / "bench.json").read_text())["test_images"] == 153
