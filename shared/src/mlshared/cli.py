"""The root `portfolio` command: list projects, run any verb of any project, run the main job,
manage datasets and keep README results tables in sync with the reports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlshared import datasets, reports
from mlshared.console import UserError, console, friendly_errors
from mlshared.paths import find_workspace_root
from mlshared.projects import ProjectSpec, discover
from mlshared.publish.cli import register as register_publishing

app = typer.Typer(
    help="ML portfolio monorepo: one command for every project.\n\n"
    "Examples: `portfolio projects`, `portfolio pipeline`, `portfolio run house-prices predict --help`, "
    "`portfolio data list`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
data_app = typer.Typer(help="Datasets: list, check, fetch and verify them.", no_args_is_help=True)
readme_app = typer.Typer(help="README results tables generated from reports/metrics.json.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(readme_app, name="readme")
register_publishing(app)  # init, site, new, spaces

ProfileOption = Annotated[
    str, typer.Option("--profile", "-p", help="`quick` (minutes, writes artifacts/quick/) or `full` (README numbers).")
]


def _project(name: str) -> ProjectSpec:
    projects = discover()
    if name not in projects:
        raise UserError(f"Unknown project {name!r}.", hint=f"Installed projects: {', '.join(projects) or 'none'}.")
    return projects[name]


@app.command("projects")
def list_projects() -> None:
    """List installed projects, their location and their published primary metric."""
    table = Table("project", "title", "path", "primary metric (full profile)")
    root = find_workspace_root()
    for spec in discover().values():
        metrics = spec.published_report
        value = "not run yet"
        if metrics.is_file():
            p = reports.read_report(metrics).primary
            value = f"{p.name} = {reports.fmt(p.value)}"
        table.add_row(spec.name, spec.title, str(_rel(spec.root, root)), value)
    console.print(table)


@app.command(
    "run",
    # Everything after the project name (including --help) belongs to the project's verb.
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)
@friendly_errors
def run_verb(ctx: typer.Context, project: Annotated[str, typer.Argument(help="Project name.")]) -> None:
    """Run any verb of a project, e.g. `portfolio run house-prices train --profile quick`."""
    raise typer.Exit(_project(project).invoke(list(ctx.args)))


@app.command("pipeline")
@friendly_errors
def pipeline(
    profile: ProfileOption = "quick",
    project: Annotated[list[str] | None, typer.Option("--project", help="Only these projects (repeatable).")] = None,
) -> None:
    """The main job: run every project's pipeline, then print one summary table."""
    projects = discover()
    selected = [_project(name) for name in project] if project else list(projects.values())
    failures: list[str] = []
    durations: dict[str, float] = {}
    for spec in selected:
        console.rule(f"[bold]{spec.name}[/] ({profile} profile)")
        start = time.perf_counter()
        failures += spec.run_pipeline(profile)
        durations[spec.name] = time.perf_counter() - start
    _print_summary(selected, profile, durations)
    if failures:
        raise UserError("Some steps failed: " + "; ".join(failures), hint="Scroll up for each step's error.")


def _print_summary(selected: list[ProjectSpec], profile: str, durations: dict[str, float] | None = None) -> None:
    found = {s.name: _maybe_report(s.outputs(profile).metrics) for s in selected}
    summary = reports.summary_table(found)
    table = Table(*summary.columns, *(["time"] if durations else []), title=f"Summary ({profile} profile)")
    for row in summary.rows:
        extra = [f"{durations[row[0]]:.0f} s"] if durations and row[0] in durations else []
        table.add_row(*row, *extra)
    console.print(table)


def _maybe_report(path: Path) -> reports.MetricsReport | None:
    return reports.read_report(path) if path.is_file() else None


@app.command("summary")
def summary(profile: ProfileOption = "full") -> None:
    """Show every project's primary metric against its published baseline."""
    _print_summary(list(discover().values()), profile)


@data_app.command("list")
def data_list() -> None:
    """Every registered dataset, its licence and where its files were found."""
    console.print(datasets.store.describe_settings())
    table = Table("dataset", "files", "status", "licence", "source")
    for name, spec in datasets.registry().items():
        statuses = datasets.status(name)
        state = _status_word(statuses)
        table.add_row(name, str(len(spec.files)), state, spec.licence, spec.homepage)
    console.print(table)


def _status_word(statuses: list[datasets.FileStatus]) -> str:
    if any(s.ok is False for s in statuses):
        return "[red]checksum mismatch[/]"
    locations = {s.location for s in statuses}
    if "missing" in locations:
        missing = sum(s.location == "missing" for s in statuses)
        return f"[yellow]{missing} missing[/]"
    return "[green]verified[/] (" + ", ".join(sorted(locations)) + ")"


@data_app.command("info")
@friendly_errors
def data_info(name: Annotated[str, typer.Argument(help="Dataset name, see `portfolio data list`.")]) -> None:
    """Source, licence, citation and per-file status of one dataset."""
    spec = datasets.get_spec(name)
    console.print(f"[bold]{spec.title}[/] ({spec.name})\n{spec.description}")
    console.print(f"Source: {spec.homepage}\nLicence: {spec.licence}\nCitation: {spec.citation}")
    statuses = datasets.status(name)
    console.print(f"Status: {_status_word(statuses)}")
    for s in statuses[:20]:
        console.print(f"  {s.relpath}: {s.location}{'' if s.ok is None else (' ok' if s.ok else ' MISMATCH')}")
    if len(statuses) > 20:
        console.print(f"  ... and {len(statuses) - 20} more files")


@data_app.command("fetch")
@friendly_errors
def data_fetch(
    name: Annotated[str, typer.Argument(help="Dataset name, see `portfolio data list`.")],
    force: Annotated[bool, typer.Option(help="Download again even if a verified copy exists.")] = False,
) -> None:
    """Make a dataset available: verify the cache or mirror copy, or download and verify it."""
    where = datasets.fetch(name, force=force)
    console.print(f"[green]{name}[/]: {len(datasets.get_spec(name).files)} files verified in {where}")


@data_app.command("verify")
@friendly_errors
def data_verify(
    name: Annotated[str | None, typer.Argument(help="Dataset name; all datasets when omitted.")] = None,
) -> None:
    """Check every available file against its registered sha256; exit 1 on any mismatch."""
    names = [name] if name else list(datasets.registry())
    bad = 0
    for dataset in names:
        statuses = datasets.status(dataset)
        console.print(f"{dataset}: {_status_word(statuses)}")
        for s in statuses:
            if s.ok is False:
                bad += 1
                expected = datasets.get_spec(dataset).checksums[s.relpath]
                console.print(f"  [red]{s.path}[/]: expected {expected}, got {s.actual_sha256}")
    if bad:
        raise typer.Exit(1)


def _readme_bodies() -> list[tuple[Path, str, str]]:
    """(README, block name, generated body) for every project report, extra block and the root summary."""
    projects = discover()
    bodies: list[tuple[Path, str, str]] = []
    found: dict[str, reports.MetricsReport | None] = {}
    for spec in projects.values():
        report = _maybe_report(spec.published_report)
        found[spec.name] = report
        if report is not None:
            bodies.append((spec.readme, "results", reports.render_results(report)))
        if spec.readme_blocks is not None:
            blocks = spec.readme_blocks(spec.published_report.parent)
            bodies += [(spec.readme, name, body) for name, body in blocks.items()]
    root_readme = find_workspace_root() / "README.md"
    if root_readme.is_file() and projects:
        bodies.append((root_readme, "summary", reports.markdown_table(reports.summary_table(found))))
    return bodies


@readme_app.command("sync")
def readme_sync() -> None:
    """Rewrite the generated tables of every README (results, benchmarks, summary) from the full-profile reports."""
    bodies = _readme_bodies()
    changed = {readme for readme, name, body in bodies if reports.sync_block(readme, name, body)}
    for readme in sorted({r for r, _, _ in bodies}):
        console.print(f"{'updated' if readme in changed else 'unchanged'}: {_rel(readme, find_workspace_root())}")


@readme_app.command("check")
def readme_check() -> None:
    """Exit 1 when any README's generated block differs from its report (run `readme sync`)."""
    stale = sorted({r for r, name, body in _readme_bodies() if not reports.block_is_current(r, name, body)})
    for readme in stale:
        console.print(f"[red]stale[/]: {readme} (run `portfolio readme sync`)")
    if stale:
        raise typer.Exit(1)
    console.print("[green]All README results tables match their reports.[/]")


def _rel(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root)
    except ValueError:
        return path


def main() -> None:
    app()
