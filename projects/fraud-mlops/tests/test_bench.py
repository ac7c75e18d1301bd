"""The feature benchmark's report and its README block (the timing itself is a measurement, not a test)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fraud_mlops.bench import bench_features, bench_markdown, update
from fraud_mlops.features import FEATURE_SETS, Windows, feature_names


def test_bench_features_reports_wall_and_cpu_time_per_feature_set(small_log: pl.DataFrame, tmp_path: Path) -> None:
    result = bench_features(small_log, Windows(), repeats=2)
    assert result["rows"] == small_log.height
    assert result["load_average_1m_start"] >= 0
    for fs in FEATURE_SETS:
        assert result[fs]["features"] == len(feature_names(fs))
        assert len(result[fs]["runs_s"]) == 2
        assert result[fs]["median_s"] > 0 and result[fs]["median_cpu_s"] > 0
    report = update(tmp_path / "bench.json", "features", result)
    block = bench_markdown(report)
    for fs in FEATURE_SETS:
        assert f"{result[fs]['median_s']:.2f} s (median of 2) | {result[fs]['median_cpu_s']:.2f} s" in block
    assert f"load average {result['load_average_1m_start']} at the start" in block
