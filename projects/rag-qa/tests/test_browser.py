"""Real-browser smoke test: the app in headless Chromium (Debian's package), asking a real index.

The page is read only once Streamlit's run has finished (`streamlit_rerun`), and the highlight is waited for:
reading the page as soon as "Source passages" showed found no <mark> in about one run in three."""

from __future__ import annotations

import pytest

from mlshared.browser import browser_page, streamlit_rerun, wait_for_streamlit_idle
from mlshared.servers import free_port, serve, streamlit_command
from rag_qa import app as app_module
from rag_qa.pipeline import RagSystem
from rag_qa.store import INDEX_DIR_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_ask_in_a_real_browser(system: RagSystem) -> None:
    index_dir = system.index.directory
    system.close()  # embedded Qdrant: one process per folder; the app opens it next
    port = free_port()
    env = {INDEX_DIR_ENV: str(index_dir), app_module.PROFILE_ENV: "quick"}
    command = streamlit_command(app_module.__file__, port)
    with serve(command, port, ready_path="/_stcore/health", env=env) as server, browser_page() as page:
        page.goto(server.base_url)
        page.get_by_label("Question").wait_for(timeout=240_000)  # first run loads the model
        wait_for_streamlit_idle(page, timeout_s=240)
        page.get_by_label("Question").fill("Who discovered oxygen?")
        with streamlit_rerun(page, timeout_s=180):
            page.get_by_role("button", name="Ask").click()
        page.get_by_text("Source passages").wait_for(timeout=10_000)
        # The answer, highlighted in its passage. The browser draws an expander's HTML a moment after the run
        # ends, so this waits for the element (and fails if it never comes) instead of reading the page at once.
        page.locator("mark", has_text="Priestley").first.wait_for(timeout=30_000)
        page.get_by_text("notes/oxygen.txt#0").first.wait_for(timeout=10_000)  # its citation, visible
