"""Real-browser smoke test: the app as a user sees it, in headless Chromium (Debian's package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from house_prices import app as app_module
from house_prices.data import Houses
from mlshared.browser import browser_page
from mlshared.servers import free_port, serve, streamlit_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_app_in_a_real_browser(model_path: Path, test_houses: Houses, tmp_path: Path) -> None:
    port = free_port()
    env = {app_module.MODEL_ENV: str(model_path)}
    upload = tmp_path / "houses.csv"
    test_houses.frame.head(7).to_csv(upload, index=False)
    command = streamlit_command(app_module.__file__, port)
    with serve(command, port, ready_path="/_stcore/health", env=env) as server, browser_page() as page:
        page.goto(server.base_url)
        page.get_by_text("Adjust the house").wait_for(timeout=60_000)  # the script has finished its first run
        quality = page.get_by_role("slider").first  # "Overall quality (1-10)"
        quality.focus()
        quality.press("ArrowRight")
        quality.press("ArrowRight")
        page.get_by_role("button", name="Estimate price").click()
        page.get_by_text("What drives this price").wait_for(timeout=60_000)
        assert page.get_by_text("Estimated price").is_visible()
        assert page.get_by_text("90% prediction interval").is_visible()
        page.get_by_role("tab", name="Batch CSV").click()
        page.locator("input[type=file]").set_input_files(str(upload))
        page.get_by_text("Predicted 7 houses").wait_for(timeout=60_000)
