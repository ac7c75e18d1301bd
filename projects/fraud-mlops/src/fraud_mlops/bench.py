"""`fraud-mlops bench`: feature computation time on the mirror data (target <= 5 s), written to
reports/bench.json (each section of the file is replaced only by the run that measures it)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from fraud_mlops.features import FEATURE_SETS, Windows, compute, feature_names
from mlshared.console import console
from mlshared.reports import ResultsTable, markdown_table

TARGET_S = 5.0


def bench_features(log: pl.DataFrame, windows: Windows, repeats: int = 3) -> dict[str, Any]:
    """Median wall time of `features.compute` per feature set, after one warm-up run. The CPU time (all of this
    process's threads) is recorded beside it: on the shared machine the wall time follows the load, the CPU time
    much less, so the two together say whether a slow run was the code or the neighbours."""
    out: dict[str, Any] = {
        "rows": log.height, "repeats": repeats, "target_s": TARGET_S,
        "load_average_1m_start": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    for fs in FEATURE_SETS:
        compute(log.head(10_000), fs, windows)  # warm-up: thread pool, expression planning
        times, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            compute(log, fs, windows)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        out[fs] = {
            "features": len(feature_names(fs, windows)),
            "median_s": round(statistics.median(times), 2),
            "runs_s": [round(t, 2) for t in times],
            "median_cpu_s": round(statistics.median(cpu), 2),
        }
        console.print(f"  {fs:<9} {len(feature_names(fs, windows))} features: median {statistics.median(times):.2f} s")
    return out


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "polars": pl.__version__,
        "polars_threads": pl.thread_pool_size(),
        "python": platform.python_version(),
    }


def update(path: Path, section: str, result: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    report[section] = result | {"machine": machine(), "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def bench_markdown(report: dict[str, Any]) -> str:
    """The README's benchmark block, from reports/bench.json."""
    f = report.get("features")
    if not f:
        return ""
    rows = [
        [
            f"features, {fs} set ({f[fs]['features']} columns), {f['rows']:,} rows",
            f"{f[fs]['median_s']:.2f} s (median of {f['repeats']})",
            f"{f[fs].get('median_cpu_s', float('nan')):.2f} s",
            f"<= {f['target_s']:.0f} s",
        ]
        for fs in FEATURE_SETS
    ]
    m = f["machine"]
    load = f"{f['load_average_1m_start']} at the start, " if "load_average_1m_start" in f else ""
    caption = (
        f"{m['cpus']} CPUs (load average {load}{m['load_average_1m']} at the end: the machine is shared), "
        f"polars {m['polars']} on {m['polars_threads']} threads, {f['generated_at']}."
    )
    columns = ["measurement", "wall time", "CPU time", "target"]
    return markdown_table(ResultsTable(columns=columns, rows=rows, caption=caption))
