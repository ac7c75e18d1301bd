"""The metrics.json contract and generated README blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mlshared.reports import (
    MetricsReport,
    PrimaryMetric,
    ResultsTable,
    block_is_current,
    markers,
    read_json_report,
    read_report,
    readme_is_current,
    render_results,
    summary_table,
    sync_block,
    sync_readme,
    write_report,
)


def make_report(value: float = 0.105, higher: bool = False) -> MetricsReport:
    return MetricsReport(
        project="demo",
        profile="full",
        primary=PrimaryMetric(
            name="rmse", value=value, higher_is_better=higher, published_baseline=0.11, baseline_source="a paper"
        ),
        metrics={"detail": {"a": 1}},
        table=ResultsTable(columns=["model", "rmse"], rows=[["m", f"{value}"]], caption="cap"),
        data_fingerprint="abc",
        git_commit="1234",
        generated_at="2026-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("value", "higher", "expected"), [(0.105, False, True), (0.12, False, False), (0.12, True, True)]
)
def test_baseline_comparison_respects_direction(value: float, higher: bool, expected: bool) -> None:
    assert make_report(value, higher).primary.beats_baseline is expected


def test_report_roundtrip_and_strict_schema(tmp_path: Path) -> None:
    path = write_report(make_report(), tmp_path / "reports" / "metrics.json")
    assert read_report(path) == make_report()
    with pytest.raises(ValidationError):
        MetricsReport.model_validate({**make_report().model_dump(), "unexpected": 1})


def test_readme_sync_and_staleness(tmp_path: Path) -> None:
    start, end = markers("results")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Demo\n\n{start}\nold\n{end}\n\nrest\n")
    body = render_results(make_report())
    assert not readme_is_current(readme, body)
    assert sync_readme(readme, body) is True
    assert readme_is_current(readme, body)
    assert sync_readme(readme, body) is False
    text = readme.read_text()
    assert "| model | rmse |" in text and text.endswith("rest\n")
    assert not readme_is_current(readme, render_results(make_report(0.2)))


def test_named_blocks_are_independent(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    (rs, re_), (bs, be) = markers("results"), markers("bench")
    readme.write_text(f"{rs}\n{re_}\n{bs}\n{be}\n")
    sync_block(readme, "bench", "| a |")
    assert block_is_current(readme, "bench", "| a |")
    assert f"{rs}\n{re_}\n" in readme.read_text()  # the other block is untouched


def test_missing_markers_are_reported(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="results"):
        sync_readme(readme, "x")


def test_summary_table_marks_missing_projects() -> None:
    table = summary_table({"demo": make_report(), "other": None})
    assert table.rows[0][:4] == ["demo", "rmse ↓", "0.1050", "0.1100"]
    assert "meets" in table.rows[0][4]
    assert table.rows[1][-1] == "not run yet"


def test_a_json_report_reads_back_and_a_missing_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "bench.json"
    assert read_json_report(path) is None  # before the verb that writes it ever ran
    path.parent.mkdir()
    path.write_text('{"rows": 3, "p50_ms": 1.5}', encoding="utf-8")
    assert read_json_report(path) == {"rows": 3, "p50_ms": 1.5}
