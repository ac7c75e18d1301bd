"""One prediction interface over every runtime: PyTorch fp32 / int8 and ONNX Runtime fp32 / int8.

Everything downstream (evaluation, behavioural tests, the benchmark, the app) takes a `Classifier`,
so the numbers they report are for the same code path, whichever runtime is underneath. All
backends tokenise with the fine-tuned model's own tokenizer, whose `model_max_length` is the
training max length (saved with it), and sort a batch job by length so padding stays small.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from mlshared.console import UserError

FloatArray = npt.NDArray[np.float64]
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
Precision = Literal["fp32", "int8", "bf16"]
POSITIVE_THRESHOLD = 0.5  # the one decision rule: reports, benchmark, behavioural tests and the app share it


class Classifier(Protocol):
    """What every consumer needs: P(positive) for a batch of sentences."""

    name: str

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray: ...


def softmax_positive(logits: npt.NDArray[np.floating[Any]]) -> FloatArray:
    """P(label 1) from two-class logits, computed stably."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e[:, 1] / e.sum(axis=1), dtype=np.float64)


@dataclass
class TokenCount:
    tokens: int  # WordPiece tokens including [CLS] and [SEP], before truncation
    max_length: int

    @property
    def truncated(self) -> bool:
        return self.tokens > self.max_length


class EncoderClassifier:
    """Shared tokenisation and batching; subclasses turn an encoded batch into logits."""

    name = "encoder"

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.max_length = int(tokenizer.model_max_length)

    def encode(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        return {name: np.asarray(enc[name], dtype=np.int64) for name in INPUT_NAMES if name in enc}

    def count_tokens(self, text: str) -> TokenCount:
        # verbose=False: counting an overlong text is the point here, not a mistake worth a warning.
        return TokenCount(len(self.tokenizer(text, truncation=False, verbose=False)["input_ids"]), self.max_length)

    def logits_batch(self, batch: dict[str, npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        raise NotImplementedError

    def predict_logits(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 2), dtype=np.float32)
        # Length-sorted batches (order restored at the end): far less padding than arrival order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 2), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.logits_batch(self.encode([texts[i] for i in idx]))
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> FloatArray:
        return softmax_positive(self.predict_logits(texts, batch_size))


def load_tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir))


def require_model_dir(model_dir: Path, profile: str = "full") -> Path:
    if not (model_dir / "config.json").is_file():
        raise UserError(
            f"No fine-tuned model in {model_dir}.",
            hint=f"Run `sentiment-bert train --profile {profile}` first (or pass --model DIR).",
        )
    return model_dir


def quantize_linear_int8(model: Any, per_channel: bool = True) -> Any:
    """Dynamic int8 of every Linear layer; `per_channel`: a weight scale per output channel (chosen on
    validation by `experiments/int8_choice.py`), otherwise one per tensor."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao -> torchao migration notice
        warnings.filterwarnings("ignore", "torch.quantize_per_tensor", UserWarning)
        spec: Any = (
            {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig} if per_channel else {torch.nn.Linear}
        )
        return torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8)  # type: ignore[no-untyped-call]


class TorchClassifier(EncoderClassifier):
    """The fine-tuned transformers model in eval mode at one of three precisions:

    - `fp32`: the reference.
    - `int8`: dynamic int8 quantisation of the Linear layers with per-output-channel weight scales
      (torch.ao; deprecated upstream in favour of torchao, still the stock CPU path).
    - `bf16`: weights and activations in bfloat16. On CPUs with AMX or AVX512-BF16 (Intel Sapphire
      Rapids and later, AMD Zen 4) oneDNN runs the matrix products in hardware bf16; elsewhere it is
      emulated and slower than fp32, which `bench` would show.
    """

    def __init__(self, model: Any, tokenizer: Any, name: str = "pytorch-fp32") -> None:
        super().__init__(tokenizer)
        self.model = model.eval()
        self.name = name

    @classmethod
    def load(cls, model_dir: Path, precision: Precision = "fp32", attention: str | None = None) -> TorchClassifier:
        """`attention="eager"` for ONNX export (a graph ONNX Runtime can fuse); None: transformers' default (SDPA)."""
        import torch

        from sentiment_bert.modeling import load_classifier

        require_model_dir(model_dir)
        extra = {"attn_implementation": attention} if attention else {}
        model = load_classifier(model_dir, **extra).eval()
        if precision == "int8":
            model = quantize_linear_int8(model)
        elif precision == "bf16":
            model = model.to(torch.bfloat16)
        return cls(model, load_tokenizer(model_dir), f"pytorch-{precision}")

    def logits_batch(self, batch: dict[str, npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v) for k, v in batch.items()}
            return np.asarray(self.model(**tensors).logits.float().numpy(), dtype=np.float32)


class OnnxClassifier(EncoderClassifier):
    """An exported graph in ONNX Runtime with pinned threads (intra-op `threads`, inter-op 1)."""

    def __init__(self, session: Any, tokenizer: Any, name: str) -> None:
        super().__init__(tokenizer)
        self.session = session
        self.name = name
        self.input_names = {i.name for i in session.get_inputs()}

    @classmethod
    def load(cls, onnx_path: Path, model_dir: Path, threads: int | None = None, name: str = "onnx") -> OnnxClassifier:
        import onnxruntime as ort

        if not onnx_path.is_file():
            raise UserError(f"No ONNX model at {onnx_path}.", hint="Run `sentiment-bert export` first.")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return cls(session, load_tokenizer(model_dir), name)

    def logits_batch(self, batch: dict[str, npt.NDArray[np.int64]]) -> npt.NDArray[np.float32]:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        return np.asarray(self.session.run(["logits"], feed)[0], dtype=np.float32)


def predicted_labels(p_positive: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Labels (1 = positive) from P(positive)."""
    return (np.asarray(p_positive) >= POSITIVE_THRESHOLD).astype(np.int64)


def accuracy_of(labels: npt.ArrayLike, p_positive: npt.ArrayLike) -> float:
    """Accuracy of the decisions `predicted_labels` takes from P(positive)."""
    return float(np.mean(np.asarray(labels) == predicted_labels(p_positive)))


def label_of(p_positive: float) -> str:
    return "positive" if p_positive >= POSITIVE_THRESHOLD else "negative"
