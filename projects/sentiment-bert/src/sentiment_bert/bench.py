"""`bench`: throughput at batch 1 and 32 and test accuracy of every runtime variant, in one process.

All variants run with the same pinned threads, tokenise with the same tokenizer and are timed in
interleaved rounds (every variant once, then again), so a burst of load from another job on
this shared machine hits every variant alike; the median round is reported. Batch-32 throughput is
measured on the whole test set, whose predictions also give each variant's accuracy, so speed and
accuracy come from the same calls. Batch 1 times the first `batch1_sentences` test sentences one by one.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from importlib import metadata
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score

from mlshared import machine
from mlshared.console import console, make_progress
from mlshared.datasets import DataSettings
from mlshared.reports import ResultsTable, markdown_table
from sentiment_bert.config import Config, Variant
from sentiment_bert.data import LABEL, TEXT, load_test
from sentiment_bert.inference import EncoderClassifier, predicted_labels, require_model_dir
from sentiment_bert.layout import Layout
from sentiment_bert.predict import load_variant

BLOCK = "bench"
REFERENCE: Variant = "pytorch-fp32"


def _time_batch1(classifier: EncoderClassifier, sentences: list[str]) -> list[float]:
    """Seconds per sentence, one call each (what an interactive request costs)."""
    seconds = []
    for sentence in sentences:
        start = time.perf_counter()
        classifier.predict_proba([sentence], batch_size=1)
        seconds.append(time.perf_counter() - start)
    return seconds


def bench(config: Config, layout: Layout, profile: str, settings: DataSettings | None = None) -> dict[str, Any]:
    import torch

    model_dir = require_model_dir(layout.model_dir, profile)
    threads = config.bench.threads
    torch.set_num_threads(threads)
    test = load_test(settings)
    sentences, y = test[TEXT].tolist(), test[LABEL].to_numpy()
    single = sentences[: config.bench.batch1_sentences]
    variants: list[Variant] = list(dict.fromkeys([REFERENCE, *config.bench.variants]))  # fp32 is always the reference
    with console.status("Loading every variant"):
        models = {v: load_variant(v, model_dir, layout.onnx_dir, threads=threads) for v in variants}
    # Warm-up, untimed: a full pass, because oneDNN (bf16, int8) and ONNX Runtime build kernels per input
    # shape, and a short warm-up left the first timed round up to 2x slower for some variants (measured).
    with console.status("Warming up every variant on every input shape"):
        for model in models.values():
            model.predict_proba(sentences, batch_size=32)
            _time_batch1(model, single)

    load_before = os.getloadavg()
    batch1: dict[str, list[float]] = {v: [] for v in variants}
    latency: dict[str, list[float]] = {v: [] for v in variants}
    batch32: dict[str, list[float]] = {v: [] for v in variants}
    proba: dict[str, np.ndarray] = {}
    with make_progress() as progress:
        task = progress.add_task("Benchmark rounds", total=config.bench.repeats * len(variants))
        for _ in range(config.bench.repeats):
            for variant, model in models.items():
                seconds = _time_batch1(model, single)
                batch1[variant].append(len(single) / sum(seconds))
                latency[variant].append(1000 * float(np.median(seconds)))
                start = time.perf_counter()
                proba[variant] = model.predict_proba(sentences, batch_size=32)
                batch32[variant].append(len(sentences) / (time.perf_counter() - start))
                progress.advance(task)
    load_after = os.getloadavg()

    labels = {v: predicted_labels(proba[v]) for v in variants}
    accuracy = {v: float(accuracy_score(y, labels[v])) for v in variants}
    reference = {"batch1": statistics.median(batch1[REFERENCE]), "batch32": statistics.median(batch32[REFERENCE])}
    results: list[dict[str, Any]] = []
    for variant in variants:
        b1, b32 = statistics.median(batch1[variant]), statistics.median(batch32[variant])
        drop = accuracy[REFERENCE] - accuracy[variant]
        results.append(
            {
                "variant": variant,
                "batch1_sentences_per_s": round(b1, 1),
                "batch1_median_latency_ms": round(statistics.median(latency[variant]), 2),
                "batch32_sentences_per_s": round(b32, 1),
                "speedup_batch1": round(b1 / reference["batch1"], 2),
                "speedup_batch32": round(b32 / reference["batch32"], 2),
                "accuracy": round(accuracy[variant], 4),
                "accuracy_drop_points": round(100 * drop, 2),
                "within_accuracy_budget": drop <= config.bench.max_accuracy_drop + 1e-12,
                "label_agreement_with_fp32": round(float((labels[variant] == labels[REFERENCE]).mean()), 4),
                "rounds_batch1": [round(x, 1) for x in batch1[variant]],
                "rounds_batch32": [round(x, 1) for x in batch32[variant]],
            }
        )
    servable = [r for r in results if r["within_accuracy_budget"]]
    best = max(servable, key=lambda r: r["batch32_sentences_per_s"])
    report = {
        "profile": profile,
        "test_sentences": len(sentences),
        "batch1_sentences": len(single),
        "repeats": config.bench.repeats,
        "threads": threads,
        "max_accuracy_drop": config.bench.max_accuracy_drop,
        "fastest_within_budget": best["variant"],
        "results": results,
        "machine": {
            "cpu": machine.model_name(),
            "bf16_instructions": machine.bf16_instructions(),
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "torch": metadata.version("torch"),
            "onnxruntime": metadata.version("onnxruntime"),
        },
    }
    layout.bench_report.parent.mkdir(parents=True, exist_ok=True)
    layout.bench_report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(markdown_table(table(report)), highlight=False)
    console.print(f"[green]Wrote[/] {layout.bench_report}; fastest within the accuracy budget: {best['variant']}")
    return report


def table(report: dict[str, Any]) -> ResultsTable:
    rows = [
        [
            f"**{r['variant']}**" if r["variant"] == report["fastest_within_budget"] else r["variant"],
            f"{r['batch1_sentences_per_s']:.0f}",
            f"{r['batch1_median_latency_ms']:.1f}",
            f"{r['batch32_sentences_per_s']:.0f}",
            f"{r['speedup_batch1']:.2f}x / {r['speedup_batch32']:.2f}x",
            f"{r['accuracy']:.4f}",
            f"{0.0 - r['accuracy_drop_points']:+.2f}",
        ]
        for r in report["results"]
    ]
    m = report["machine"]
    bf16 = ", ".join(m.get("bf16_instructions", [])) or "none"
    caption = (
        f"{m['cpu']} (bf16 instructions: {bf16}), {report['threads']} threads (torch intra-op / onnxruntime "
        "intra-op, inter-op 1), "
        f"torch {m['torch']}, onnxruntime {m['onnxruntime']}. Batch 1: the first {report['batch1_sentences']} "
        f"test sentences one at a time, tokenisation included; batch 32: all {report['test_sentences']} test "
        f"sentences, whose predictions give the accuracy. Median of {report['repeats']} interleaved round(s); "
        f"load average {m['load_average_before'][0]:.1f} before and {m['load_average_after'][0]:.1f} after "
        "(the machine is shared, so absolute numbers move; the ratios are steadier). Bold: the fastest variant "
        f"within {100 * report['max_accuracy_drop']:g} accuracy point of PyTorch fp32."
    )
    return ResultsTable(
        columns=[
            "variant",
            "batch 1 (sent/s)",
            "batch 1 p50 latency (ms)",
            "batch 32 (sent/s)",
            "speed-up vs fp32 (b1 / b32)",
            "test accuracy",
            "Δ accuracy (points)",
        ],
        rows=rows,
        caption=caption,
    )


def render(report: dict[str, Any]) -> str:
    """The README's `bench` block (written by `portfolio readme sync` from reports/bench.json)."""
    return markdown_table(table(report))
