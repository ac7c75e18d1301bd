"""Headless Chromium for app smoke tests and README screenshots.

Playwright cannot download its own browsers here, so it drives Debian's `chromium` package
(`make browsers` installs it). The flags keep Chromium from phoning home, which a closed
network turns into slow startup and connection-refused noise.

Checks on a page must wait, never read it once: `locator.is_visible()` answers at once, and made
house-prices' browser test flaky under load. Two things lag behind what a test waited for:
- a Streamlit script run: until it has finished, the page mixes the new run's elements with stale
  ones of the previous run (`wait_for_streamlit_idle`, `streamlit_rerun`);
- lazily loaded components: Streamlit fetches an element's code (e.g. `Metric.*.js`) the first time
  it is shown, and a fresh browser profile has a cold cache, so on a loaded machine an element can
  appear seconds after the ones below it (`slow_down` reproduces this on purpose).
So assertions use Playwright's auto-waiting `expect(...)`, whose timeout `browser_page` raises.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlshared.console import UserError

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# How long an `expect(...)` assertion retries: Playwright's 5 s default is short for a loaded CI machine.
EXPECT_TIMEOUT_S = 30.0


def chromium_path() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    raise UserError(
        "No Chromium executable found for the browser tests.",
        hint="Run `make browsers` (installs Debian's chromium package) or `apt-get install chromium`.",
    )


@contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A Playwright page in a fresh headless Chromium profile; `expect(...)` retries for `EXPECT_TIMEOUT_S`."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_S * 1000)

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": width, "height": height},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


# Streamlit's root element carries the script run state: initial, running, rerunRequested, notRunning, ...
STREAMLIT_APP = '[data-testid="stApp"]'
_IDLE = "notRunning"
# Set to true by the first change of the run state after it is installed: a run has started since.
_WATCH_RUNS = """(selector) => {
  window.__mlsharedRunStarted = false;
  new MutationObserver(() => {
    const state = document.querySelector(selector)?.getAttribute('data-test-script-state');
    if (state !== 'notRunning') window.__mlsharedRunStarted = true;
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_RUN_FINISHED = """(selector) => window.__mlsharedRunStarted === true
  && document.querySelector(selector)?.getAttribute('data-test-script-state') === 'notRunning'"""


def wait_for_streamlit_idle(page: Page, timeout_s: float = 60.0) -> None:
    """Block until the Streamlit script is not running: the first run after `page.goto` (its first
    element appearing is no sign it has finished) or a rerun, with its stale elements removed."""
    page.locator(f'{STREAMLIT_APP}[data-test-script-state="{_IDLE}"]').wait_for(timeout=timeout_s * 1000)


@contextmanager
def streamlit_rerun(page: Page, timeout_s: float = 60.0) -> Iterator[None]:
    """Wrap an interaction that makes Streamlit rerun (a button, a form, an upload); on exit the rerun
    it caused has finished.

    Waiting for "not running" right after a click is not enough: the click reaches the server
    asynchronously, so the page may still read "not running" from before. The page is first let settle,
    then a watcher notes the run state leaving "not running", and the exit waits for it to come back.
    """
    wait_for_streamlit_idle(page, timeout_s)
    page.evaluate(_WATCH_RUNS, STREAMLIT_APP)
    yield
    page.wait_for_function(_RUN_FINISHED, arg=STREAMLIT_APP, timeout=timeout_s * 1000)


def slow_down(page: Page, url_glob: str, delay_s: float) -> None:
    """Answer requests matching `url_glob` only after `delay_s`: a test that passes with a component's code
    arriving late cannot depend on the machine being fast (see the module docstring)."""

    def delayed(route: Route) -> None:
        time.sleep(delay_s)  # the sync API serves routes in the test's thread: the page keeps running meanwhile
        route.continue_()

    page.route(url_glob, delayed)


def screenshot_app(
    command: Callable[[int], Sequence[str]],
    output: Path,
    interact: Callable[[Any], None],
    *,
    path: str = "/",
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
    width: int = 1280,
    height: int = 900,
    timeout_s: float = 120.0,
    full_page: bool = True,
) -> Path:
    """Start an app (`command(port)` on a free port), open `path` in headless Chromium, let `interact`
    drive the page into the state worth showing, and save a PNG (the whole page, or with
    `full_page=False` the viewport `interact` scrolled to): every project's README screenshot verb,
    so they differ only in what they start and click."""
    from mlshared.servers import free_port, serve

    port = free_port()
    with (
        serve(command(port), port, ready_path=ready_path, env=env, timeout_s=timeout_s) as server,
        browser_page(width, height) as page,
    ):
        page.goto(server.base_url + path)
        interact(page)
        output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output), full_page=full_page)
    return output
