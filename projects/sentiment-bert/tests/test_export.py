"""Fast inference: ONNX export parity with PyTorch, int8 copies that still agree, and the benchmark report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlshared.console import UserError
from sentiment_bert.bench import bench, render
from sentiment_bert.config import VARIANTS, Config
from sentiment_bert.data import TEXT
from sentiment_bert.export import export
from sentiment_bert.inference import OnnxClassifier, TorchClassifier
from sentiment_bert.layout import Layout
from sentiment_bert.predict import load_variant
from sentiment_bert.train import TrainResult

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(trained: TrainResult, tiny_config: Config, tiny_layout: Layout) -> dict[str, object]:
    return export(tiny_config, tiny_layout)


def test_onnx_fp32_matches_pytorch(
    exported: dict[str, object], classifier: TorchClassifier, tiny_layout: Layout, sst2_test: pd.DataFrame
) -> None:
    sentences = [*sst2_test[TEXT].head(64), "", "a", "word " * 200]  # empty, tiny and truncated inputs
    onnx = OnnxClassifier.load(tiny_layout.onnx_fp32, tiny_layout.model_dir, threads=1, name="onnx-fp32")
    np.testing.assert_allclose(onnx.predict_logits(sentences), classifier.predict_logits(sentences), atol=1e-3)
    np.testing.assert_allclose(
        onnx.predict_logits(sentences[:5], batch_size=1), classifier.predict_logits(sentences[:5]), atol=1e-3
    )


def test_export_summary_records_parity_and_int8_agreement(exported: dict[str, object], tiny_layout: Layout) -> None:
    summary = json.loads(tiny_layout.export_summary.read_text(encoding="utf-8"))
    assert summary["onnx_fp32"]["max_abs_logit_diff"] < 1e-3
    assert summary["onnx_fp32"]["label_agreement"] == 1.0
    assert summary["onnx_int8"]["label_agreement"] >= 0.85
    assert summary["onnx_int8"]["megabytes"] < summary["onnx_fp32"]["megabytes"]
    assert summary["int8"] == {"operators": ["MatMul"], "per_channel": True}  # params.yaml's validated choice


def test_exported_graph_is_fused_for_onnx_runtime(exported: dict[str, object], classifier: TorchClassifier) -> None:
    """The speed-up rests on ONNX Runtime's fused ops: one Attention per layer, not ~30 primitive nodes."""
    layers = classifier.model.config.num_hidden_layers
    fused = exported["fused_operators"]
    assert isinstance(fused, dict)
    assert fused["Attention"] == layers
    assert fused["SkipLayerNormalization"] == 2 * layers and fused["EmbedLayerNormalization"] == 1


def test_reduced_precision_variants_agree_with_fp32(
    exported: dict[str, object], classifier: TorchClassifier, tiny_layout: Layout, sst2_test: pd.DataFrame
) -> None:
    sentences = sst2_test[TEXT].head(100).tolist()
    reference = classifier.predict_proba(sentences) >= 0.5
    for variant in ("pytorch-int8", "pytorch-bf16", "onnx-int8"):
        model = load_variant(variant, tiny_layout.model_dir, tiny_layout.onnx_dir, threads=1)
        agreement = float(((model.predict_proba(sentences) >= 0.5) == reference).mean())
        assert agreement >= 0.85, f"{variant}: {agreement:.2f}"


def test_bench_measures_every_variant(exported: dict[str, object], tiny_config: Config, tiny_layout: Layout) -> None:
    report = bench(tiny_config, tiny_layout, "test")
    assert [r["variant"] for r in report["results"]] == list(VARIANTS)
    reference = report["results"][0]
    assert reference["speedup_batch32"] == 1.0 and reference["accuracy_drop_points"] == 0.0
    assert all(r["batch1_sentences_per_s"] > 0 and r["batch32_sentences_per_s"] > 0 for r in report["results"])
    assert report["fastest_within_budget"] in VARIANTS
    assert json.loads(tiny_layout.bench_report.read_text(encoding="utf-8")) == report
    table = render(report)
    assert sum(line.startswith("| ") for line in table.splitlines()) == len(VARIANTS) + 1  # header + one per variant


def test_missing_onnx_graph_says_to_export(trained: TrainResult, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="No ONNX model") as error:
        load_variant("onnx-fp32", trained.model_dir, tmp_path)
    assert error.value.hint is not None and "sentiment-bert export" in error.value.hint
