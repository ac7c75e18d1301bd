"""Headless Chromium for app smoke tests and README screenshots.

Playwright cannot download its own browsers here, so it drives Debian's `chromium` package
(`make browsers` installs it). The flags keep Chromium from phoning home, which a closed
network turns into slow startup and connection-refused noise.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlshared.console import UserError

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
    """A Playwright page in a fresh headless Chromium profile."""
    from playwright.sync_api import sync_playwright

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
