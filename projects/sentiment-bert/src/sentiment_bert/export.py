"""ONNX export of the fine-tuned model, fused for ONNX Runtime, a parity check, and a dynamic-int8 copy.

The graph is traced with the TorchScript exporter from the model loaded with eager attention: that
is the graph ONNX Runtime's transformer optimizer recognises, fusing each layer's attention into one
`Attention` op, the embeddings into `EmbedLayerNormalization`, residual + LayerNorm into
`SkipLayerNormalization` and the GELU into `BiasGelu` (from 235 nodes to 49). The torch.export-based
exporter (dynamo) writes a graph whose attention the optimizer does not fuse (measured: 0 of 6),
which made ONNX fp32 slower than PyTorch at batch 32. `quantize_dynamic` then stores the weights of the
operators in `export.int8_operators` as int8 (per output channel when `export.int8_per_channel`) and
quantises activations on the fly, which needs no calibration data.
The export is refused when the fp32 graph's logits differ from PyTorch's by more than
`export.parity_atol`.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlshared.console import UserError, console
from mlshared.datasets import DataSettings
from sentiment_bert.config import Config
from sentiment_bert.data import TEXT, load_train, validation_sentences
from sentiment_bert.inference import OnnxClassifier, TorchClassifier, require_model_dir
from sentiment_bert.layout import Layout

DUMMY = ("a warm , funny and moving film .", "not good .")
FUSED_OPS = ("Attention", "EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu", "FastGelu", "Gelu")


def _logits_module(model: Any, with_token_types: bool) -> Any:
    """The classifier with plain tensor inputs and a single `logits` output, which is what the exporter traces."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
        ) -> torch.Tensor:
            extra = {"token_type_ids": token_type_ids} if with_token_types else {}
            logits: torch.Tensor = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits
            return logits

    return Logits().eval()


def export_onnx(model_dir: Path, target: Path, opset: int) -> Path:
    """Write `target` (one file, weights inline, fused for ONNX Runtime) with dynamic batch and sequence axes."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from torch.jit._trace import TracerWarning

    classifier = TorchClassifier.load(require_model_dir(model_dir), attention="eager")
    batch = classifier.encode(list(DUMMY))
    names: list[str] = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch]
    module = _logits_module(classifier.model, "token_type_ids" in batch)
    args = tuple(torch.from_numpy(batch[name]) for name in names)
    target.parent.mkdir(parents=True, exist_ok=True)
    traced = target.with_suffix(".traced.onnx")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))  # the TorchScript exporter's notice
        warnings.filterwarnings("ignore", "Exporting aten::index", UserWarning)  # indices are never negative here
        # transformers' mask helper asks whether the mask needs padding to the key length; for an encoder
        # it never does, so tracing that branch as a constant is right (and the parity check below proves it).
        warnings.filterwarnings("ignore", "Converting a tensor to a Python boolean", TracerWarning)
        torch.onnx.export(
            module,
            args,
            str(traced),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in names},
            opset_version=opset,
            dynamo=False,
        )
    config = classifier.model.config
    try:
        fused = optimize_model(
            str(traced), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        )
        fused.save_model_to_file(str(target))
    finally:
        traced.unlink(missing_ok=True)
    return target


def fused_operators(path: Path) -> dict[str, int]:
    """How many of ONNX Runtime's fused transformer ops the graph holds (recorded in export.json)."""
    import onnx

    counts = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    return {op: counts[op] for op in FUSED_OPS if counts[op]}


def quantize_int8(source: Path, target: Path, operators: Sequence[str], per_channel: bool) -> Path:
    """Dynamic int8 quantisation of the weights of `operators` (activations quantised per batch at run time);
    `per_channel`: one scale per output channel instead of one per tensor."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ORT logs generic advice to pre-process the graph; the transformer optimizer already has.
    hint_filter = _DropRootMessage("pre-processing before quantization")
    logging.getLogger().addFilter(hint_filter)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            op_types_to_quantize=list(operators),
            # ONNX shape inference cannot type the outputs of the fused com.microsoft ops; they are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(hint_filter)
    return target


class _DropRootMessage(logging.Filter):
    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def parity(model_dir: Path, onnx_path: Path, sentences: list[str]) -> dict[str, float]:
    """Largest |logit difference| between PyTorch and ONNX Runtime, and how often their labels agree."""
    reference = TorchClassifier.load(model_dir).predict_logits(sentences)
    candidate = OnnxClassifier.load(onnx_path, model_dir, name="onnx").predict_logits(sentences)
    return {
        "max_abs_logit_diff": float(np.abs(reference - candidate).max()),
        "label_agreement": float((reference.argmax(1) == candidate.argmax(1)).mean()),
    }


def export(config: Config, layout: Layout, settings: DataSettings | None = None) -> dict[str, Any]:
    model_dir = require_model_dir(layout.model_dir, layout.outputs.profile)
    frame = load_train(settings)
    rows = validation_sentences(frame, config.data.validation_size, config.seed)[: config.export.parity_sentences]
    sentences = frame[TEXT].take(rows).tolist()  # parity compares logits, not labels: real sentences suffice

    start = time.perf_counter()
    with console.status(f"Exporting {model_dir.name} to ONNX (opset {config.export.opset})"):
        export_onnx(model_dir, layout.onnx_fp32, config.export.opset)
    export_seconds = time.perf_counter() - start
    fp32 = parity(model_dir, layout.onnx_fp32, sentences)
    if fp32["max_abs_logit_diff"] > config.export.parity_atol:
        raise UserError(
            f"The ONNX graph disagrees with PyTorch: max |logit difference| {fp32['max_abs_logit_diff']:.2e} on "
            f"{len(sentences)} validation sentences (allowed {config.export.parity_atol:.0e}).",
            hint="Try another opset (export.opset in params.yaml) or report the torch/onnxruntime versions.",
        )
    with console.status("Quantising the ONNX graph to dynamic int8"):
        quantize_int8(layout.onnx_fp32, layout.onnx_int8, config.export.int8_operators, config.export.int8_per_channel)
    int8 = parity(model_dir, layout.onnx_int8, sentences)
    fp32["megabytes"], int8["megabytes"] = _megabytes(layout.onnx_fp32), _megabytes(layout.onnx_int8)
    summary = {
        "opset": config.export.opset,
        "fused_operators": fused_operators(layout.onnx_fp32),
        "export_seconds": round(export_seconds, 1),
        "parity_sentences": len(sentences),
        "int8": {"operators": config.export.int8_operators, "per_channel": config.export.int8_per_channel},
        "onnx_fp32": fp32,
        "onnx_int8": int8,
    }
    layout.export_summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"[green]Exported[/] {layout.onnx_fp32} ({fp32['megabytes']} MB, max |Δlogit| "
        f"{fp32['max_abs_logit_diff']:.1e}) and {layout.onnx_int8.name} ({int8['megabytes']} MB, "
        f"label agreement with PyTorch {int8['label_agreement']:.1%})"
    )
    return summary


def _megabytes(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1)
