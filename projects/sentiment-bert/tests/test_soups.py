"""Weight soups: the average is exact, incompatible members are refused, and scoring uses validation only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from mlshared.console import UserError
from sentiment_bert.config import Config
from sentiment_bert.layout import Layout
from sentiment_bert.soups import REPORT, WEIGHTS_FILE, average, load_members, score_soups
from sentiment_bert.train import TrainResult


def test_a_soup_is_the_uniform_float32_average() -> None:
    a = {"w": torch.tensor([1.0, 2.0], dtype=torch.bfloat16), "b": torch.tensor([0.0])}
    b = {"w": torch.tensor([3.0, 6.0], dtype=torch.bfloat16), "b": torch.tensor([1.0])}
    soup = average([a, b])
    assert soup["w"].dtype == torch.float32
    assert torch.equal(soup["w"], torch.tensor([2.0, 4.0])) and torch.equal(soup["b"], torch.tensor([0.5]))


@pytest.mark.slow
def test_a_soup_of_a_model_with_itself_scores_as_the_model(
    trained: TrainResult, tiny_config: Config, tiny_layout: Layout, tmp_path: Path
) -> None:
    twin = shutil.copytree(trained.model_dir, tmp_path / "twin")
    report = score_soups(tiny_config, [trained.model_dir, twin], tiny_layout)
    alone, soup = report["rows"][0], report["rows"][-1]
    assert report["validation_sentences"] == tiny_config.data.validation_size
    assert [r["members"] for r in report["rows"]] == [["m1"], ["m2"], ["m1", "m2"]]
    assert alone["accuracy"] == trained.summary["validation"]["accuracy"]
    assert soup["accuracy"] == soup["members_mean"] == soup["ensemble_accuracy"] == alone["accuracy"]
    assert json.loads((tiny_layout.outputs.reports / REPORT).read_text(encoding="utf-8")) == report


@pytest.mark.slow
def test_members_that_cannot_be_averaged_are_refused(trained: TrainResult, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="at least two different models"):
        load_members([trained.model_dir, trained.model_dir])
    other = shutil.copytree(trained.model_dir, tmp_path / "other")
    weights = load_file(str(other / WEIGHTS_FILE))
    weights["classifier.weight"] = torch.zeros(3, weights["classifier.weight"].shape[1])  # a three-class head
    save_file(weights, str(other / WEIGHTS_FILE))
    with pytest.raises(UserError, match="do not have the same tensors"):
        load_members([trained.model_dir, other])
