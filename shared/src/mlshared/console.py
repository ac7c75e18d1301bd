"""Console output, progress bars and user-facing errors shared by every CLI."""

from __future__ import annotations

import functools
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
