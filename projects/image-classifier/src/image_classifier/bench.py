"""`bench`: images/s at batch 1 and 32, p50 latency and test accuracy of PyTorch fp32, ONNX Runtime fp32 and
ONNX Runtime int8, in one process and one run.

Every variant gets the same preprocessed test images (preprocessing is not timed: it is the same NumPy
code for every ONNX variant), the same thread count, and is timed in interleaved rounds (each variant
once, then again), so a burst of load from another job on this shared machine hits every variant alike;
the median round is reported. Batch 32 runs the whole test set, whose predictions give the accuracy, so
speed and accuracy come from the same calls. int8 is recommended only if it stays within
`bench.max_accuracy_drop` of fp32.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from image_classifier.checkpoint import TrainedModel
from image_classifier.config import Config
from image_classifier.data import ImageData
from image_classifier.images import open_file
from image_classifier.inference import INT8_FILE, ONNX_FILE, OnnxClassifier
from mlshared import machine
from mlshared.console import console, make_progress
from mlshared.reports import ResultsTable, markdown_table

BLOCK = "bench"
BENCH_FILE = "bench.json"
REFERENCE = "pytorch-fp32"
Logits = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]


def _torch_runner(trained: TrainedModel, threads: int) -> Logits:
    import torch

    torch.set_num_threads(threads)

    def run(batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return trained.logits(torch.from_numpy(batch)).numpy()

    return run


def _batches(x: npt.NDArray[np.float32], size: int) -> list[npt.NDArray[np.float32]]:
    return [x[i : i + size] for i in range(0, len(x), size)]


def bench(
    config: Config, trained: TrainedModel, data: ImageData, models_dir: Path, reports_dir: Path, profile: str
) -> dict[str, Any]:
    threads = config.bench.threads
    onnx_fp32 = OnnxClassifier(models_dir / ONNX_FILE, threads)
    runners: dict[str, Logits] = {
        REFERENCE: _torch_runner(trained, threads),
        "onnxruntime-fp32": onnx_fp32.logits,
    }
    if (models_dir / INT8_FILE).is_file():
        runners["onnxruntime-int8"] = OnnxClassifier(models_dir / INT8_FILE, threads).logits
    with console.status("Preprocessing the test images"):
        x = onnx_fp32.preprocess([open_file(s.path) for s in data.test])
    y = np.asarray([s.label for s in data.test])
    single = x[: config.bench.batch1_images]
    with console.status("Warming up"):
        for run in runners.values():
            run(x[:32])
            run(single[:1])

    load_before = os.getloadavg()
    latency: dict[str, list[float]] = {v: [] for v in runners}
    batch1: dict[str, list[float]] = {v: [] for v in runners}
    batch32: dict[str, list[float]] = {v: [] for v in runners}
    logits: dict[str, npt.NDArray[np.float32]] = {}
    with make_progress() as progress:
        task = progress.add_task("Benchmark rounds", total=config.bench.repeats * len(runners))
        for _ in range(config.bench.repeats):
            for name, run in runners.items():
                seconds = []
                for image in single:
                    start = time.perf_counter()
                    run(image[None])
                    seconds.append(time.perf_counter() - start)
                batch1[name].append(len(single) / sum(seconds))
                latency[name].append(1000 * float(np.median(seconds)))
                start = time.perf_counter()
                logits[name] = np.concatenate([run(b) for b in _batches(x, 32)])
                batch32[name].append(len(x) / (time.perf_counter() - start))
                progress.advance(task)
    load_after = os.getloadavg()

    accuracy = {v: float((logits[v].argmax(1) == y).mean()) for v in runners}
    ref_b1, ref_b32 = statistics.median(batch1[REFERENCE]), statistics.median(batch32[REFERENCE])
    results: list[dict[str, Any]] = []
    for name in runners:
        b1, b32 = statistics.median(batch1[name]), statistics.median(batch32[name])
        drop = accuracy[REFERENCE] - accuracy[name]
        results.append(
            {
                "variant": name,
                "batch1_images_per_s": round(b1, 1),
                "batch1_p50_latency_ms": round(statistics.median(latency[name]), 2),
                "batch32_images_per_s": round(b32, 1),
                "speedup_batch1": round(b1 / ref_b1, 2),
                "speedup_batch32": round(b32 / ref_b32, 2),
                "accuracy": round(accuracy[name], 4),
                "accuracy_drop_points": round(100 * drop, 2),
                "within_accuracy_budget": drop <= config.bench.max_accuracy_drop + 1e-12,
                "max_abs_logit_diff_vs_fp32": round(float(np.abs(logits[name] - logits[REFERENCE]).max()), 5),
                "rounds_batch32": [round(v, 1) for v in batch32[name]],
            }
        )
    servable = [r for r in results if r["within_accuracy_budget"]]
    best = max(servable, key=lambda r: r["batch32_images_per_s"])
    report = {
        "profile": profile,
        "arch": trained.arch,
        "image_size": trained.preprocessing.image_size,
        "test_images": len(x),
        "batch1_images": len(single),
        "repeats": config.bench.repeats,
        "threads": threads,
        "max_accuracy_drop": config.bench.max_accuracy_drop,
        "fastest_within_budget": best["variant"],
        "results": results,
        "machine": {
            "cpu": machine.model_name(),
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
            "torch": metadata.version("torch"),
            "onnxruntime": metadata.version("onnxruntime"),
        },
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / BENCH_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(markdown_table(table(report)), highlight=False)
    console.print(f"[green]Wrote[/] {reports_dir / BENCH_FILE}; fastest within the accuracy budget: {best['variant']}")
    return report


def table(report: dict[str, Any]) -> ResultsTable:
    rows = [
        [
            f"**{r['variant']}**" if r["variant"] == report["fastest_within_budget"] else r["variant"],
            f"{r['batch1_images_per_s']:.1f}",
            f"{r['batch1_p50_latency_ms']:.1f}",
            f"{r['batch32_images_per_s']:.1f}",
            f"{r['speedup_batch1']:.2f}x / {r['speedup_batch32']:.2f}x",
            f"{r['accuracy']:.4f}",
            f"{0.0 - r['accuracy_drop_points']:+.2f}",
        ]
        for r in report["results"]
    ]
    m = report["machine"]
    caption = (
        f"{report['arch']} at {report['image_size']} px on {m['cpu']}, {report['threads']} thread(s), "
        f"torch {m['torch']}, "
        f"onnxruntime {m['onnxruntime']}. Batch 1: the first {report['batch1_images']} test images one at a time; "
        f"batch 32: all {report['test_images']} test images, whose predictions give the accuracy. Preprocessed "
        f"inputs (decoding and resizing are not timed). Median of {report['repeats']} interleaved round(s); load "
        f"average {m['load_average_before'][0]:.1f} before and {m['load_average_after'][0]:.1f} after on "
        f"{m['cpu_count']} cores (a shared machine: absolute numbers move, ratios are steadier). Bold: the fastest "
        f"variant within {100 * report['max_accuracy_drop']:g} accuracy point of PyTorch fp32."
    )
    return ResultsTable(
        columns=["variant", "batch 1 (img/s)", "batch 1 p50 latency (ms)", "batch 32 (img/s)",
                 "speed-up vs fp32 (b1 / b32)", "test accuracy", "Δ accuracy (points)"],
        rows=rows,
        caption=caption,
    )  # fmt: skip


def render(report: dict[str, Any]) -> str:
    return markdown_table(table(report))
