"""The root CLI's publishing commands (`init`, `site`, `new`, `spaces`), registered by `mlshared.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlshared.console import console, friendly_errors
from mlshared.paths import find_workspace_root


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("site")(site)
    app.command("new")(new)
    app.command("spaces")(spaces)


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


@friendly_errors
def site(
    out: Annotated[Path, typer.Option("--out", help="Where the built HTML goes.")] = Path("build/site"),
    screenshot: Annotated[
        Path | None, typer.Option("--screenshot", help="Also save a PNG of the home page (headless Chromium).")
    ] = None,
) -> None:
    """Build the portfolio site (MkDocs + Material): a card per project with its headline metric and
    screenshot, each README with its figures, and a model card. Strict: a broken link fails the build.

    Preview with `python -m http.server -d build/site`; `.github/workflows/pages.yml` publishes it.
    """
    from mlshared.publish import site as site_module

    root = find_workspace_root()
    out = out if out.is_absolute() else Path.cwd() / out
    with console.status("Building the site (mkdocs build --strict)"):
        built = site_module.build(root, out)
    console.print(f"[green]Site built[/] in {_rel(built, root)} ({len(list(built.rglob('*.html')))} pages).")
    if screenshot is not None:
        site_module.screenshot(built, screenshot)
        console.print(f"Screenshot: {_rel(screenshot.resolve(), root)}")


@friendly_errors
def new(
    name: Annotated[str, typer.Argument(help="Project name: lowercase letters, digits, hyphens.")],
    kind: Annotated[
        str, typer.Option("--kind", help="Starter: tabular, text (SST-2), vision (ants/bees) or rag (SQuAD retrieval).")
    ] = "tabular",
    title: Annotated[str | None, typer.Option(help="README title (default: the name).")] = None,
    description: Annotated[str | None, typer.Option(help="One sentence on what it does.")] = None,
    install: Annotated[bool, typer.Option(help="pip install -e it into this environment.")] = True,
    run: Annotated[bool, typer.Option(help="Run its full profile and sync its README table.")] = True,
) -> None:
    """Create projects/NAME from the copier template: layout, verbs, params.yaml profiles, DVC stages,
    tests, README with its CI badge, and .github/workflows/NAME.yml. Refuses a taken or invalid name
    before writing anything."""
    from mlshared.publish import scaffold

    root = find_workspace_root()
    created = scaffold.render(root, name, kind, title, description)
    for path in created:
        console.print(f"created: {_rel(path, root)}")
    console.print("updated: pyproject.toml (mypy_path, isort known-first-party)")
    if install:
        scaffold.install(root, name)
        console.print(f"installed: {name} (editable); `portfolio projects` lists it")
    if install and run:
        scaffold.first_run(root, name)
    console.print(
        f"Next: `pytest projects/{name}`, replace the starter in projects/{name}/src, commit and push "
        f"(its badge goes green when .github/workflows/{name}.yml runs on main)."
    )


@friendly_errors
def spaces(
    project: Annotated[str, typer.Argument(help="Project whose demo app to bundle (house-prices, sentiment-bert).")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write (default: build/spaces/PROJECT).")] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model to bundle (default: the full profile's).")
    ] = None,
) -> None:
    """Write a ready-to-push Hugging Face Space for a project's demo: README with the Space header, app.py,
    pinned requirements.txt, the code and the trained model (or how to fetch it)."""
    from mlshared.publish.spaces import build_space

    root = find_workspace_root()
    target = build_space(root, project, out or root / "build" / "spaces" / project, model)
    console.print(f"[green]Space written[/] to {_rel(target.resolve(), root)}")
    readme = (target / "README.md").read_text(encoding="utf-8")
    if "## Model files to add" in readme:
        console.print("[yellow]The model is not bundled[/]: its README says how to add it before pushing.")
    console.print(f"Push it: create a Space named {project} on huggingface.co, then `git push` this folder to it.")
