"""Real-browser smoke test: the app as a user sees it, in headless Chromium (Debian's package).

Every interaction waits for the Streamlit rerun it causes (`streamlit_rerun`) and every check is an
auto-waiting `expect`. Reading the page once (`is_visible()`) made this test flaky under load: Streamlit
loads the metric's code lazily, so on a loaded machine "What drives this price" could show before
"Estimated price" above it. The test delays that code on purpose, so a check that does not wait fails
every time instead of once in a while.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from house_prices import app as app_module
from house_prices.data import Houses
from mlshared.browser import browser_page, slow_down, streamlit_rerun, wait_for_streamlit_idle
from mlshared.servers import free_port, serve, streamlit_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAZY_METRIC_CODE = "**/static/js/Metric.*.js"  # Streamlit's st.metric component, fetched on first use


def test_app_in_a_real_browser(model_path: Path, test_houses: Houses, tmp_path: Path) -> None:
    port = free_port()
    env = {app_module.MODEL_ENV: str(model_path)}
    upload = tmp_path / "houses.csv"
    test_houses.frame.head(7).to_csv(upload, index=False)
    command = streamlit_command(app_module.__file__, port)
    with serve(command, port, ready_path="/_stcore/health", env=env) as server, browser_page() as page:
        slow_down(page, LAZY_METRIC_CODE, delay_s=3.0)
        page.goto(server.base_url)
        wait_for_streamlit_idle(page)
        expect(page.get_by_text("Adjust the house")).to_be_visible()
        quality = page.get_by_role("slider").first  # "Overall quality (1-10)"
        quality.focus()
        quality.press("ArrowRight")
        quality.press("ArrowRight")
        with streamlit_rerun(page):
            page.get_by_role("button", name="Estimate price").click()
        expect(page.get_by_text("Estimated price")).to_be_visible()
        expect(page.get_by_text("90% prediction interval")).to_be_visible()
        expect(page.get_by_text("What drives this price")).to_be_visible()
        expect(page.get_by_text("Adjust the house")).to_have_count(0)  # the form's hint is gone: the rerun is done
        page.get_by_role("tab", name="Batch CSV").click()
        with streamlit_rerun(page):
            page.locator("input[type=file]").set_input_files(str(upload))
        expect(page.get_by_text("Predicted 7 houses")).to_be_visible()
