"""Export the trained model to ONNX with its class names and preprocessing, and prove logit parity.

The TorchScript-based exporter (`dynamo=False`) is used: it writes one self-contained file with a dynamic
batch axis that onnxruntime optimises and quantises without trouble. Parity is checked on real test
images through the two preprocessing paths a user would take (torchvision for PyTorch, NumPy for ONNX),
so the check covers the preprocessing recipe as well as the graph.

int8: static quantisation (QDQ, per-channel weights, activations calibrated on training images) of the
fp32 graph; `bench` measures whether it keeps the test accuracy within the allowed drop.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from image_classifier.checkpoint import TrainedModel
from image_classifier.data import ImageData, Sample
from image_classifier.images import open_file
from image_classifier.inference import INPUT, INT8_FILE, ONNX_FILE, OUTPUT, OnnxClassifier
from mlshared.console import UserError, console

EXPORT_REPORT = "export.json"
OPSET = 17
PARITY_TOLERANCE = 1e-3  # max |logit difference|; fp32 reorderings differ by ~1e-5


def export_onnx(trained: TrainedModel, path: Path) -> Path:
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    size = trained.preprocessing.image_size
    served = trained.served()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter is chosen on purpose (see the module docstring); its deprecation notice is not news.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            served,
            (torch.zeros(1, 3, size, size),),
            str(path),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load(str(path))
    metadata = {
        "classes": json.dumps(trained.classes),
        "preprocessing": json.dumps(trained.preprocessing.as_dict()),
        "arch": trained.arch,
        "tta_flip": json.dumps(trained.tta_flip),
        "trained": json.dumps({k: v for k, v in trained.metadata.items() if k != "mlflow_run_id"}),
    }
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = f"image-classifier: {trained.arch} over classes {', '.join(trained.classes)}"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def parity(trained: TrainedModel, onnx_path: Path, samples: list[Sample]) -> dict[str, Any]:
    """Max |logit difference| between PyTorch (torchvision preprocessing) and ONNX Runtime (NumPy)."""
    images = [open_file(s.path) for s in samples]
    torch_logits = trained.logits(trained.tensor(images)).numpy()
    served = OnnxClassifier(onnx_path)
    onnx_logits = served.logits(served.preprocess(images))
    diff = float(np.abs(torch_logits - onnx_logits).max())
    agree = float((torch_logits.argmax(1) == onnx_logits.argmax(1)).mean())
    return {"images": len(images), "max_abs_logit_diff": diff, "label_agreement": agree, "tolerance": PARITY_TOLERANCE}


def _calibration_reader(batches: list[np.ndarray]) -> Any:
    """onnxruntime's CalibrationDataReader over preprocessed training images."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT: batch}

    return Reader()


def quantize_int8(source: Path, target: Path, calibration: list[Sample]) -> Path:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    served = OnnxClassifier(source)
    images = [open_file(s.path) for s in calibration]
    batches = [served.preprocess(images[i : i + 8]) for i in range(0, len(images), 8)]
    prepared = target.with_suffix(".prep.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(target),
        _calibration_reader(batches),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    prepared.unlink(missing_ok=True)
    _copy_metadata(source, target)
    return target


def _copy_metadata(source: Path, target: Path) -> None:
    import onnx

    src, dst = onnx.load(str(source)), onnx.load(str(target))
    del dst.metadata_props[:]
    dst.metadata_props.extend(src.metadata_props)
    onnx.save(dst, str(target))


def export(
    trained: TrainedModel, data: ImageData, models_dir: Path, reports_dir: Path, calibration_images: int
) -> dict[str, Any]:
    with console.status("Exporting to ONNX"):
        onnx_path = export_onnx(trained, models_dir / ONNX_FILE)
    with console.status("Checking logit parity on test images"):
        check = parity(trained, onnx_path, data.test[:32])
    if check["max_abs_logit_diff"] > PARITY_TOLERANCE:
        raise UserError(
            f"The ONNX model's logits differ from PyTorch's by {check['max_abs_logit_diff']:.2e} "
            f"(tolerance {PARITY_TOLERANCE:g}); the export is not faithful.",
        )
    with console.status(f"int8 static quantisation, calibrated on {calibration_images} training images"):
        int8_path = quantize_int8(onnx_path, models_dir / INT8_FILE, data.train[:calibration_images])
    report: dict[str, Any] = {
        "onnx": onnx_path.name,
        "onnx_int8": int8_path.name,
        "opset": OPSET,
        "parity": check,
        "classes": trained.classes,
        "preprocessing": trained.preprocessing.as_dict(),
        "size_mb": {
            "fp32": round(onnx_path.stat().st_size / 2**20, 2),
            "int8": round(int8_path.stat().st_size / 2**20, 2),
        },
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / EXPORT_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"[green]Exported[/] {onnx_path} ({report['size_mb']['fp32']} MB) and {int8_path.name} "
        f"({report['size_mb']['int8']} MB); parity on {check['images']} test images: max |Δlogit| "
        f"{check['max_abs_logit_diff']:.1e}, labels agree {check['label_agreement']:.0%}"
    )
    return report
