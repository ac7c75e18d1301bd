"""Real-browser smoke test: the app as a user sees it, in headless Chromium (Debian's package).

The upload waits for the Streamlit rerun it causes (`streamlit_rerun`: classification and Grad-CAM on CPU)
and every check is an auto-waiting `expect`, never a one-off read (`is_visible()`), which can run before a
rerun has finished or a lazily loaded component has arrived on a loaded machine (see `mlshared.browser`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from image_classifier import app as app_module
from mlshared.browser import browser_page, streamlit_rerun, wait_for_streamlit_idle
from mlshared.servers import free_port, serve, streamlit_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHOTO = "1032546534_06907fe3b3.jpg"
RUN_TIMEOUT_S = 180.0  # loading the model, then a forward and a Grad-CAM backward pass on a shared CPU


def test_upload_in_a_real_browser(model_path: Path, hymenoptera: Path) -> None:
    port = free_port()
    env = {app_module.MODEL_ENV: str(model_path)}
    command = streamlit_command(app_module.__file__, port)
    with serve(command, port, ready_path="/_stcore/health", env=env) as server, browser_page() as page:
        page.goto(server.base_url)
        wait_for_streamlit_idle(page, RUN_TIMEOUT_S)
        expect(page.get_by_text("Try the examples")).to_be_visible()
        expect(page.get_by_text("Upload images or pick examples to classify them.")).to_be_visible()
        with streamlit_rerun(page, RUN_TIMEOUT_S):
            page.locator("input[type=file]").set_input_files(str(hymenoptera / "val" / "bees" / PHOTO))
        expect(page.get_by_text(re.compile(rf"^{re.escape(PHOTO)}: (ants|bees) \(\d+\.\d%\)$"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"^Grad-CAM for '(ants|bees)'$"))).to_be_visible()
        expect(page.get_by_text(re.compile(rf"^{re.escape(PHOTO)} \(\d+ x \d+\)$"))).to_be_visible()
        # The invitation is gone: the page shows the finished run, not a mix with the previous one.
        expect(page.get_by_text("Upload images or pick examples to classify them.")).to_have_count(0)
