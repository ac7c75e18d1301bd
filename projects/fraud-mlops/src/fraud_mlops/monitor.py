"""Drift monitoring with Evidently: the features (and the model's scores) of a recent window against a
reference window, as an HTML report and a JSON summary; over the threshold, the verdict is "retrain".

Evidently chooses each column's test by its type and size (normed Wasserstein distance above 1,000 rows,
drift at >= 0.1; Kolmogorov-Smirnov p-values below, drift at < 0.05) and counts the drifted columns;
the data set drifts when their share reaches `drift_share`. Both windows are sampled (seeded) to at most
`sample_rows` rows so the report stays fast and small.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from fraud_mlops.metrics import SCORE
from fraud_mlops.protocol import rows_between

P_VALUE_TESTS = ("K-S", "chi-square", "Z-test", "Fisher", "Anderson", "Cramer", "T-Test", "Mann-Whitney", "p_value")


@dataclass(frozen=True)
class DriftResult:
    summary: dict[str, Any]
    html: Path

    @property
    def retrain(self) -> bool:
        return bool(self.summary["retrain"])


def _column_drifted(method: str, value: float, threshold: float) -> bool:
    if any(name.lower() in method.lower() for name in P_VALUE_TESTS):
        return value < threshold
    return value >= threshold


def drift_report(
    featured: pl.DataFrame, columns: list[str], reference: tuple[date, date], current: tuple[date, date],
    drift_share: float, sample_rows: int, seed: int, html: Path,
) -> DriftResult:  # fmt: skip
    """`reference` and `current` are (first day, last day), inclusive; `columns` may include `score`."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def window(span: tuple[date, date]) -> pl.DataFrame:
        rows = rows_between(featured, span[0], span[1] + timedelta(days=1)).select(columns)
        return rows.sample(n=min(sample_rows, rows.height), seed=seed) if rows.height else rows

    ref, cur = window(reference), window(current)
    if ref.is_empty() or cur.is_empty():
        raise ValueError(f"no transactions in the reference ({ref.height}) or current ({cur.height}) window")
    snapshot = Report([DataDriftPreset(drift_share=drift_share)]).run(
        current_data=cur.to_pandas(), reference_data=ref.to_pandas()
    )
    html.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html))
    per_column: dict[str, dict[str, Any]] = {}
    share = 0.0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            value, threshold = float(metric["value"]), float(config["threshold"])
            per_column[config["column"]] = {
                "method": config["method"], "value": round(value, 5), "threshold": threshold,
                "drifted": _column_drifted(config["method"], value, threshold),
            }  # fmt: skip
    prediction = per_column.get(SCORE, {}).get("drifted")
    retrain = share >= drift_share or bool(prediction)
    summary = {
        "reference": [str(d) for d in reference],
        "current": [str(d) for d in current],
        "rows": {"reference": ref.height, "current": cur.height},
        "drifted_share": round(share, 4),
        "drift_share_threshold": drift_share,
        "drifted_columns": sorted(c for c, v in per_column.items() if v["drifted"]),
        "prediction_drift": prediction,
        "retrain": retrain,
        "columns": per_column,
        "report": html.name,
    }
    return DriftResult(summary, html)


def write_summary(result: DriftResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")


RENDERED = "text=Dataset Drift"  # the report's first heading: Evidently draws the page with JavaScript


def screenshot_report(html: Path, output: Path, width: int = 1280, height: int = 900) -> Path:
    """The README's picture of a drift report: the HTML opened in headless Chromium once Evidently has drawn it,
    the first screen of it (its summary and the first columns)."""
    from mlshared.browser import browser_page

    with browser_page(width, height) as page:
        page.goto(html.resolve().as_uri())
        page.locator(RENDERED).first.wait_for(timeout=60_000)
        output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output))
    return output
