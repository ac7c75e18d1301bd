"""Console output, progress bars and user-facing errors shared by every CLI."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import ParamSpec, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)

# Libraries draw a tqdm bar for every load, however fast: MLflow's "Downloading artifacts" when it copies a local
# model, transformers' "Loading weights" for a checkpoint on disk. TQDM_DELAY makes any tqdm bar appear only once
# its work has lasted that long, so a millisecond load prints nothing while a slow download or a training loop
# still shows its bar. tqdm reads TQDM_* once, when it is imported: this runs on import of this module, which every
# project CLI and app imports before any library that draws bars (tests/test_console.py checks it). A value in the
# environment wins; child processes (apps, servers) inherit it.
PROGRESS_DELAY_ENV = "TQDM_DELAY"
PROGRESS_DELAY_S = 2.0
os.environ.setdefault(PROGRESS_DELAY_ENV, str(PROGRESS_DELAY_S))

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class UserError(Exception):
    """An error the user can fix: printed as a message and a hint, never as a traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


def print_user_error(error: UserError) -> None:
    console.print(f"[bold red]Error:[/] {error.message}", highlight=False)
    if error.hint:
        console.print(f"[yellow]How to fix:[/] {error.hint}", highlight=False)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a `UserError` raised by a CLI command into a readable message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except UserError as error:
            print_user_error(error)
            sys.exit(2)

    return wrapper


def make_progress(transient: bool = False) -> Progress:
    """A Rich progress bar with counts, elapsed and remaining time (rendered on stderr)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,  # bars help people, not CI logs
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar (shown only when stderr is a terminal)."""
    with make_progress(transient=True) as progress:
        yield from progress.track(items, total=total, description=description)
