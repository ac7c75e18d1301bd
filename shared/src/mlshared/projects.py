"""Project discovery: each project registers a `ProjectSpec` under the entry point group
`mlshared.projects`, and the root `portfolio` CLI finds it there."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import typer

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.console import console
from mlshared.paths import OutputDirs

ENTRY_POINT_GROUP = "mlshared.projects"


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    title: str
    root: Path
    app: typer.Typer
    # The verbs the main job runs, in order; each gets `--profile <profile>` appended.
    pipeline: tuple[tuple[str, ...], ...] = field(default=(("train",), ("evaluate",)))
    # Generated README blocks beyond the results table (e.g. "bench"), rendered from the full-profile
    # reports folder; `portfolio readme sync` writes them and `readme check` fails when they are stale.
    readme_blocks: Callable[[Path], dict[str, str]] | None = None

    def outputs(self, profile: str) -> OutputDirs:
        return OutputDirs.for_project(self.name, self.root, profile)

    @property
    def published_report(self) -> Path:
        """The full-profile report committed in the checkout (what the README shows)."""
        return OutputDirs(self.root, "full").metrics

    @property
    def readme(self) -> Path:
        return self.root / "README.md"

    def invoke(self, args: list[str]) -> int:
        """Run one of the project's verbs in-process, as its CLI would; returns the exit code."""
        command = typer.main.get_command(self.app)
        try:
            # Outside standalone mode click *returns* a typer.Exit's code instead of raising it.
            result = command.main(args=args, prog_name=self.name, standalone_mode=False)
        except SystemExit as stop:
            return int(stop.code or 0)
        except typer.Exit as stop:
            return int(stop.exit_code)
        return result if isinstance(result, int) else 0

    def run_pipeline(self, profile: str, params: Path | None = None, overrides: Sequence[str] = ()) -> list[str]:
        """Run `pipeline` in order with `--profile` (and `--params` and each `--set` for the verbs that take
        them); stops at the first failure. Returns what failed, empty when everything ran."""
        group = typer.main.get_command(self.app)
        commands = getattr(group, "commands", {})
        for verb in self.pipeline:
            args = [*verb, "--profile", profile]
            options = {option.name for option in commands[verb[0]].params}
            if params is not None and "params" in options:
                args += ["--params", str(params)]
            if "overrides" in options:
                args += [arg for override in overrides for arg in ("--set", override)]
            console.print(f"[dim]$ {self.name} {' '.join(args)}[/]")
            code = self.invoke(args)
            if code != 0:
                return [f"{self.name} {' '.join(verb)} (exit {code})"]
        return []

    def add_run_command(self, default_params: Path) -> None:
        """Give the project CLI its `run` verb: the pipeline above, so the order is declared once."""
        steps = " -> ".join(verb[0] for verb in self.pipeline)

        def run(
            profile: ProfileOpt = "quick", params: ParamsOpt = default_params, overrides: OverridesOpt = None
        ) -> None:
            start = time.perf_counter()
            failures = self.run_pipeline(profile, params, overrides or ())
            if failures:
                console.print(f"[red]Failed:[/] {failures[0]}; see its error above.")
                raise typer.Exit(1)
            console.print(f"[bold green]{self.name} pipeline done[/] in {time.perf_counter() - start:.0f} s")

        self.app.command("run", help=f"The whole pipeline: {steps}.")(run)


def discover() -> dict[str, ProjectSpec]:
    """Installed projects by name, in a stable order."""
    found: dict[str, ProjectSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        spec = ep.load()
        if not isinstance(spec, ProjectSpec):
            raise TypeError(f"Entry point {ep.name} -> {ep.value} is not a ProjectSpec")
        found[spec.name] = spec
    return dict(sorted(found.items()))
