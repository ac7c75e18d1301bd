"""The README's generated blocks match the committed full-profile reports, and the demo screenshot is real.

The same check runs repository-wide (`portfolio readme check`); this one names the project's own blocks.
"""

from __future__ import annotations

import json

from mlshared.reports import block_is_current, read_report, render_results
from sentiment_bert.cli import PROJECT, readme_blocks

REPORTS = PROJECT.published_report.parent  # the committed reports, whatever PORTFOLIO_OUTPUT_ROOT says


def test_generated_blocks_match_the_reports() -> None:
    blocks = readme_blocks(REPORTS)
    assert set(blocks) == {"evaluation", "bench"}
    blocks["results"] = render_results(read_report(PROJECT.published_report))
    stale = [name for name, body in blocks.items() if not block_is_current(PROJECT.readme, name, body)]
    assert not stale, f"README blocks {stale} are stale: run `portfolio readme sync`"


def test_published_reports_come_from_the_full_profile() -> None:
    report = read_report(PROJECT.published_report)
    assert report.project == "sentiment-bert" and report.profile == "full"
    assert json.loads((REPORTS / "bench.json").read_text(encoding="utf-8"))["profile"] == "full"
    for figure in report.metrics["figures"]:
        assert (REPORTS / figure).is_file()


def test_readme_embeds_a_real_screenshot_of_the_demo() -> None:
    text = PROJECT.readme.read_text(encoding="utf-8")
    assert "](docs/app.png)" in text
    png = (PROJECT.root / "docs" / "app.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
