"""The README's generated blocks match the committed full-profile reports, and the screenshot is real."""

from __future__ import annotations

import json

from image_classifier.cli import PROJECT, readme_blocks
from mlshared.reports import block_is_current, read_report, render_results

REPORTS = PROJECT.published_report.parent


def test_generated_blocks_match_the_reports() -> None:
    blocks = readme_blocks(REPORTS)
    assert set(blocks) == {"evaluation", "bench"}
    blocks["results"] = render_results(read_report(PROJECT.published_report))
    stale = [name for name, body in blocks.items() if not block_is_current(PROJECT.readme, name, body)]
    assert not stale, f"README blocks {stale} are stale: run `portfolio readme sync`"


def test_published_reports_come_from_the_full_profile() -> None:
    report = read_report(PROJECT.published_report)
    assert report.project == "image-classifier" and report.profile == "full"
    assert json.loads((REPORTS / "bench.json").read_text(encoding="utf-8"))["profile"] == "full"
    assert json.loads((REPORTS / "from_scratch.json").read_text(encoding="utf-8"))["profile"] == "full"
    for figure in report.metrics["figures"]:
        assert (REPORTS / figure).is_file()


def test_readme_embeds_a_real_screenshot_of_the_app() -> None:
    assert "](docs/app.png)" in PROJECT.readme.read_text(encoding="utf-8")
    png = (PROJECT.root / "docs" / "app.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
