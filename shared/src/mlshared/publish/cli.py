"""The root CLI's publishing commands (`init`, `site`, `new`, `spaces`), registered by `mlshared.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlshared.console import console, friendly_errors
from mlshared.paths import find_workspace_root


def register(app: typer.Typer) -> None:
    app.command("init")(init)


@friendly_errors
def init(
    name: Annotated[str, typer.Option("--name", help="Your name, as the README title and LICENSE show it.")],
    github: Annotated[str, typer.Option("--github", help="Your GitHub user (or organisation) that holds the fork.")],
    repo: Annotated[
        str | None, typer.Option("--repo", help="The fork's repository name (default: keep the current one).")
    ] = None,
) -> None:
    """Make a fork yours: README title and badge URLs, LICENSE holder, site title and links, package authors.

    Nothing else changes, and running it again with the same values changes nothing.
    """
    from mlshared.publish.init import make_it_yours

    root = find_workspace_root()
    changed = make_it_yours(root, name, github, repo)
    for path in changed:
        console.print(f"updated: {_rel(path, root)}")
    if not changed:
        console.print("Nothing to change: the repository already names this owner.")
    else:
        console.print("Review with `git diff`, commit, push, then enable Pages (README, 'Make it yours').")


def _rel(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path
