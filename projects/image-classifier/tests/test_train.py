"""Training: on a folder a user builds (through the CLI), seeded, both modes, early stopping."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from image_classifier import config as config_module
from image_classifier.checkpoint import TrainedModel
from image_classifier.cli import app
from image_classifier.config import Config
from image_classifier.data import load
from image_classifier.images import open_file
from image_classifier.train import _EarlyStopping, train
from mlshared.paths import OUTPUT_ROOT_ENV, OutputDirs


def test_train_on_your_own_folder_through_the_cli(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OUTPUT_ROOT_ENV, str(tmp_path / "out"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = tmp_path / "params.yaml"
    raw = yaml.safe_load(config_module.DEFAULT_PARAMS.read_text(encoding="utf-8"))
    raw["profiles"]["tiny"] = {"threads": 1, "train": {"image_size": 64, "feature_views": 1, "head_epochs": 3}}
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["train", "--profile", "tiny", "--params", str(params), "--data", str(small_folder)]
    )
    assert result.exit_code == 0, result.output
    outputs = OutputDirs.for_project("image-classifier", config_module.PROJECT_ROOT, "tiny")
    trained = TrainedModel.load(outputs.models / "model.pt")
    assert trained.classes == ["ants", "bees"]
    assert trained.metadata["data_dir"] == str(small_folder.resolve())
    report = json.loads((outputs.reports / "data_validation.json").read_text(encoding="utf-8"))
    assert len(report["excluded"]) == 4
    # ... and registered it: the registry's pyfunc answers like the checkpoint, from image bytes alone.
    import mlflow

    from mlshared import tracking

    tracking.configure_uri()
    registered = mlflow.pyfunc.load_model(f"models:/image-classifier@{raw['tracking']['alias']}")
    photos = sorted((small_folder / "ants").glob("*.jpg"))[:2] + sorted((small_folder / "bees").glob("*.jpg"))[:2]
    photos = [p for p in photos if p.name not in ("truncated.jpg", "notes.jpg")]
    answer = registered.predict(pd.DataFrame({"image": [p.read_bytes() for p in photos]}))
    proba = trained.predict_proba([open_file(p) for p in photos])
    assert list(answer["label"]) == [trained.classes[i] for i in proba.argmax(1)]
    assert np.allclose(answer[["p_ants", "p_bees"]].to_numpy(), proba, atol=1e-5)
    assert trained.metadata["mlflow_run_id"] == registered.metadata.run_id
    with pytest.raises(Exception, match="not an image"):
        registered.predict(pd.DataFrame({"image": [(small_folder / "bees" / "notes.jpg").read_bytes()]}))


def test_a_missing_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OUTPUT_ROOT_ENV, str(tmp_path / "out"))
    result = CliRunner().invoke(app, ["validate", "--data", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope" in result.output


def test_training_is_seeded(small_folder: Path, tmp_path: Path, make_config: Callable[..., Config]) -> None:
    data = load(small_folder, "hymenoptera", 0.2, 0.25, 0)
    config = make_config(train={"image_size": 64, "head_epochs": 4})
    runs = [train(config, "test", OutputDirs(tmp_path / str(i), "test"), data, track=False) for i in range(2)]
    first, second = (r.trained.model.state_dict() for r in runs)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert runs[0].history == [
        {**row, "seconds": runs[0].history[i]["seconds"]} for i, row in enumerate(runs[1].history)
    ]


def test_fine_tuning_updates_the_backbone_and_features_mode_does_not(
    small_folder: Path, tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    data = load(small_folder, "hymenoptera", 0.2, 0.25, 0)
    from image_classifier.model import build

    reference = build(make_config().model.arch, "imagenet", 2).state_dict()["conv_stem.weight"]
    tuned = train(
        make_config(model={"mode": "finetune"}, train={"image_size": 64, "epochs": 1, "batch_size": 8}),
        "test", OutputDirs(tmp_path / "ft", "test"), data, track=False,
    )  # fmt: skip
    frozen = train(
        make_config(train={"image_size": 64, "head_epochs": 2}), "test", OutputDirs(tmp_path / "fe", "test"), data,
        track=False,
    )  # fmt: skip
    assert not torch.equal(tuned.trained.model.state_dict()["conv_stem.weight"], reference)
    assert torch.equal(frozen.trained.model.state_dict()["conv_stem.weight"], reference)
    assert all(row["train_loss"] == row["train_loss"] for row in tuned.history)  # finite, not NaN


def test_early_stopping_keeps_the_best_state() -> None:
    layer = torch.nn.Linear(2, 2)
    stopper = _EarlyStopping(layer, patience=2)
    losses = [1.0, 0.5, 0.6, 0.7]
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            layer.weight.fill_(float(epoch))
        stopper.update(epoch, loss)
    assert stopper.stop and stopper.best_epoch == 2
    assert torch.equal(stopper.best_state["weight"], torch.full((2, 2), 2.0))
