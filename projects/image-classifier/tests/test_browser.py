"""Real-browser smoke test: the app as a user sees it, in headless Chromium (Debian's package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from image_classifier import app as app_module
from mlshared.browser import browser_page
from mlshared.servers import free_port, serve, streamlit_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_upload_in_a_real_browser(model_path: Path, hymenoptera: Path) -> None:
    port = free_port()
    env = {app_module.MODEL_ENV: str(model_path)}
    photo = hymenoptera / "val" / "bees" / "1032546534_06907fe3b3.jpg"
    command = streamlit_command(app_module.__file__, port)
    with serve(command, port, ready_path="/_stcore/health", env=env) as server, browser_page() as page:
        page.goto(server.base_url)
        page.get_by_text("Try the examples").wait_for(timeout=60_000)
        page.locator("input[type=file]").set_input_files(str(photo))
        page.get_by_text("Grad-CAM for").first.wait_for(timeout=120_000)
        assert page.get_by_text("1032546534_06907fe3b3.jpg:").first.is_visible()
